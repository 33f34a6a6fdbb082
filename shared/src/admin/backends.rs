//! `/admin/api/backends`: the backends of the deployment's document merged with those stored here. A
//! backend is shown as an entry of the backends document (header values redacted; a credential is its
//! secret's name) plus `version` (0 for a document-only backend), `source`, `active` (in this instance's
//! live set) and who changed it last.

use std::collections::BTreeSet;

use ::http::{Response, StatusCode};
use lambda_http::Body;
use serde_json::{json, Map, Value};

use super::{audit, reply, Admin, AdminError};
use crate::{
    auth::api_key::admin::rfc3339,
    backend::BackendSet,
    config::stored::{self, Overrides, Source, StoredBackend},
    store::now_secs,
};

/// What a redacted header value reads as; sent back unchanged in a PUT, it keeps the stored value.
pub const REDACTED: &str = "[redacted]";
/// Members of a shown backend that are not part of its entry.
const SHOWN_ONLY: [&str; 6] = ["version", "source", "active", "updatedAt", "updatedBy", "problem"];

fn id_of(entry: &Map<String, Value>) -> &str {
    entry.get("id").and_then(Value::as_str).unwrap_or_default()
}

fn view(admin: &Admin<'_>, entry: &Map<String, Value>, source: Source, overrides: &Overrides) -> Value {
    let id = id_of(entry);
    let mut out = entry.clone();
    if let Some(Value::Object(headers)) = out.get_mut("headers") {
        headers.values_mut().for_each(|v| *v = json!(REDACTED));
    }
    let stored = overrides.backend(id);
    out.insert("enabled".into(), entry.get("enabled").cloned().unwrap_or(json!(true)));
    out.insert("version".into(), json!(stored.map_or(0, |s| s.version)));
    out.insert("source".into(), json!(source.as_str()));
    out.insert("active".into(), json!(admin.app.backends().get(id).is_some()));
    if let Some(stored) = stored {
        out.insert("updatedAt".into(), json!(rfc3339(stored.updated_at)));
        out.insert("updatedBy".into(), json!(stored.updated_by));
    }
    if let Some((_, problem)) = admin.app.stored.problems().into_iter().find(|(p, _)| p == id) {
        out.insert("problem".into(), json!(problem));
    }
    Value::Object(out)
}

async fn load(admin: &Admin<'_>) -> Result<Overrides, AdminError> {
    let stored = admin.app.stored.store().load().await?;
    Overrides::parse(&stored.text)
        .map_err(|e| AdminError::Unavailable(format!("the stored configuration is corrupt: {e}")))
}

fn find(admin: &Admin<'_>, overrides: &Overrides, id: &str) -> Option<(Map<String, Value>, Source)> {
    stored::merged(admin.app.stored.document(), overrides).into_iter().find(|(e, _)| id_of(e) == id)
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound(format!("no backend {id:?}"))
}

pub(super) async fn list(admin: &Admin<'_>) -> Result<Response<Body>, AdminError> {
    let overrides = load(admin).await?;
    let all: Vec<Value> = stored::merged(admin.app.stored.document(), &overrides)
        .iter()
        .map(|(entry, source)| view(admin, entry, *source, &overrides))
        .collect();
    reply(StatusCode::OK, &json!({ "backends": all }))
}

pub(super) async fn get(admin: &Admin<'_>, id: &str) -> Result<Response<Body>, AdminError> {
    let overrides = load(admin).await?;
    let (entry, source) = find(admin, &overrides, id).ok_or_else(|| not_found(id))?;
    reply(StatusCode::OK, &view(admin, &entry, source, &overrides))
}

/// Checks the changed entry `id` exactly like the configured document.
fn check(admin: &Admin<'_>, overrides: &Overrides, id: &str) -> Result<(), AdminError> {
    stored::check(admin.app.stored.document(), overrides, id, admin.app.stored.defaults()).map_err(AdminError::from)
}

fn entry_id(entry: &Map<String, Value>) -> Result<String, AdminError> {
    match entry.get("id") {
        Some(Value::String(id)) => Ok(id.clone()),
        Some(_) => Err(AdminError::invalid("id", "must be a string")),
        None => Err(AdminError::invalid("id", "is required")),
    }
}

fn stored_entry(admin: &Admin<'_>, entry: Map<String, Value>, version: u64) -> StoredBackend {
    StoredBackend { entry, version, updated_at: now_secs(), updated_by: admin.principal.id.clone() }
}

/// The names of the fields an entry sets, for the audit trail (values may be credentials).
fn fields(entry: &Map<String, Value>) -> Value {
    json!(entry.keys().collect::<BTreeSet<_>>())
}

pub(super) async fn create(admin: &Admin<'_>) -> Result<Response<Body>, AdminError> {
    let entry = admin.body()?;
    if let Some(shown) = SHOWN_ONLY.iter().find(|f| entry.contains_key(**f)) {
        return Err(AdminError::invalid(*shown, "is not part of a backend entry"));
    }
    let id = entry_id(&entry)?;
    let overrides = admin
        .change(|overrides, version| {
            if find(admin, overrides, &id).is_some() {
                return Err(AdminError::conflict(format!("backend {id:?} already exists; change it with PUT"), None));
            }
            overrides.backends.push(stored_entry(admin, entry.clone(), version));
            check(admin, overrides, &id)?;
            Ok(overrides.clone())
        })
        .await?;
    audit::record(admin, "backend.create", &id, json!({ "fields": fields(&entry) })).await;
    let (entry, source) = find(admin, &overrides, &id).ok_or_else(|| not_found(&id))?;
    reply(StatusCode::CREATED, &view(admin, &entry, source, &overrides))
}

pub(super) async fn update(admin: &Admin<'_>, id: &str) -> Result<Response<Body>, AdminError> {
    let mut entry = admin.body()?;
    let expected = match entry.remove("version") {
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
        Some(_) => return Err(AdminError::invalid("version", "must be the whole number shown by GET")),
        None => return Err(AdminError::invalid("version", "is required: the version this change replaces (see GET)")),
    };
    for shown in SHOWN_ONLY {
        entry.remove(shown);
    }
    match entry.get("id") {
        None => {
            entry.insert("id".into(), json!(id));
        }
        Some(Value::String(given)) if given == id => {}
        Some(_) => return Err(AdminError::invalid("id", format!("must be {id:?} (the id in the path)"))),
    }
    let overrides = admin
        .change(|overrides, version| {
            let (current, _) = find(admin, overrides, id).ok_or_else(|| not_found(id))?;
            let now = overrides.backend(id).map_or(0, |s| s.version);
            if now != expected {
                let message = format!(
                    "backend {id:?} changed since version {expected} (now {now}): reload it and apply your change again"
                );
                return Err(AdminError::conflict(message, Some(now)));
            }
            let mut entry = entry.clone();
            keep_redacted_headers(&mut entry, &current)?;
            let stored = stored_entry(admin, entry, version);
            match overrides.backends.iter_mut().find(|b| b.id() == id) {
                Some(slot) => *slot = stored,
                None => overrides.backends.push(stored),
            }
            check(admin, overrides, id)?;
            Ok(overrides.clone())
        })
        .await?;
    audit::record(admin, "backend.update", id, json!({ "fields": fields(&entry), "replaced": expected })).await;
    let (entry, source) = find(admin, &overrides, id).ok_or_else(|| not_found(id))?;
    reply(StatusCode::OK, &view(admin, &entry, source, &overrides))
}

/// A header sent back as `[redacted]` keeps the value it has now; one that has none is an error.
fn keep_redacted_headers(entry: &mut Map<String, Value>, current: &Map<String, Value>) -> Result<(), AdminError> {
    let Some(Value::Object(headers)) = entry.get_mut("headers") else { return Ok(()) };
    let known = current.get("headers").and_then(Value::as_object);
    for (name, value) in headers.iter_mut() {
        if value.as_str() == Some(REDACTED) {
            let kept = known.and_then(|h| h.get(name)).cloned();
            *value = kept.ok_or_else(|| AdminError::invalid(format!("headers.{name}"), "has no value to keep"))?;
        }
    }
    Ok(())
}

pub(super) async fn delete(admin: &Admin<'_>, id: &str) -> Result<Response<Body>, AdminError> {
    let expected = match admin.query("version") {
        None => None,
        Some(v) => Some(v.parse::<u64>().map_err(|_| AdminError::invalid("version", "must be a whole number"))?),
    };
    admin
        .change(|overrides, _| {
            let (_, source) = find(admin, overrides, id).ok_or_else(|| not_found(id))?;
            let now = overrides.backend(id).map_or(0, |s| s.version);
            if expected.is_some_and(|e| e != now) {
                return Err(AdminError::conflict(format!("backend {id:?} changed since that version (now {now})"), Some(now)));
            }
            if source == Source::Document {
                let message = format!(
                    "backend {id:?} is defined in the deployment's backends document: disable it (PUT with \"enabled\": false) or remove it there"
                );
                return Err(AdminError::conflict(message, Some(now)));
            }
            overrides.backends.retain(|b| b.id() != id);
            Ok(())
        })
        .await?;
    audit::record(admin, "backend.delete", id, json!({})).await;
    reply(StatusCode::OK, &json!({ "deleted": id }))
}

/// `initialize` and `tools/list` now, with this function's client (its credentials, where it may read
/// them), whether or not the backend is enabled.
pub(super) async fn test(admin: &Admin<'_>, id: &str) -> Result<Response<Body>, AdminError> {
    let overrides = load(admin).await?;
    let (mut entry, _) = find(admin, &overrides, id).ok_or_else(|| not_found(id))?;
    entry.insert("enabled".into(), json!(true));
    let document = admin.app.stored.document();
    let text = json!({ "separator": document.get("separator").cloned().unwrap_or(json!("_")), "backends": [entry] });
    let set = BackendSet::parse(&text.to_string(), admin.app.stored.defaults())?;
    let backend = set.get(id).ok_or_else(|| not_found(id))?;
    let crate::backend::Probe { mut detail, tools, .. } = crate::backend::probe_now(backend, &admin.app.client).await;
    detail["id"] = json!(id);
    if let Some(tools) = tools {
        detail["tools"] = json!(tools.into_iter().take(500).collect::<Vec<_>>());
    }
    audit::record(admin, "backend.test", id, json!({ "status": detail["status"] })).await;
    reply(StatusCode::OK, &detail)
}
