//! Backend list pages cached per instance for a short TTL, so a warm `tools/list` (and the catalog
//! lookup behind every `tools/call`) costs no backend round-trip.
//!
//! A page is cached per (backend, protocol era, list method, backend cursor): list results are the
//! backend's, not the caller's, because the gateway reaches every backend with its own credential;
//! per-caller filtering (scopes) happens after the cache. A backend may list differently to 2026-07-28
//! requests than to its sessions, so each era has its own pages. A `notifications/*/list_changed` seen on
//! any stream from a backend bumps that backend's generation for the list (both eras), which makes its
//! cached pages stale at once.
//!
//! A page is kept as one shared `Arc`: handing it out copies nothing, and the catalog can tell that a
//! listing is made of exactly the pages it was built from (see `routing::catalog::Listed`).
//!
//! Only pages the gateway reached by itself are kept: a first page, or the page of a cursor a cached
//! page handed out as `nextCursor`. A client can put any cursor in a gateway cursor it forges; the page
//! the backend answers for it is passed on but never cached, so forged cursors cannot fill the
//! instance's memory with copies of pages.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;

use crate::{cache::TtlCache, protocol::Era};

/// Bound on cached pages.
const MAX_PAGES: usize = 10_000;

/// The list families a `list_changed` notification can name.
fn family(method: &str) -> &'static str {
    match method {
        "tools/list" | "notifications/tools/list_changed" => "tools",
        "prompts/list" | "notifications/prompts/list_changed" => "prompts",
        _ => "resources", // resources/list, resources/templates/list and their notification
    }
}

#[derive(Clone, Hash, PartialEq, Eq)]
struct Key {
    backend: String,
    /// Modern: the page a 2026-07-28 request got; legacy: a session's.
    modern: bool,
    method: String,
    cursor: Option<String>,
}

fn key(backend: &str, era: Era, method: &str, cursor: Option<&str>) -> Key {
    Key {
        backend: backend.to_owned(),
        modern: era == Era::Modern,
        method: method.to_owned(),
        cursor: cursor.map(str::to_owned),
    }
}

#[derive(Clone)]
struct Cached {
    /// `None`: the backend does not offer this list.
    page: Option<Arc<Value>>,
    generation: u64,
}

/// The cache of one instance.
pub struct ListCache {
    pages: TtlCache<Key, Cached>,
    /// Cursors a cached page handed out (keys with `cursor` = that `nextCursor`).
    issued: TtlCache<Key, ()>,
    generations: Mutex<HashMap<(String, &'static str), u64>>,
}

impl ListCache {
    /// A cache keeping pages for `ttl`; zero disables it.
    pub fn new(ttl: Duration) -> Self {
        Self {
            pages: TtlCache::new(ttl, MAX_PAGES),
            issued: TtlCache::new(ttl, MAX_PAGES),
            generations: Mutex::new(HashMap::new()),
        }
    }

    /// Drops every page of `backend` (it was changed or removed).
    pub fn forget(&self, backend: &str) {
        self.pages.retain(|key, _| key.backend != backend);
        self.issued.retain(|key, _| key.backend != backend);
    }

    fn generation(&self, backend: &str, method: &str) -> u64 {
        let generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        generations.get(&(backend.to_owned(), family(method))).copied().unwrap_or(0)
    }

    /// A fresh cached page of `era`: `Some(None)` means "the backend has no such list".
    pub fn get(&self, backend: &str, era: Era, method: &str, cursor: Option<&str>) -> Option<Option<Arc<Value>>> {
        if self.pages.ttl().is_zero() {
            return None;
        }
        let generation = self.generation(backend, method);
        let key = key(backend, era, method, cursor);
        let cached = self.pages.get(&key)?;
        (cached.generation == generation).then_some(cached.page)
    }

    /// Remembers a page of `era` fetched now, if it was fetched without a cursor or with one a cached
    /// page issued.
    pub fn put(&self, backend: &str, era: Era, method: &str, cursor: Option<&str>, page: Option<Arc<Value>>) {
        if self.pages.ttl().is_zero() {
            return;
        }
        if cursor.is_some() && self.issued.get(&key(backend, era, method, cursor)).is_none() {
            return;
        }
        if let Some(Value::String(next)) = page.as_ref().and_then(|p| p.get("nextCursor")) {
            self.issued.insert(key(backend, era, method, Some(next)), ());
        }
        let generation = self.generation(backend, method);
        self.pages.insert(key(backend, era, method, cursor), Cached { page, generation });
    }

    /// Records a notification from `backend`; `list_changed` ones invalidate that list.
    pub fn observe(&self, backend: &str, method: &str) {
        if !method.starts_with("notifications/") || !method.ends_with("/list_changed") {
            return;
        }
        if method == "notifications/roots/list_changed" {
            return; // a client-side list; backends do not send it
        }
        tracing::info!(backend, %method, "backend list changed; cached pages dropped");
        let mut generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        *generations.entry((backend.to_owned(), family(method))).or_default() += 1;
    }

    /// Age of the oldest fresh page of `backend` (for the instance's health view).
    pub fn age(&self, backend: &str) -> Option<Duration> {
        self.pages.oldest(|key| key.backend == backend)
    }

    pub fn ttl(&self) -> Duration {
        self.pages.ttl()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const L: Era = Era::Legacy;

    #[tokio::test(start_paused = true)]
    async fn pages_are_fresh_for_the_ttl_only() {
        let cache = ListCache::new(Duration::from_secs(30));
        assert_eq!(cache.get("a", L, "tools/list", None), None);
        cache.put("a", L, "tools/list", None, Some(Arc::new(json!({"tools": []}))));
        cache.put("a", L, "prompts/list", None, None);
        assert_eq!(cache.get("a", L, "tools/list", None), Some(Some(Arc::new(json!({"tools": []})))));
        assert_eq!(cache.get("a", L, "prompts/list", None), Some(None));
        assert_eq!(cache.get("a", L, "tools/list", Some("c2")), None);
        cache.put("a", L, "tools/list", Some("c2"), Some(Arc::new(json!({"tools": []}))));
        assert_eq!(cache.get("a", L, "tools/list", Some("c2")), None, "c2 was never handed out");
        assert_eq!(cache.get("b", L, "tools/list", None), None);
        assert_eq!(cache.get("a", Era::Modern, "tools/list", None), None, "each era has its own pages");
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(cache.get("a", L, "tools/list", None), None);
    }

    #[test]
    fn list_changed_invalidates_only_that_backend_and_family() {
        let cache = ListCache::new(Duration::from_secs(30));
        for method in ["tools/list", "resources/list", "resources/templates/list"] {
            cache.put("a", L, method, None, Some(Arc::new(json!({}))));
        }
        cache.put("b", L, "tools/list", None, Some(Arc::new(json!({}))));
        cache.observe("a", "notifications/progress");
        cache.observe("a", "notifications/resources/list_changed");
        assert!(cache.get("a", L, "tools/list", None).is_some());
        assert!(cache.get("a", L, "resources/list", None).is_none());
        assert!(cache.get("a", L, "resources/templates/list", None).is_none());
        cache.observe("a", "notifications/tools/list_changed");
        assert!(cache.get("a", L, "tools/list", None).is_none());
        assert!(cache.get("b", L, "tools/list", None).is_some());
        // A page fetched after the notification is fresh again.
        cache.put("a", L, "tools/list", None, Some(Arc::new(json!({}))));
        assert!(cache.get("a", L, "tools/list", None).is_some());
    }

    #[test]
    fn pages_of_cursors_no_cached_page_issued_are_not_kept() {
        let cache = ListCache::new(Duration::from_secs(30));
        cache.put("a", L, "resources/list", Some("forged"), Some(Arc::new(json!({"resources": []}))));
        assert_eq!(cache.get("a", L, "resources/list", Some("forged")), None);
        cache.put("a", L, "resources/list", None, Some(Arc::new(json!({"resources": [], "nextCursor": "p2"}))));
        cache.put("a", L, "resources/list", Some("p2"), Some(Arc::new(json!({"resources": []}))));
        assert!(cache.get("a", L, "resources/list", Some("p2")).is_some());
        // Issued by backend a's resources list: not a cursor of another list or backend.
        cache.put("b", L, "resources/list", Some("p2"), Some(Arc::new(json!({}))));
        cache.put("a", L, "tools/list", Some("p2"), Some(Arc::new(json!({}))));
        assert_eq!(cache.get("b", L, "resources/list", Some("p2")), None);
        assert_eq!(cache.get("a", L, "tools/list", Some("p2")), None);
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let cache = ListCache::new(Duration::ZERO);
        cache.put("a", L, "tools/list", None, Some(Arc::new(json!({}))));
        assert_eq!(cache.get("a", L, "tools/list", None), None);
    }
}
