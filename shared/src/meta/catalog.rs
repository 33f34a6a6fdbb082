//! The caller's catalog as the meta-tools search it: exactly the tools its `tools/list` would show in full
//! mode (`mcp::tools::list`, filtered by its scopes), with each tool's backend, indexed for search.
//!
//! Indexing thousands of tools takes milliseconds, so an index is kept per instance for as long as the
//! backends' list pages are (`GATEWAY_LIST_CACHE_SECS`): per set of scopes (callers with the same scopes
//! see the same catalog; a caller whose scopes change gets another index), and only while the backends
//! are those it was built from. A stale entry can only offer a tool that then fails: every call is checked
//! again on its way out.

use std::{sync::Arc, time::Duration};

use serde_json::Value;

use super::search::{Entry, SearchIndex};
use crate::{auth::Principal, backend::BackendSet, cache::TtlCache, mcp, App, GatewayError};

/// Most scope sets with an index at once.
const MAX_INDEXES: usize = 256;

type Snapshot = (Arc<BackendSet>, Arc<SearchIndex>);

pub struct Catalogs {
    indexes: TtlCache<String, Snapshot>,
}

impl Catalogs {
    pub fn new(ttl: Duration) -> Self {
        Self { indexes: TtlCache::new(ttl, MAX_INDEXES) }
    }

    /// The search index of `principal`'s catalog.
    pub async fn of(&self, app: &App, principal: &Principal) -> Result<Arc<SearchIndex>, GatewayError> {
        let set = app.backends();
        let key = principal.scopes.iter().collect::<Vec<_>>().join(" ");
        if let Some((built_for, index)) = self.indexes.get(&key) {
            if Arc::ptr_eq(&built_for, &set) {
                return Ok(index);
            }
        }
        let tools = mcp::tools::list(app, principal).await?;
        // Listing just rebuilt the routing index: it knows each exposed name's backend and own name.
        let routes = app.tools.fresh("tools", crate::protocol::Era::Legacy, Duration::MAX);
        let entries = tools
            .into_iter()
            .map(|tool| {
                let name = tool.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let (backend, original) = match routes.as_ref().and_then(|index| index.routes.get(&name)) {
                    Some(route) => (route.backend.id.clone(), route.original.clone()),
                    None => match set.resolve(&name) {
                        Some(resolved) => (resolved.backend.id.clone(), resolved.name),
                        None => (String::new(), name.clone()),
                    },
                };
                Entry { tool, backend, original }
            })
            .collect();
        let index = Arc::new(SearchIndex::build(entries));
        self.indexes.insert(key, (set, index.clone()));
        Ok(index)
    }
}
