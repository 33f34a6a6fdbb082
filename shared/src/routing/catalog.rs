//! The exact-lookup index of exposed names (tools and prompts), per instance and per protocol era:
//! exposed name → (backend, the backend's own name, its compiled input schema). The MCP layer builds it
//! from complete listings of every backend (their pages come from the instance's list cache) and uses it
//! for as long as those listings are cached. A call is routed only to a name the index holds (or, for a
//! backend that asks for it, to that backend's unlisted names); names are never split at the separator
//! to find their backend. A backend may offer each era a different catalog, so each era has its own
//! index, its own settled names and its own collisions.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

use serde_json::Value;
use tokio::time::Instant;

use crate::{
    backend::{Backend, Collision, Exposure},
    protocol::Era,
    schema::ToolSchema,
};

/// Where an exposed name goes.
#[derive(Debug, Clone)]
pub struct Route {
    pub backend: Arc<Backend>,
    /// The backend's own name.
    pub original: String,
    /// A tool's `inputSchema`, compiled on first use (none for prompts, or a tool without one).
    pub schema: Option<Arc<ToolSchema>>,
}

/// One built index.
#[derive(Debug)]
pub struct Index {
    /// When the listings were last found to be the ones it was built from (see `Index::confirm`).
    checked: Mutex<Instant>,
    pub routes: HashMap<String, Route>,
    pub collisions: Vec<Collision>,
    /// Backends whose listing failed (or whose breaker is open) when the index was built: their names
    /// are missing, so a call to one of them is "unavailable", not "unknown".
    pub unavailable: HashSet<String>,
    pub listed: Listed,
}

/// A backend's complete listing as the list cache handed it out: its pages (`None`: it could not be
/// listed).
pub type Listing = (Arc<Backend>, Option<Vec<Arc<Value>>>);

/// What an index was built from and the merged list it made: every backend's listing and the items
/// under their settled names, in the order the list shows them. A warm `tools/list` whose listings are
/// the very same cached pages (same backends, same `Arc`s: nothing expired, was refetched, invalidated
/// by `list_changed` or left out for an open breaker) is this list again, so it is not rebuilt.
#[derive(Debug, Default)]
pub struct Listed {
    pub listings: Vec<Listing>,
    pub items: Vec<(Arc<Backend>, Value)>,
}

impl Listed {
    /// Whether `listings` are exactly the ones this was built from.
    pub fn built_from(&self, listings: &[Listing]) -> bool {
        let same_pages = |a: &Option<Vec<Arc<Value>>>, b: &Option<Vec<Arc<Value>>>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| Arc::ptr_eq(a, b)),
            _ => false,
        };
        self.listings.len() == listings.len()
            && self.listings.iter().zip(listings).all(|((a, pa), (b, pb))| Arc::ptr_eq(a, b) && same_pages(pa, pb))
    }
}

impl Index {
    /// The listings were just found to be the ones the index was built from: it is fresh again.
    pub fn confirm(&self) {
        *self.checked.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn age(&self) -> Duration {
        self.checked.lock().unwrap_or_else(|p| p.into_inner()).elapsed()
    }
}

#[derive(Default)]
pub struct ToolCatalog {
    /// Keyed by list family ("tools" or "prompts") and the era of the clients it serves.
    indexes: RwLock<HashMap<(&'static str, Era), Arc<Index>>>,
}

impl ToolCatalog {
    /// The index of `family` for clients of `era`, if built within `max_age`.
    pub fn fresh(&self, family: &'static str, era: Era, max_age: Duration) -> Option<Arc<Index>> {
        self.latest(family, era).filter(|i| i.age() < max_age)
    }

    /// The index of `family` for clients of `era`, however old.
    pub fn latest(&self, family: &'static str, era: Era) -> Option<Arc<Index>> {
        self.indexes.read().unwrap_or_else(|p| p.into_inner()).get(&(family, era)).cloned()
    }

    /// Replaces the index of `family` for `era` with one built from `exposure`, with the tools' schemas
    /// and what it was built from.
    pub fn record(
        &self,
        family: &'static str,
        era: Era,
        exposure: &Exposure,
        unavailable: HashSet<String>,
        mut schemas: HashMap<String, Arc<ToolSchema>>,
        listed: Listed,
    ) -> Arc<Index> {
        let previous = self.indexes.read().unwrap_or_else(|p| p.into_inner()).get(&(family, era)).cloned();
        // A schema that did not change keeps its compiled form: rebuilding the index (every list, every
        // expiry) must not make the next call compile it again.
        let compiled = |exposed: &str, schema: Arc<ToolSchema>| {
            let known = previous.as_ref()?.routes.get(exposed)?.schema.as_ref()?;
            known.same_as(&schema).then(|| Arc::clone(known))
        };
        let routes = exposure
            .names
            .iter()
            .map(|n| {
                let schema = schemas.remove(&n.exposed).map(|s| compiled(&n.exposed, Arc::clone(&s)).unwrap_or(s));
                let route = Route { backend: n.backend.clone(), original: n.original.clone(), schema };
                (n.exposed.clone(), route)
            })
            .collect();
        let collisions = exposure.collisions.clone();
        let index = Arc::new(Index { checked: Mutex::new(Instant::now()), routes, collisions, unavailable, listed });
        let mut indexes = self.indexes.write().unwrap_or_else(|p| p.into_inner());
        let known = indexes.get(&(family, era)).map(|i| i.collisions.as_slice()).unwrap_or_default();
        // Reported when they appear or change, not on every list.
        for c in exposure.collisions.iter().filter(|c| !known.contains(c)) {
            let renamed: Vec<String> = c.renamed.iter().map(|(b, _, e)| format!("{b}:{e}")).collect();
            tracing::warn!(list = family, era = ?era, name = %c.name, kept = %c.kept.0, renamed = %renamed.join(","),
                "exposed name collision between backends; the first backend keeps the name");
        }
        indexes.insert((family, era), index.clone());
        index
    }

    /// Forgets every index (the backends changed): the next lookup rebuilds it.
    pub fn clear(&self) {
        self.indexes.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// The collisions of the latest indexes (of both eras, each reported once), for this instance's
    /// health view.
    pub fn collisions(&self) -> Vec<(&'static str, Collision)> {
        let indexes = self.indexes.read().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<(&'static str, Collision)> =
            indexes.iter().flat_map(|((family, _), i)| i.collisions.iter().map(|c| (*family, c.clone()))).collect();
        all.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
        all.dedup();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::BackendSet;

    #[tokio::test(start_paused = true)]
    async fn routes_are_exact_and_expire_with_the_listings() {
        let set = BackendSet::from_json(r#"{"backends":[{"id":"demo","url":"http://h/mcp"}]}"#).unwrap();
        let demo = set.get("demo").unwrap().clone();
        let exposure = set.expose_all(&[(demo, vec!["echo".to_owned()])]);
        let catalog = ToolCatalog::default();
        let ttl = Duration::from_secs(30);
        assert!(catalog.fresh("tools", Era::Legacy, ttl).is_none());
        let unavailable = HashSet::from(["other".to_owned()]);
        catalog.record("tools", Era::Legacy, &exposure, unavailable, HashMap::new(), Listed::default());
        let index = catalog.fresh("tools", Era::Legacy, ttl).unwrap();
        assert_eq!(index.routes["demo_echo"].original, "echo");
        assert!(!index.routes.contains_key("demo_nope") && index.unavailable.contains("other"));
        assert!(catalog.fresh("prompts", Era::Legacy, ttl).is_none());
        assert!(catalog.fresh("tools", Era::Modern, ttl).is_none(), "each era has its own index");
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(catalog.fresh("tools", Era::Legacy, ttl).is_none());
    }

    #[test]
    fn a_rebuilt_index_keeps_the_compiled_schemas_that_did_not_change() {
        let set = BackendSet::from_json(r#"{"backends":[{"id":"demo","url":"http://h/mcp"}]}"#).unwrap();
        let demo = set.get("demo").unwrap().clone();
        let exposure = set.expose_all(&[(demo, vec!["echo".to_owned(), "add".to_owned()])]);
        let schema = |name: &str, kind: &str| {
            let raw = serde_json::json!({"type": "object", "properties": {"x": {"type": kind}}});
            (name.to_owned(), Arc::new(ToolSchema::new(name, raw)))
        };
        let catalog = ToolCatalog::default();
        let first = catalog.record(
            "tools",
            Era::Legacy,
            &exposure,
            HashSet::new(),
            [schema("demo_echo", "string"), schema("demo_add", "number")].into(),
            Listed::default(),
        );
        let second = catalog.record(
            "tools",
            Era::Legacy,
            &exposure,
            HashSet::new(),
            [schema("demo_echo", "string"), schema("demo_add", "string")].into(),
            Listed::default(),
        );
        let same = |i: &Index, n: &str| i.routes[n].schema.clone().unwrap();
        assert!(Arc::ptr_eq(&same(&first, "demo_echo"), &same(&second, "demo_echo")), "unchanged: reused");
        assert!(!Arc::ptr_eq(&same(&first, "demo_add"), &same(&second, "demo_add")), "changed: replaced");
    }

    #[test]
    fn a_list_is_the_same_only_for_the_very_same_pages() {
        let set =
            BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp"},{"id":"b","url":"http://h/mcp"}]}"#)
                .unwrap();
        let (a, b) = (set.get("a").unwrap().clone(), set.get("b").unwrap().clone());
        let page = Arc::new(serde_json::json!({"tools": [{"name": "echo"}]}));
        let listed = Listed { listings: vec![(a.clone(), Some(vec![page.clone()])), (b.clone(), None)], items: vec![] };
        assert!(listed.built_from(&[(a.clone(), Some(vec![page.clone()])), (b.clone(), None)]));
        // Fetched again (expired, list_changed): equal content, another page.
        let refetched = Arc::new((*page).clone());
        assert!(!listed.built_from(&[(a.clone(), Some(vec![refetched])), (b.clone(), None)]));
        // A backend that answers now, or no longer (failure, open breaker); one page more; another backend.
        assert!(!listed.built_from(&[(a.clone(), Some(vec![page.clone()])), (b.clone(), Some(vec![]))]));
        assert!(!listed.built_from(&[(a.clone(), None), (b.clone(), None)]));
        assert!(!listed.built_from(&[(a.clone(), Some(vec![page.clone(), page.clone()])), (b.clone(), None)]));
        assert!(!listed.built_from(&[(b.clone(), Some(vec![page.clone()])), (a.clone(), None)]));
        assert!(!listed.built_from(&[(a, Some(vec![page]))]));
    }
}
