//! Backend configuration: the JSON document an operator writes, validated into live [`Backend`]s. The
//! fields every kind shares are read here; what depends on `type` is read by `kind`.

use std::{collections::HashSet, sync::Arc, time::Duration};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;

use super::{
    breaker::{BreakerSettings, BreakerSpec},
    credentials::{Credential, CredentialSpec, SecretScope},
    guard::NetworkPolicy,
    kind::{BackendKind, KindName, KindSpec},
};

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
    #[serde(rename = "type", default)]
    kind: KindName,
    url: Option<String>,
    prefix: Option<String>,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    #[serde(default = "enabled")]
    enabled: bool,
    transport: Option<Transport>,
    #[serde(default = "default_connect_timeout_ms")]
    connect_timeout_ms: u64,
    max_response_bytes: Option<u64>,
    auth: Option<CredentialSpec>,
    #[serde(default)]
    circuit_breaker: BreakerSpec,
    // `"type": "lambda"`
    function_name: Option<String>,
    qualifier: Option<String>,
    tools: Option<serde_json::Value>,
    // `"type": "openapi"`
    spec: Option<serde_json::Value>,
    base_url: Option<String>,
    include: Option<serde_json::Value>,
    #[serde(default)]
    forward_unlisted_tools: bool,
}

/// How the gateway speaks to a backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Streamable HTTP (2025-03-26 and later): one POST per message.
    #[default]
    StreamableHttp,
    /// The deprecated HTTP+SSE transport (2024-11-05): a GET stream announces where to POST.
    Sse,
    /// The spec's backward-compatibility rule: POST `initialize`; on 400/404/405 fall back to SSE.
    Auto,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StreamableHttp => "streamable-http",
            Self::Sse => "sse",
            Self::Auto => "auto",
        }
    }
}

/// Gateway-wide settings that apply to every backend unless it overrides them.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// Which addresses backend (and token) URLs may point at.
    pub network: NetworkPolicy,
    /// `GATEWAY_MAX_BACKEND_RESPONSE_BYTES`.
    pub max_response_bytes: usize,
    /// `GATEWAY_BREAKER_*`.
    pub breaker: BreakerSettings,
    /// Which secrets a backend's `auth` may name (`GATEWAY_BACKEND_SECRETS_PREFIX`).
    pub secrets: SecretScope,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            network: NetworkPolicy::default(),
            max_response_bytes: 8 << 20,
            breaker: BreakerSettings::default(),
            secrets: SecretScope::default(),
        }
    }
}

fn default_separator() -> String {
    "_".into()
}
fn default_timeout_ms() -> u64 {
    30_000
}
fn default_connect_timeout_ms() -> u64 {
    5_000
}
fn enabled() -> bool {
    true
}

/// One backend, as the gateway talks to it.
#[derive(PartialEq)]
pub struct Backend {
    /// Stable identifier used in logs, `/health`, cursors and sessions.
    pub id: String,
    /// An MCP server (its URL and transport), a Lambda function or an OpenAPI-described HTTP API.
    pub kind: BackendKind,
    /// Exposed names are `<prefix><separator><name>`; an empty prefix exposes names unchanged.
    pub prefix: String,
    /// Bound on every exchange with this backend (connect, send, and reading the reply).
    pub timeout: Duration,
    /// Bound on establishing a connection (TCP and TLS), within `timeout`.
    pub connect_timeout: Duration,
    /// Largest reply read from this backend; larger ones are cut off and count as a failure.
    pub max_response_bytes: usize,
    /// The gateway's own credential for this backend, if it needs one.
    pub credential: Option<Credential>,
    pub breaker: BreakerSettings,
    /// Extra headers sent on every request (marked sensitive: they often carry the backend's credential).
    pub headers: HeaderMap,
    /// `forwardUnlistedTools`: a call to a name under this backend's prefix that no listing holds goes to
    /// it anyway (some servers accept tools they do not list, such as test hooks). Off by default: then
    /// only listed names are routed.
    pub forward_unlisted_tools: bool,
}

impl std::fmt::Debug for Backend {
    // Headers may hold credentials: only their names are printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("id", &self.id)
            .field("prefix", &self.prefix)
            .field("kind", &self.kind.name())
            .field("timeout", &self.timeout)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("credential", &self.credential.as_ref().map(Credential::secret_id))
            .finish_non_exhaustive()
    }
}

/// The enabled backends in configuration order, with the naming rule they share.
#[derive(Debug, Clone)]
pub struct BackendSet {
    pub separator: String,
    /// Which addresses the backends' connections may reach (checked again at every connect).
    pub network: NetworkPolicy,
    backends: Vec<Arc<Backend>>,
}

impl BackendSet {
    /// Parses with the default (strict) settings: for tests.
    #[cfg(test)]
    pub fn from_json(text: &str) -> Result<Self, BackendSetError> {
        Self::parse(text, &Defaults::default())
    }

    /// Parses and validates the backends document.
    pub fn parse(text: &str, defaults: &Defaults) -> Result<Self, BackendSetError> {
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
            let prefix = b.prefix.unwrap_or_else(|| b.id.clone());
            if prefix.len() > 64 || !prefix.chars().all(name_char) {
                return Err(invalid(field("prefix"), format!("{prefix:?} must be 0-64 characters of [A-Za-z0-9_.-]")));
            }
            if !(100..=900_000).contains(&b.timeout_ms) {
                return Err(invalid(field("timeoutMs"), format!("{} must be from 100 to 900000", b.timeout_ms)));
            }
            let headers = headers(&b.headers).map_err(|m| invalid(field("headers"), m))?;
            if !(100..=60_000).contains(&b.connect_timeout_ms) {
                let message = format!("{} must be from 100 to 60000", b.connect_timeout_ms);
                return Err(invalid(field("connectTimeoutMs"), message));
            }
            let max_response_bytes = match b.max_response_bytes {
                None => defaults.max_response_bytes,
                Some(n) if (1024..=64 << 20).contains(&n) => n as usize,
                Some(n) => {
                    return Err(invalid(field("maxResponseBytes"), format!("{n} must be from 1024 to 67108864")))
                }
            };
            let kind = KindSpec {
                kind: b.kind,
                url: b.url,
                transport: b.transport,
                function_name: b.function_name,
                qualifier: b.qualifier,
                tools: b.tools,
                spec: b.spec,
                base_url: b.base_url,
                include: b.include,
                http_options: !b.headers.is_empty() || b.auth.is_some(),
            };
            let kind =
                BackendKind::build(kind, defaults, max_response_bytes).map_err(|(f, m)| invalid(field(&f), m))?;
            let credential = match b.auth {
                None => None,
                Some(spec) => {
                    let credential = spec
                        .build(&defaults.network, &defaults.secrets)
                        .map_err(|(f, m)| invalid(field(&format!("auth.{f}")), m))?;
                    if let Credential::Static { header, .. } = &credential {
                        if headers.contains_key(header) {
                            return Err(invalid(field("headers"), format!("{header} is also set by \"auth\"")));
                        }
                    }
                    Some(credential)
                }
            };
            let breaker = defaults
                .breaker
                .with(&b.circuit_breaker)
                .map_err(|(f, m)| invalid(field(&format!("circuitBreaker.{f}")), m))?;
            if !b.enabled {
                continue;
            }
            if !prefixes.insert(prefix.clone()) {
                return Err(invalid(field("prefix"), format!("{prefix:?} is used by another enabled backend")));
            }
            let timeout = Duration::from_millis(b.timeout_ms);
            backends.push(Arc::new(Backend {
                id: b.id,
                kind,
                prefix,
                timeout,
                // A connect timeout longer than the whole exchange would never fire.
                connect_timeout: Duration::from_millis(b.connect_timeout_ms).min(timeout),
                max_response_bytes,
                credential,
                breaker,
                headers,
                forward_unlisted_tools: b.forward_unlisted_tools,
            }));
        }
        Ok(Self { separator: spec.separator, network: defaults.network, backends })
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
mod tests;
