//! The tools disabled gateway-wide (stored through the admin API), as this instance applies them. A
//! disabled tool is left out of every listing and refused like an unknown one (no oracle), for every
//! caller and every entry point (`/mcp` in both eras, `/api/code`).

use std::{
    collections::BTreeSet,
    sync::{Arc, RwLock},
};

#[derive(Default)]
pub struct DisabledTools {
    names: RwLock<Arc<BTreeSet<String>>>,
}

impl DisabledTools {
    pub fn contains(&self, exposed: &str) -> bool {
        self.names.read().unwrap_or_else(|p| p.into_inner()).contains(exposed)
    }

    pub fn snapshot(&self) -> Arc<BTreeSet<String>> {
        self.names.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the set; whether it changed.
    pub fn replace(&self, next: BTreeSet<String>) -> bool {
        let mut names = self.names.write().unwrap_or_else(|p| p.into_inner());
        if **names == next {
            return false;
        }
        *names = Arc::new(next);
        true
    }
}
