//! The four list methods, merged over all backends in parallel; a backend that fails, is slow or has
//! its circuit breaker open only leaves its items out. Tools and prompts are renamed, so they come
//! from the catalog (every page of every backend, names settled across backends) in one page.
//! Resources and templates keep their URIs and are paginated with one opaque gateway cursor holding
//! each unfinished backend's own cursor. Backend pages are cached per instance for a short TTL.

use std::{collections::BTreeMap, sync::Arc};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{access, catalog, privacy::Shield, upstream::Ctx};
use crate::{
    backend::{Backend, Reply},
    GatewayError,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Tools,
    Prompts,
    Resources,
    ResourceTemplates,
}

impl ListKind {
    pub fn from_method(method: &str) -> Option<Self> {
        Some(match method {
            "tools/list" => Self::Tools,
            "prompts/list" => Self::Prompts,
            "resources/list" => Self::Resources,
            "resources/templates/list" => Self::ResourceTemplates,
            _ => return None,
        })
    }

    pub(super) fn method(self) -> &'static str {
        match self {
            Self::Tools => "tools/list",
            Self::Prompts => "prompts/list",
            Self::Resources => "resources/list",
            Self::ResourceTemplates => "resources/templates/list",
        }
    }

    /// The result member holding the items.
    pub(super) fn field(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Prompts => "prompts",
            Self::Resources => "resources",
            Self::ResourceTemplates => "resourceTemplates",
        }
    }

    /// The server capability a backend must declare to be asked.
    pub(super) fn capability(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Prompts => "prompts",
            Self::Resources | Self::ResourceTemplates => "resources",
        }
    }
}

/// The gateway cursor: which list it belongs to and each unfinished backend's cursor.
#[derive(Serialize, Deserialize)]
struct Cursor {
    list: String,
    next: BTreeMap<String, String>,
}

pub async fn list(ctx: &Ctx<'_>, kind: ListKind, params: &Value) -> Result<Value, GatewayError> {
    if matches!(kind, ListKind::Tools | ListKind::Prompts) {
        if !matches!(params.get("cursor"), None | Some(Value::Null)) {
            // This gateway never hands out a cursor for these lists.
            return Err(bad_cursor("it was not issued by this gateway"));
        }
        return Ok(catalog::list(ctx, kind, &mut Shield::new(ctx, params)).await);
    }
    let backends = ctx.app.backends();
    // Only backends whose resources the caller may reach are asked, and named in its cursor; one it may
    // not reach is, to it, a backend that does not exist.
    let reaches = |b: &Backend| access::may_reach(ctx, b, catalog::item_kind(kind), "");
    let positions: Vec<(&Backend, Option<String>)> = match params.get("cursor") {
        None | Some(Value::Null) => backends.iter().filter(|b| reaches(b)).map(|b| (b.as_ref(), None)).collect(),
        Some(cursor) => {
            let cursor = decode(cursor, kind)?;
            let mut positions = Vec::new();
            for (id, c) in cursor.next {
                let backend = backends.get(&id).filter(|b| reaches(b));
                let backend = backend.ok_or_else(|| bad_cursor("it names an unknown backend"))?;
                positions.push((backend.as_ref(), Some(c)));
            }
            positions
        }
    };
    // Ownership learned from this listing is shared by every caller of the instance: only a caller who
    // sees every backend teaches it (see `routing::ResourceOwners`).
    let learn = backends.iter().all(|b| reaches(b));
    let pages = join_all(positions.iter().map(|(b, c)| page(ctx, b, kind, c.clone()))).await;
    let mut shield = Shield::new(ctx, params);
    let shield = &mut shield;

    let mut items = Vec::new();
    let mut next = BTreeMap::new();
    for ((backend, cursor), page) in positions.iter().zip(pages) {
        let Ok(Some(page)) = page else { continue };
        let mut page = Arc::unwrap_or_clone(page);
        let found = match page.get_mut(kind.field()).map(Value::take) {
            Some(Value::Array(found)) => found,
            _ => Vec::new(),
        };
        if let Some(Value::String(c)) = page.get("nextCursor") {
            // A backend handing back the cursor it was given would page forever.
            if cursor.as_deref() != Some(c.as_str()) {
                next.insert(backend.id.clone(), c.clone());
            }
        }
        if learn {
            found.iter().for_each(|item| learn_owner(ctx, backend, kind, item));
        }
        // Backend data: tokenized in the caller's vault (a tokenized URI is restored when it is read).
        let mut found = Value::Array(found);
        shield.protect(&backend.id, None, &mut found).await;
        if let Value::Array(found) = found {
            items.extend(found);
        }
    }
    let mut result = Map::new();
    result.insert(kind.field().into(), Value::Array(items));
    if !next.is_empty() {
        result.insert("nextCursor".into(), encode(kind, next));
    }
    Ok(Value::Object(result))
}

/// One page from one backend, from the instance's cache when fresh (the cached page itself, shared).
/// `Ok(None)`: the backend has no such list. `Err(())`: it could not answer (logged; failures are not
/// cached, so the next request asks again, unless its circuit breaker is open).
pub(super) async fn page(
    ctx: &Ctx<'_>,
    backend: &Backend,
    kind: ListKind,
    cursor: Option<String>,
) -> Result<Option<Arc<Value>>, ()> {
    // While its breaker is open a backend's items are left out, even those still in the cache.
    if ctx.app.client.is_open(&backend.id) {
        return Err(());
    }
    let cache = ctx.app.client.lists();
    let era = ctx.era();
    if let Some(cached) = cache.get(&backend.id, era, kind.method(), cursor.as_deref()) {
        return Ok(cached);
    }
    let outcome = async {
        let state = ctx.backend_session(backend).await?;
        if !state.has(kind.capability()) {
            return Ok(None);
        }
        let params = cursor.as_ref().map(|c| json!({ "cursor": c })).unwrap_or_else(|| json!({}));
        ctx.call(backend, kind.method(), params).await.map(Some)
    };
    match outcome.await {
        Ok(Some(Reply::Result(page))) => {
            let page = Arc::new(page);
            cache.put(&backend.id, era, kind.method(), cursor.as_deref(), Some(Arc::clone(&page)));
            Ok(Some(page))
        }
        Ok(None) => {
            cache.put(&backend.id, era, kind.method(), cursor.as_deref(), None);
            Ok(None)
        }
        Ok(Some(Reply::Error(error))) => {
            tracing::warn!(backend = %backend.id, method = kind.method(), code = %error["code"], "backend list failed");
            Err(())
        }
        Err(error) => {
            tracing::warn!(backend = %backend.id, method = kind.method(), %error, "backend unavailable for list");
            Err(())
        }
    }
}

/// Records which backend owns a resource (or template) the client is about to see.
fn learn_owner(ctx: &Ctx<'_>, backend: &Backend, kind: ListKind, item: &Value) {
    let (owners, set) = (&ctx.app.owners, ctx.app.backends());
    let field = |name: &str| item.get(name).and_then(Value::as_str);
    match kind {
        ListKind::Resources => field("uri").into_iter().for_each(|uri| owners.learn_uri(uri, &backend.id, &set)),
        ListKind::ResourceTemplates => {
            field("uriTemplate").into_iter().for_each(|t| owners.learn_template(t, &backend.id, &set))
        }
        // Renamed by the catalog, never paginated here.
        ListKind::Tools | ListKind::Prompts => {}
    }
}

fn encode(kind: ListKind, next: BTreeMap<String, String>) -> Value {
    let cursor = Cursor { list: kind.field().into(), next };
    Value::String(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default()))
}

fn decode(cursor: &Value, kind: ListKind) -> Result<Cursor, GatewayError> {
    let text = cursor.as_str().ok_or_else(|| bad_cursor("it must be a string"))?;
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad_cursor("it was not issued by this gateway"))?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad_cursor("it was not issued by this gateway"))?;
    if cursor.list != kind.field() {
        return Err(bad_cursor("it belongs to another list"));
    }
    Ok(cursor)
}

fn bad_cursor(why: &str) -> GatewayError {
    GatewayError::InvalidParams(format!("invalid cursor: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_list() {
        let next = BTreeMap::from([("demo".to_owned(), "abc".to_owned())]);
        let cursor = encode(ListKind::Resources, next.clone());
        assert_eq!(decode(&cursor, ListKind::Resources).unwrap().next, next);
        assert!(decode(&cursor, ListKind::Tools).is_err());
        assert!(decode(&json!("not-a-cursor!"), ListKind::Tools).is_err());
        assert!(decode(&json!(5), ListKind::Tools).is_err());
    }
}
