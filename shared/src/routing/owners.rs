//! Which backend owns a resource URI. Resources keep their URIs through the gateway, so ownership is
//! learned from list results (and from successful reads) and kept per instance; a miss falls back to
//! asking every backend, which is always correct, only slower.
//!
//! The map is shared by every caller of the instance, so what one caller's request teaches it must not
//! depend on who asked or in which order: when two backends offer the same URI (or template), the one
//! listed first in the configuration owns it, whichever was seen first. (The MCP layer also learns only
//! from views that cover every backend.)

use std::{sync::RwLock, time::Duration};

use crate::{backend::BackendSet, cache::TtlCache};

/// Bound on remembered URIs and templates.
const MAX_URIS: usize = 50_000;
/// Longer URIs and templates are not remembered (they are still served, by asking every backend): a
/// backend listing huge URIs must not fill the instance's memory.
const MAX_URI_BYTES: usize = 2048;
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

/// Whether `candidate` comes before `known` in the configuration (a backend no longer configured never
/// keeps an ownership).
fn precedes(set: &BackendSet, candidate: &str, known: &str) -> bool {
    let position = |id: &str| set.iter().position(|b| b.id == id);
    match (position(candidate), position(known)) {
        (Some(c), Some(k)) => c < k,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

impl ResourceOwners {
    /// Records that `backend` offers `uri`, unless a backend listed before it in `set` already does.
    pub fn learn_uri(&self, uri: &str, backend: &str, set: &BackendSet) {
        if uri.len() > MAX_URI_BYTES {
            return;
        }
        if self.uris.get(uri).is_some_and(|known| known != backend && !precedes(set, backend, &known)) {
            return;
        }
        self.uris.insert(uri.to_owned(), backend.to_owned());
    }

    /// Forgets what is known of `backend` (it was removed or changed).
    pub fn forget_backend(&self, backend: &str) {
        self.uris.retain(|_, owner| owner != backend);
        self.templates.write().unwrap_or_else(|p| p.into_inner()).retain(|(_, owner)| owner != backend);
    }

    /// Records that `backend` offers `template`, with the same precedence as [`Self::learn_uri`].
    pub fn learn_template(&self, template: &str, backend: &str, set: &BackendSet) {
        if template.len() > MAX_URI_BYTES {
            return;
        }
        let mut templates = self.templates.write().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = templates.iter_mut().find(|(t, _)| t == template) {
            if entry.1 != backend && precedes(set, backend, &entry.1) {
                entry.1 = backend.to_owned();
            }
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

    fn set() -> BackendSet {
        BackendSet::from_json(
            r#"{"backends":[{"id":"admin","url":"http://h/mcp"},{"id":"demo","url":"http://h/mcp"},
                {"id":"late","url":"http://h/mcp"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn exact_uris_win_over_templates() {
        let (owners, set) = (ResourceOwners::default(), set());
        owners.learn_template("demo://users/{id}", "demo", &set);
        owners.learn_uri("demo://users/root", "admin", &set);
        assert_eq!(owners.owner_of("demo://users/root").as_deref(), Some("admin"));
        assert_eq!(owners.owner_of("demo://users/ada").as_deref(), Some("demo"));
        assert_eq!(owners.owner_of("other://x"), None);
    }

    #[test]
    fn the_backend_listed_first_owns_a_shared_uri_whatever_the_order_it_was_seen_in() {
        let (owners, set) = (ResourceOwners::default(), set());
        owners.learn_uri("x://shared", "demo", &set);
        owners.learn_uri("x://shared", "late", &set);
        assert_eq!(owners.owner_of("x://shared").as_deref(), Some("demo"));
        owners.learn_uri("x://shared", "admin", &set);
        assert_eq!(owners.owner_of("x://shared").as_deref(), Some("admin"));
        owners.learn_template("x://t/{id}", "late", &set);
        owners.learn_template("x://t/{id}", "demo", &set);
        owners.learn_template("x://t/{id}", "late", &set);
        assert_eq!(owners.owner_of("x://t/1").as_deref(), Some("demo"));
    }

    #[test]
    fn huge_uris_are_not_remembered() {
        let (owners, set) = (ResourceOwners::default(), set());
        let huge = format!("x://{}", "a".repeat(MAX_URI_BYTES));
        owners.learn_uri(&huge, "demo", &set);
        owners.learn_template(&format!("{huge}/{{id}}"), "demo", &set);
        assert_eq!(owners.owner_of(&huge), None);
    }
}
