//! The backends and tool switches operators stored through the admin API, and how they combine with the
//! deployment's backends document: the document (file or environment) is the bootstrap default; a stored
//! backend with the same id replaces the document's entry in place, other stored backends are added
//! after the document's in the order they were created, and stored tool switches disable tools
//! gateway-wide. Every combination is validated exactly like the document itself (`BackendSet::parse`:
//! the SSRF rules, names, limits).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::backend::{BackendSet, BackendSetError, Defaults};

/// What the admin API stored (the `config#document` item).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overrides {
    #[serde(default)]
    pub backends: Vec<StoredBackend>,
    /// Tool switches by exposed name; only disabled tools need an entry.
    #[serde(default)]
    pub tools: BTreeMap<String, ToolSwitch>,
}

/// One stored backend: an entry of the backends document, as the operator wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredBackend {
    pub entry: Map<String, Value>,
    /// The document version that last changed it: grows with every change, so an old version can never
    /// come back (no ABA after a delete and re-create).
    pub version: u64,
    pub updated_at: u64,
    pub updated_by: String,
}

impl StoredBackend {
    pub fn id(&self) -> &str {
        self.entry.get("id").and_then(Value::as_str).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolSwitch {
    pub enabled: bool,
    pub updated_at: u64,
    pub updated_by: String,
}

impl Overrides {
    /// The stored text; empty when nothing was ever stored.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    pub fn backend(&self, id: &str) -> Option<&StoredBackend> {
        self.backends.iter().find(|b| b.id() == id)
    }

    /// Exposed names of the tools disabled gateway-wide.
    pub fn disabled_tools(&self) -> BTreeSet<String> {
        self.tools.iter().filter(|(_, s)| !s.enabled).map(|(name, _)| name.clone()).collect()
    }
}

/// Where a backend's entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The deployment's document only.
    Document,
    /// The document, replaced by a stored entry.
    Override,
    /// Stored only.
    Stored,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Document => "document",
            Self::Override => "document+stored",
            Self::Stored => "stored",
        }
    }
}

/// The document's entries (objects only: the document was validated at cold start).
pub fn document_entries(document: &Value) -> Vec<Map<String, Value>> {
    let list = document.get("backends").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    list.iter().filter_map(|e| e.as_object().cloned()).collect()
}

fn id_of(entry: &Map<String, Value>) -> &str {
    entry.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// Every entry with its source: the document's in order (replaced where a stored entry has its id),
/// then the stored-only ones in the order they were added.
pub fn merged(document: &Value, overrides: &Overrides) -> Vec<(Map<String, Value>, Source)> {
    let mut out: Vec<(Map<String, Value>, Source)> = document_entries(document)
        .into_iter()
        .map(|entry| match overrides.backend(id_of(&entry)) {
            Some(stored) => (stored.entry.clone(), Source::Override),
            None => (entry, Source::Document),
        })
        .collect();
    for stored in &overrides.backends {
        if !out.iter().any(|(e, _)| id_of(e) == stored.id()) {
            out.push((stored.entry.clone(), Source::Stored));
        }
    }
    out
}

fn separator(document: &Value) -> Value {
    document.get("separator").cloned().unwrap_or_else(|| json!("_"))
}

fn parse(document: &Value, entries: Vec<Value>, defaults: &Defaults) -> Result<BackendSet, BackendSetError> {
    let text = json!({ "separator": separator(document), "backends": entries }).to_string();
    BackendSet::parse(&text, defaults)
}

/// The live backend set, and the stored backends left out of it with the reason. A stored entry that
/// no longer fits (e.g. a redeployed document now uses its prefix) is left out and reported rather than
/// failing every stored change. An error only if the document itself no longer validates.
pub fn build(
    document: &Value,
    overrides: &Overrides,
    defaults: &Defaults,
) -> Result<(BackendSet, Vec<(String, String)>), BackendSetError> {
    let mut accepted = Overrides::default();
    let mut problems = Vec::new();
    for stored in &overrides.backends {
        accepted.backends.push(stored.clone());
        let entries = merged(document, &accepted).into_iter().map(|(e, _)| Value::Object(e)).collect();
        if let Err(error) = parse(document, entries, defaults) {
            tracing::error!(backend = stored.id(), %error, "stored backend left out: it does not fit the configuration");
            problems.push((stored.id().to_owned(), error.to_string()));
            accepted.backends.pop();
        }
    }
    let entries = merged(document, &accepted).into_iter().map(|(e, _)| Value::Object(e)).collect();
    Ok((parse(document, entries, defaults)?, problems))
}

/// Checks the entry `id` of `overrides` (already changed) exactly like the configured document: alone
/// first, so the error names the field within the entry (`url`, `auth.tokenUrl`), then within the whole
/// merged set (unique ids and prefixes).
pub fn check(document: &Value, overrides: &Overrides, id: &str, defaults: &Defaults) -> Result<(), BackendSetError> {
    let all = merged(document, overrides);
    let Some(position) = all.iter().position(|(e, _)| id_of(e) == id) else { return Ok(()) };
    let alone = vec![Value::Object(all[position].0.clone())];
    parse(document, alone, defaults).map_err(|e| relative(e, 0, None))?;
    let ids: Vec<String> = all.iter().map(|(e, _)| id_of(e).to_owned()).collect();
    let entries = all.into_iter().map(|(e, _)| Value::Object(e)).collect();
    parse(document, entries, defaults).map_err(|e| {
        let other = index_of(&e.field).and_then(|i| ids.get(i)).filter(|other| *other != id).cloned();
        relative(e, if other.is_some() { usize::MAX } else { position }, other)
    })?;
    Ok(())
}

fn index_of(field: &str) -> Option<usize> {
    field.strip_prefix("backends[")?.split(']').next()?.parse().ok()
}

/// `backends[i].url` → `url`; a JSON shape error → the field serde names, without the position in a
/// document the operator never wrote.
fn relative(error: BackendSetError, index: usize, other: Option<String>) -> BackendSetError {
    let BackendSetError { field, mut message } = error;
    let prefix = format!("backends[{index}].");
    let field = if let Some(rest) = field.strip_prefix(&prefix) {
        rest.to_owned()
    } else if field == "backends document" {
        if let Some(cut) = message.find(" at line ") {
            message.truncate(cut);
        }
        message.split('`').nth(1).filter(|_| message.contains("field")).unwrap_or("body").to_owned()
    } else {
        field.split_once("].").map_or(field.clone(), |(_, rest)| rest.to_owned())
    };
    if let Some(other) = other {
        message = format!("{message} (backend {other:?})");
    }
    BackendSetError { field, message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::NetworkPolicy;

    fn defaults() -> Defaults {
        Defaults { network: NetworkPolicy { allow_private: false, allow_loopback: true }, ..Defaults::default() }
    }

    fn document() -> Value {
        json!({"separator": "_", "backends": [
            {"id": "a", "url": "http://127.0.0.1:1/mcp"},
            {"id": "b", "url": "http://127.0.0.1:2/mcp"}
        ]})
    }

    fn stored(entry: Value, version: u64) -> StoredBackend {
        StoredBackend { entry: entry.as_object().unwrap().clone(), version, updated_at: 0, updated_by: "k".into() }
    }

    #[test]
    fn stored_entries_replace_in_place_and_add_after() {
        let overrides = Overrides {
            backends: vec![
                stored(json!({"id": "c", "url": "http://127.0.0.1:3/mcp"}), 1),
                stored(json!({"id": "a", "url": "http://127.0.0.1:9/mcp", "enabled": false}), 2),
            ],
            ..Overrides::default()
        };
        let sources: Vec<(String, Source)> =
            merged(&document(), &overrides).into_iter().map(|(e, s)| (id_of(&e).to_owned(), s)).collect();
        assert_eq!(
            sources,
            [("a".into(), Source::Override), ("b".into(), Source::Document), ("c".into(), Source::Stored)]
        );
        let (set, problems) = build(&document(), &overrides, &defaults()).unwrap();
        assert!(problems.is_empty());
        let ids: Vec<&str> = set.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
    }

    #[test]
    fn a_stored_entry_that_no_longer_fits_is_left_out_and_reported() {
        let overrides = Overrides {
            backends: vec![stored(json!({"id": "c", "url": "http://127.0.0.1:3/mcp", "prefix": "a"}), 1)],
            ..Overrides::default()
        };
        let (set, problems) = build(&document(), &overrides, &defaults()).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(problems[0].0, "c");
    }

    #[test]
    fn errors_name_the_field_within_the_entry() {
        let check_one = |entry: Value| {
            let overrides = Overrides { backends: vec![stored(entry, 1)], ..Overrides::default() };
            check(&document(), &overrides, "c", &defaults()).unwrap_err()
        };
        let e = check_one(json!({"id": "c", "url": "http://169.254.169.254/latest"}));
        assert_eq!(e.field, "url");
        assert!(e.message.contains("never allowed"), "{}", e.message);
        let e = check_one(json!({"id": "c", "url": "http://127.0.0.1:3/mcp", "timeoutMs": 5}));
        assert_eq!(e.field, "timeoutMs");
        let e = check_one(json!({"id": "c", "url": "http://127.0.0.1:3/mcp", "colour": "red"}));
        assert_eq!(e.field, "colour");
        assert!(!e.message.contains("line"), "{}", e.message);
        let e = check_one(json!({"id": "c", "url": "http://127.0.0.1:3/mcp", "prefix": "b"}));
        assert_eq!(e.field, "prefix");
        assert!(e.message.contains("another enabled backend"), "{}", e.message);
    }
}
