//! The four list methods, merged over all backends in parallel. Names are prefixed per backend; a
//! backend that fails or is slow only leaves its items out. Pagination uses one opaque gateway cursor
//! holding each unfinished backend's own cursor.

use std::collections::{BTreeMap, HashSet};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::upstream::Ctx;
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

    fn method(self) -> &'static str {
        match self {
            Self::Tools => "tools/list",
            Self::Prompts => "prompts/list",
            Self::Resources => "resources/list",
            Self::ResourceTemplates => "resources/templates/list",
        }
    }

    /// The result member holding the items.
    fn field(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Prompts => "prompts",
            Self::Resources => "resources",
            Self::ResourceTemplates => "resourceTemplates",
        }
    }

    /// The server capability a backend must declare to be asked.
    fn capability(self) -> &'static str {
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
    let backends = &ctx.app.config.backends;
    let positions: Vec<(&Backend, Option<String>)> = match params.get("cursor") {
        None | Some(Value::Null) => backends.iter().map(|b| (b.as_ref(), None)).collect(),
        Some(cursor) => {
            let cursor = decode(cursor, kind)?;
            let mut positions = Vec::new();
            for (id, c) in cursor.next {
                let backend = backends.get(&id).ok_or_else(|| bad_cursor("it names an unknown backend"))?;
                positions.push((backend.as_ref(), Some(c)));
            }
            positions
        }
    };
    let pages = join_all(positions.iter().map(|(b, c)| page(ctx, b, kind, c.clone()))).await;

    let mut items = Vec::new();
    let mut next = BTreeMap::new();
    for ((backend, cursor), page) in positions.iter().zip(pages) {
        let Some(mut page) = page else { continue };
        let found = match page.get_mut(kind.field()).map(Value::take) {
            Some(Value::Array(found)) => found,
            _ => Vec::new(),
        };
        match page.get("nextCursor") {
            Some(Value::String(c)) => {
                next.insert(backend.id.clone(), c.clone());
            }
            // A first page that is also the last is the backend's whole tool list.
            _ if kind == ListKind::Tools && cursor.is_none() => ctx.app.tools.remember(&backend.id, names(&found)),
            _ => {}
        }
        items.extend(found.into_iter().filter_map(|item| expose(ctx, backend, kind, item)));
    }
    let mut result = Map::new();
    result.insert(kind.field().into(), Value::Array(items));
    if !next.is_empty() {
        result.insert("nextCursor".into(), encode(kind, next));
    }
    Ok(Value::Object(result))
}

/// Every tool name `backend` has, following its cursors (bounded); `None` if it could not answer.
pub async fn tool_names(ctx: &Ctx<'_>, backend: &Backend) -> Option<HashSet<String>> {
    const MAX_PAGES: usize = 50;
    let mut all = HashSet::new();
    let mut cursor = None;
    for _ in 0..MAX_PAGES {
        let page = page(ctx, backend, ListKind::Tools, cursor.take()).await?;
        all.extend(names(page.get("tools").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()));
        match page.get("nextCursor") {
            Some(Value::String(c)) => cursor = Some(c.clone()),
            _ => break,
        }
    }
    ctx.app.tools.remember(&backend.id, all.clone());
    Some(all)
}

fn names(items: &[Value]) -> HashSet<String> {
    items.iter().filter_map(|t| t.get("name")?.as_str().map(str::to_owned)).collect()
}

/// One page from one backend; `None` when it has no such items or could not answer.
async fn page(ctx: &Ctx<'_>, backend: &Backend, kind: ListKind, cursor: Option<String>) -> Option<Value> {
    let outcome = async {
        let state = ctx.backend_session(backend).await?;
        if !state.has(kind.capability()) {
            return Ok(None);
        }
        let params = cursor.map(|c| json!({ "cursor": c })).unwrap_or_else(|| json!({}));
        ctx.call(backend, kind.method(), params).await.map(Some)
    };
    match outcome.await {
        Ok(Some(Reply::Result(page))) => Some(page),
        Ok(None) => None,
        Ok(Some(Reply::Error(error))) => {
            tracing::warn!(backend = %backend.id, method = kind.method(), code = %error["code"], "backend list failed");
            None
        }
        Err(error) => {
            tracing::warn!(backend = %backend.id, method = kind.method(), %error, "backend unavailable for list");
            None
        }
    }
}

/// Renames an item for the client (tools, prompts) or records who owns it (resources).
fn expose(ctx: &Ctx<'_>, backend: &Backend, kind: ListKind, mut item: Value) -> Option<Value> {
    let owners = &ctx.app.owners;
    match kind {
        ListKind::Tools | ListKind::Prompts => {
            let name = item.get("name")?.as_str()?;
            let exposed = ctx.app.config.backends.expose(backend, name);
            // A caller sees only the tools it may call.
            if kind == ListKind::Tools && !ctx.principal.scopes.may_call_tool(&exposed) {
                return None;
            }
            item["name"] = Value::String(exposed);
        }
        ListKind::Resources => owners.learn_uri(item.get("uri")?.as_str()?, &backend.id),
        ListKind::ResourceTemplates => owners.learn_template(item.get("uriTemplate")?.as_str()?, &backend.id),
    }
    Some(item)
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
