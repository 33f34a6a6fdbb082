//! The exact-lookup index of exposed names (tools and prompts), per instance and per protocol era:
//! exposed name → (backend, the backend's own name, its compiled input schema). The MCP layer builds it
//! from complete listings of every backend (their pages come from the instance's list cache) and uses it
//! for as long as those listings are cached. A call is routed only to a name the index holds (or, for a
//! backend that asks for it, to that backend's unlisted names); names are never split at the separator
//! to find their backend. A backend may offer each era a different catalog, so each era has its own
//! index, its own settled names and its own collisions.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, RwLock},
    time::Duration,
};

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
    pub built: Instant,
    pub routes: HashMap<String, Route>,
    pub collisions: Vec<Collision>,
    /// Backends whose listing failed (or whose breaker is open) when the index was built: their names
    /// are missing, so a call to one of them is "unavailable", not "unknown".
    pub unavailable: HashSet<String>,
}

#[derive(Default)]
pub struct ToolCatalog {
    /// Keyed by list family ("tools" or "prompts") and the era of the clients it serves.
    indexes: RwLock<HashMap<(&'static str, Era), Arc<Index>>>,
}

impl ToolCatalog {
    /// The index of `family` for clients of `era`, if built within `max_age`.
    pub fn fresh(&self, family: &'static str, era: Era, max_age: Duration) -> Option<Arc<Index>> {
        let indexes = self.indexes.read().unwrap_or_else(|p| p.into_inner());
        indexes.get(&(family, era)).filter(|i| i.built.elapsed() < max_age).cloned()
    }

    /// Replaces the index of `family` for `era` with one built from `exposure`, with the tools' schemas.
    pub fn record(
        &self,
        family: &'static str,
        era: Era,
        exposure: &Exposure,
        unavailable: HashSet<String>,
        mut schemas: HashMap<String, Arc<ToolSchema>>,
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
        let index =
            Arc::new(Index { built: Instant::now(), routes, collisions: exposure.collisions.clone(), unavailable });
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
        catalog.record("tools", Era::Legacy, &exposure, HashSet::from(["other".to_owned()]), HashMap::new());
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
        );
        let second = catalog.record(
            "tools",
            Era::Legacy,
            &exposure,
            HashSet::new(),
            [schema("demo_echo", "string"), schema("demo_add", "string")].into(),
        );
        let same = |i: &Index, n: &str| i.routes[n].schema.clone().unwrap();
        assert!(Arc::ptr_eq(&same(&first, "demo_echo"), &same(&second, "demo_echo")), "unchanged: reused");
        assert!(!Arc::ptr_eq(&same(&first, "demo_add"), &same(&second, "demo_add")), "changed: replaced");
    }
}
