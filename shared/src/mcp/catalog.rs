//! Tools and prompts of every backend under settled names: the merged list, and the route of a call by
//! exact lookup of its exposed name in the instance's index (`routing::ToolCatalog`). An unknown name
//! is a protocol error (-32602) from the gateway, whatever the backend would have done with it, unless
//! the backend whose prefix it carries asked for its unlisted tools to be forwarded.
//!
//! Each protocol era has its own catalog: a 2026-07-28 client is listed what the backends list to
//! 2026-07-28 requests (when they speak that era), a session-era client what they list to sessions, and
//! a name is callable only in the era that lists it.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use futures_util::future::join_all;
use serde_json::{Map, Value};

use super::{
    access,
    lists::{self, ListKind},
    privacy::Shield,
    upstream::Ctx,
};
use crate::{
    auth::ItemKind,
    backend::Backend,
    routing::{Index, Listed, Listing, Route},
    schema::ToolSchema,
};

/// Bound on pages followed per backend when listing it completely.
const MAX_PAGES: usize = 50;

/// What a call to an exposed name should do.
#[derive(Debug)]
pub enum Routed {
    To(Route),
    /// No such name now, and the backend whose prefix it carries could not be listed: the caller should
    /// hear that this backend is unavailable rather than that the name does not exist.
    Unavailable(Arc<Backend>),
    Unknown,
}

fn family(kind: ListKind) -> &'static str {
    match kind {
        ListKind::Prompts => "prompts",
        _ => "tools",
    }
}

/// The scope kind of the items of list `kind`.
pub fn item_kind(kind: ListKind) -> ItemKind {
    match kind {
        ListKind::Tools => ItemKind::Tool,
        ListKind::Prompts => ItemKind::Prompt,
        ListKind::Resources | ListKind::ResourceTemplates => ItemKind::Resource,
    }
}

/// The merged list of tools or prompts with settled names, filtered by the caller's scopes (by the
/// backend each item belongs to), in one page. Built from the backends' cached pages, so a warm list
/// costs no backend round-trip, and not built again while those pages are the same.
pub async fn list(ctx: &Ctx<'_>, kind: ListKind, shield: &mut Shield<'_>) -> Value {
    let index = build(ctx, kind).await;
    let gateway_tools = &ctx.app.gateway_tools;
    let disabled = ctx.app.disabled_tools.snapshot();
    let visible: Vec<(Arc<Backend>, Value)> = index
        .listed
        .items
        .iter()
        .filter(|(backend, item)| {
            let Some(name) = item.get("name").and_then(Value::as_str) else { return false };
            // A backend tool under a gateway tool's reserved name is never reachable, so never listed;
            // a tool disabled gateway-wide is listed to nobody.
            let hidden = kind == ListKind::Tools && (gateway_tools.is_gateway_tool(name) || disabled.contains(name));
            !hidden && access::may_reach(ctx, backend, item_kind(kind), name)
        })
        .cloned()
        .collect();
    let mut result = Map::new();
    result.insert(kind.field().into(), Value::Array(protect_listed(shield, visible).await));
    Value::Object(result)
}

/// Descriptions, titles, schemas and annotations are backend data like any other: tokenized, one call per
/// backend (its PII policy applies). The exposed name is the item's identity — what calls, scopes and
/// routing go by, limited to `[A-Za-z0-9_.-]` — and is never rewritten.
async fn protect_listed(shield: &mut Shield<'_>, items: Vec<(Arc<Backend>, Value)>) -> Vec<Value> {
    let mut names = Vec::with_capacity(items.len());
    let mut groups: Vec<(Arc<Backend>, Vec<Value>)> = Vec::new();
    for (backend, mut item) in items {
        names.push(item.as_object_mut().and_then(|o| o.remove("name")));
        match groups.last_mut().filter(|(b, _)| b.id == backend.id) {
            Some((_, group)) => group.push(item),
            None => groups.push((backend, vec![item])),
        }
    }
    let mut protected = Vec::with_capacity(names.len());
    for (backend, group) in groups {
        let mut group = Value::Array(group);
        shield.protect(&backend.id, None, &mut group).await;
        if let Value::Array(items) = group {
            protected.extend(items);
        }
    }
    protected
        .into_iter()
        .zip(names)
        .map(|(item, name)| match (item, name) {
            (Value::Object(fields), Some(name)) => {
                let mut named = Map::with_capacity(fields.len() + 1);
                named.insert("name".to_owned(), name);
                named.extend(fields);
                Value::Object(named)
            }
            (item, _) => item,
        })
        .collect()
}

/// Where a call to `exposed` goes. A miss in a cached index is checked once against a rebuilt one (the
/// name may be new, or its backend back), unless the backend it names has its breaker open.
pub async fn route(ctx: &Ctx<'_>, kind: ListKind, exposed: &str) -> Routed {
    // Disabled gateway-wide: exactly what an unknown name gets.
    if kind == ListKind::Tools && ctx.app.disabled_tools.contains(exposed) {
        return Routed::Unknown;
    }
    let mut cached = ctx.app.tools.fresh(family(kind), ctx.era(), ctx.app.client.lists().ttl());
    loop {
        let from_cache = cached.is_some();
        let index = match cached.take() {
            Some(index) => index,
            None => build(ctx, kind).await,
        };
        if let Some(route) = index.routes.get(exposed) {
            return Routed::To(route.clone());
        }
        let resolved = ctx.app.backends().resolve(exposed);
        let blamed = resolved.as_ref().map(|r| r.backend.clone()).filter(|b| index.unavailable.contains(&b.id));
        match blamed {
            Some(backend) if ctx.app.client.is_open(&backend.id) => return Routed::Unavailable(backend),
            _ if from_cache => continue,
            Some(backend) => return Routed::Unavailable(backend),
            None => return unlisted(kind, resolved),
        }
    }
}

/// A name no listing holds: routed to the backend whose prefix it carries only if that backend asked
/// for its unlisted tools to be forwarded (with no schema to check the arguments against).
fn unlisted(kind: ListKind, resolved: Option<crate::backend::Resolved>) -> Routed {
    match resolved {
        Some(r) if kind == ListKind::Tools && r.backend.forward_unlisted_tools => {
            Routed::To(Route { backend: r.backend, original: r.name, schema: None })
        }
        _ => Routed::Unknown,
    }
}

/// Lists every backend completely (in parallel, bounded by the client's in-flight limit), settles the
/// names across backends and records the index with the renamed items; or, when every listing is the
/// same cached pages the latest index was built from, confirms that index instead of building it again.
/// Every backend is listed whoever asks: names are settled over all of them, the same for every caller.
pub(super) async fn build(ctx: &Ctx<'_>, kind: ListKind) -> Arc<Index> {
    let set = ctx.app.backends();
    let fetched = join_all(set.iter().map(|b| listing(ctx, b, kind))).await;
    let listings: Vec<Listing> = set.iter().cloned().zip(fetched).collect();
    if let Some(index) = ctx.app.tools.latest(family(kind), ctx.era()).filter(|i| i.listed.built_from(&listings)) {
        index.confirm();
        return index;
    }
    let mut unavailable = HashSet::new();
    let mut named = Vec::new();
    let mut items: HashMap<(String, String), Value> = HashMap::new();
    for (backend, pages) in &listings {
        let Some(pages) = pages else {
            unavailable.insert(backend.id.clone());
            continue;
        };
        let found = pages.iter().filter_map(|page| page.get(kind.field()).and_then(Value::as_array)).flatten();
        let mut names = Vec::new();
        for item in found {
            let Some(name) = item.get("name").and_then(Value::as_str) else { continue };
            items.entry((backend.id.clone(), name.to_owned())).or_insert_with(|| item.clone());
            names.push(name.to_owned());
        }
        named.push((backend.clone(), names));
    }
    let exposure = set.expose_all(&named);
    let renamed: Vec<(Arc<Backend>, Value)> = exposure
        .names
        .iter()
        .filter_map(|n| {
            let mut item = items.remove(&(n.backend.id.clone(), n.original.clone()))?;
            item["name"] = Value::String(n.exposed.clone());
            Some((n.backend.clone(), item))
        })
        .collect();
    let schemas = match kind {
        ListKind::Tools => renamed.iter().filter_map(|(_, tool)| tool_schema(tool)).collect(),
        _ => HashMap::new(),
    };
    let listed = Listed { listings, items: renamed };
    ctx.app.tools.record(family(kind), ctx.era(), &exposure, unavailable, schemas, listed)
}

/// A listed tool's exposed name and `inputSchema` (compiled when a call first needs it).
fn tool_schema(tool: &Value) -> Option<(String, Arc<ToolSchema>)> {
    let name = tool.get("name").and_then(Value::as_str)?;
    let schema = ToolSchema::new(name, tool.get("inputSchema")?.clone());
    Some((name.to_owned(), Arc::new(schema)))
}

/// Every page `backend` has in list `kind`, following its cursors (bounded); `None` if it could not
/// answer. A backend without the capability has no pages.
async fn listing(ctx: &Ctx<'_>, backend: &Backend, kind: ListKind) -> Option<Vec<Arc<Value>>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let Some(page) = lists::page(ctx, backend, kind, cursor.clone()).await.ok()? else { break };
        let next = match page.get("nextCursor") {
            // A backend handing back the cursor it was given would page forever.
            Some(Value::String(next)) if cursor.as_ref() != Some(next) => Some(next.clone()),
            _ => None,
        };
        pages.push(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Some(pages)
}
