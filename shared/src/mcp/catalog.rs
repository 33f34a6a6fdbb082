//! Which tools each backend really has, per instance with a short TTL. A call is routed only to a tool
//! the backend listed: an unknown name is a protocol error (-32602) from the gateway, whatever the
//! backend would have done with it, and a warm call costs no extra round-trip.

use std::{
    collections::{HashMap, HashSet},
    sync::RwLock,
    time::{Duration, Instant},
};

const FRESH_FOR: Duration = Duration::from_secs(60);

#[derive(Default)]
pub struct ToolCatalog {
    backends: RwLock<HashMap<String, (Instant, HashSet<String>)>>,
}

impl ToolCatalog {
    /// `Some(true)` if `backend` listed `tool` recently; `None` if there is no fresh listing, or the tool
    /// was missing from it (it may have been added since).
    pub fn has(&self, backend: &str, tool: &str) -> Option<bool> {
        let backends = self.backends.read().unwrap_or_else(|p| p.into_inner());
        let (at, tools) = backends.get(backend)?;
        (at.elapsed() < FRESH_FOR && tools.contains(tool)).then_some(true)
    }

    /// Records a complete listing of `backend`'s tools.
    pub fn remember(&self, backend: &str, tools: HashSet<String>) {
        let mut backends = self.backends.write().unwrap_or_else(|p| p.into_inner());
        backends.insert(backend.to_owned(), (Instant::now(), tools));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_tools_are_known_and_others_are_not() {
        let catalog = ToolCatalog::default();
        assert_eq!(catalog.has("demo", "echo"), None);
        catalog.remember("demo", HashSet::from(["echo".to_owned()]));
        assert_eq!(catalog.has("demo", "echo"), Some(true));
        assert_eq!(catalog.has("demo", "nope"), None);
        assert_eq!(catalog.has("other", "echo"), None);
    }
}
