//! Which backend owns a resource URI. Resources keep their URIs through the gateway, so ownership is
//! learned from list results (and from successful reads) and kept per instance; a miss falls back to
//! asking every backend, which is always correct, only slower.

use std::{sync::RwLock, time::Duration};

use crate::cache::TtlCache;

/// Bound on remembered URIs and templates.
const MAX_URIS: usize = 50_000;
/// How long an ownership is trusted: a resource may move to another backend after a redeploy, and a
/// stale owner only costs one failed read before every backend is asked again.
const OWNERSHIP_TTL: Duration = Duration::from_secs(3600);

pub struct ResourceOwners {
    uris: TtlCache<String, String>,
    templates: RwLock<Vec<(String, String)>>,
}

impl Default for ResourceOwners {
    fn default() -> Self {
        Self { uris: TtlCache::new(OWNERSHIP_TTL, MAX_URIS), templates: RwLock::default() }
    }
}

impl ResourceOwners {
    pub fn learn_uri(&self, uri: &str, backend: &str) {
        self.uris.insert(uri.to_owned(), backend.to_owned());
    }

    /// Forgets what is known of `backend` (it was removed or changed).
    pub fn forget_backend(&self, backend: &str) {
        self.uris.retain(|_, owner| owner != backend);
        self.templates.write().unwrap_or_else(|p| p.into_inner()).retain(|(_, owner)| owner != backend);
    }

    pub fn learn_template(&self, template: &str, backend: &str) {
        let mut templates = self.templates.write().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = templates.iter_mut().find(|(t, _)| t == template) {
            entry.1 = backend.to_owned();
        } else if templates.len() < MAX_URIS {
            templates.push((template.to_owned(), backend.to_owned()));
        }
    }

    /// The owning backend id, from an exact URI or else from a matching template.
    pub fn owner_of(&self, uri: &str) -> Option<String> {
        if let Some(owner) = self.uris.get(uri) {
            return Some(owner);
        }
        let templates = self.templates.read().unwrap_or_else(|p| p.into_inner());
        templates.iter().find(|(t, _)| t == uri || template_matches(t, uri)).map(|(_, b)| b.clone())
    }
}

/// Level-1 RFC 6570 matching: the literal parts in order, each `{var}` standing for one or more
/// characters.
fn template_matches(template: &str, uri: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return false;
        };
        literals.push(&rest[..open]);
        rest = &rest[open + close + 1..];
    }
    literals.push(rest);
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    if literals.len() == 1 || !uri.starts_with(first) || !uri.ends_with(last) {
        return false;
    }
    let end = uri.len() - last.len();
    let mut pos = first.len();
    for literal in &literals[1..literals.len() - 1] {
        // At least one character for the variable before this literal.
        match uri.get(pos + 1..end).and_then(|s| s.find(literal)) {
            Some(i) => pos = pos + 1 + i + literal.len(),
            None => return false,
        }
    }
    end > pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_literals_in_order() {
        assert!(template_matches("test://template/{id}/data", "test://template/42/data"));
        assert!(!template_matches("test://template/{id}/data", "test://template//data"));
        assert!(!template_matches("test://template/{id}/data", "test://other/42/data"));
        assert!(template_matches("demo://users/{user_id}", "demo://users/ada"));
        assert!(template_matches("x://{a}/{b}", "x://1/2"));
        assert!(!template_matches("x://{a}/{b}", "x://1/"));
        assert!(!template_matches("x://plain", "x://plain"));
    }

    #[test]
    fn exact_uris_win_over_templates() {
        let owners = ResourceOwners::default();
        owners.learn_template("demo://users/{id}", "demo");
        owners.learn_uri("demo://users/root", "admin");
        assert_eq!(owners.owner_of("demo://users/root").as_deref(), Some("admin"));
        assert_eq!(owners.owner_of("demo://users/ada").as_deref(), Some("demo"));
        assert_eq!(owners.owner_of("other://x"), None);
    }
}
