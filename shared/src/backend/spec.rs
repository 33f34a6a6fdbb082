//! Backend configuration: the JSON document an operator writes, validated into live [`Backend`]s.

use std::{collections::HashSet, sync::Arc, time::Duration};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

/// A configuration error, naming the JSON path of the field and its value.
#[derive(Debug, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BackendSetError {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> BackendSetError {
    BackendSetError { field: field.into(), message: message.into() }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileSpec {
    #[serde(default = "default_separator")]
    separator: String,
    backends: Vec<BackendSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BackendSpec {
    id: String,
    url: String,
    prefix: Option<String>,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default = "enabled")]
    enabled: bool,
}

fn default_separator() -> String {
    "_".into()
}
fn default_timeout_ms() -> u64 {
    30_000
}
fn enabled() -> bool {
    true
}

/// One backend MCP server, as the gateway talks to it.
pub struct Backend {
    /// Stable identifier used in logs, `/health`, cursors and sessions.
    pub id: String,
    /// The Streamable HTTP endpoint.
    pub url: reqwest::Url,
    /// Exposed names are `<prefix><separator><name>`; an empty prefix exposes names unchanged.
    pub prefix: String,
    /// Bound on every exchange with this backend (connect, send, and reading the reply).
    pub timeout: Duration,
    /// Extra headers sent on every request (marked sensitive: they often carry the backend's credential).
    pub headers: HeaderMap,
}

impl std::fmt::Debug for Backend {
    // Headers may hold credentials: only their names are printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("id", &self.id)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The enabled backends in configuration order, with the naming rule they share.
#[derive(Debug, Clone)]
pub struct BackendSet {
    pub separator: String,
    backends: Vec<Arc<Backend>>,
}

impl BackendSet {
    /// Parses and validates the backends document.
    pub fn from_json(text: &str) -> Result<Self, BackendSetError> {
        let spec: FileSpec = serde_json::from_str(text).map_err(|e| invalid("backends document", e.to_string()))?;
        if spec.separator.is_empty() || spec.separator.len() > 4 || !spec.separator.chars().all(name_char) {
            return Err(invalid("separator", format!("{:?} must be 1-4 characters of [A-Za-z0-9_.-]", spec.separator)));
        }
        let (mut ids, mut prefixes) = (HashSet::new(), HashSet::new());
        let mut backends = Vec::new();
        for (i, b) in spec.backends.into_iter().enumerate() {
            let field = |name: &str| format!("backends[{i}].{name}");
            if b.id.is_empty()
                || b.id.len() > 64
                || !b.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(invalid(field("id"), format!("{:?} must be 1-64 characters of [A-Za-z0-9_-]", b.id)));
            }
            if !ids.insert(b.id.clone()) {
                return Err(invalid(field("id"), format!("{:?} is used by another backend", b.id)));
            }
            let url = reqwest::Url::parse(&b.url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| invalid(field("url"), format!("{:?} is not an http(s) URL", b.url)))?;
            let prefix = b.prefix.unwrap_or_else(|| b.id.clone());
            if prefix.len() > 64 || !prefix.chars().all(name_char) {
                return Err(invalid(field("prefix"), format!("{prefix:?} must be 0-64 characters of [A-Za-z0-9_.-]")));
            }
            if !(100..=900_000).contains(&b.timeout_ms) {
                return Err(invalid(field("timeoutMs"), format!("{} must be from 100 to 900000", b.timeout_ms)));
            }
            let headers = headers(&b.headers).map_err(|m| invalid(field("headers"), m))?;
            if !b.enabled {
                continue;
            }
            if !prefixes.insert(prefix.clone()) {
                return Err(invalid(field("prefix"), format!("{prefix:?} is used by another enabled backend")));
            }
            let timeout = Duration::from_millis(b.timeout_ms);
            backends.push(Arc::new(Backend { id: b.id, url, prefix, timeout, headers }));
        }
        Ok(Self { separator: spec.separator, backends })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Backend>> {
        self.backends.iter()
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Backend>> {
        self.backends.iter().find(|b| b.id == id)
    }

    pub fn len(&self) -> usize {
        self.backends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.backends.is_empty()
    }
}

/// Characters allowed in exposed tool names by MCP 2025-11-25.
pub(crate) fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn headers(spec: &std::collections::BTreeMap<String, String>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in spec {
        let name = HeaderName::try_from(name.as_str()).map_err(|_| format!("{name:?} is not a valid header name"))?;
        // The value is deliberately not echoed: it is usually a credential.
        let mut value = HeaderValue::try_from(value.as_str())
            .map_err(|_| format!("the value of {name} is not a valid header value"))?;
        value.set_sensitive(true);
        map.insert(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_defaults_to_id_and_disabled_backends_are_dropped() {
        let set = BackendSet::from_json(
            r#"{"backends":[{"id":"a","url":"http://127.0.0.1:1/mcp"},{"id":"b","url":"http://x/mcp","enabled":false}]}"#,
        )
        .unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.get("a").unwrap().prefix, "a");
        assert_eq!(set.separator, "_");
    }

    #[test]
    fn duplicate_prefixes_are_rejected() {
        let err = BackendSet::from_json(
            r#"{"backends":[{"id":"a","url":"http://h/mcp","prefix":"p"},{"id":"b","url":"http://h/mcp","prefix":"p"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.field, "backends[1].prefix");
    }

    #[test]
    fn header_values_are_not_echoed_in_errors_or_debug() {
        let err =
            BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp","headers":{"x-key":"sec\nret"}}]}"#)
                .unwrap_err();
        assert!(!err.to_string().contains("sec"), "{err}");
        let set =
            BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp","headers":{"x-key":"hunter2"}}]}"#)
                .unwrap();
        assert!(!format!("{set:?}").contains("hunter2"));
    }

    #[test]
    fn unknown_fields_and_bad_timeouts_name_the_field() {
        let err = BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp","timeoutMs":5}]}"#).unwrap_err();
        assert_eq!(err.field, "backends[0].timeoutMs");
        let err = BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp","tiemout":5}]}"#).unwrap_err();
        assert!(err.message.contains("tiemout"), "{err}");
    }
}
