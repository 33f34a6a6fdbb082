//! How backend names (tools, prompts) are exposed to clients and mapped back.
//!
//! Exposed name = `<prefix><separator><name>`, or `<name>` for a backend with an empty prefix. Resolving
//! picks the backend with the longest matching prefix, so overlapping prefixes (`a`, `a_b`) resolve
//! deterministically rather than by configuration order.

use std::sync::Arc;

use super::{Backend, BackendSet};

/// A client-visible name mapped back to its backend.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub backend: Arc<Backend>,
    /// The backend's own name for the item.
    pub name: String,
}

impl BackendSet {
    /// The name a client sees for `name` of `backend`.
    pub fn expose(&self, backend: &Backend, name: &str) -> String {
        if backend.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}{}{}", backend.prefix, self.separator, name)
        }
    }

    /// The backend and original name behind an exposed name, if any backend's prefix matches.
    pub fn resolve(&self, exposed: &str) -> Option<Resolved> {
        self.iter()
            .filter_map(|b| {
                let rest = if b.prefix.is_empty() {
                    exposed
                } else {
                    exposed.strip_prefix(b.prefix.as_str())?.strip_prefix(self.separator.as_str())?
                };
                (!rest.is_empty()).then(|| (b.prefix.len(), Resolved { backend: b.clone(), name: rest.to_owned() }))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, r)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> BackendSet {
        BackendSet::from_json(
            r#"{"backends":[
                {"id":"plain","url":"http://h/mcp","prefix":""},
                {"id":"a","url":"http://h/mcp","prefix":"a"},
                {"id":"ab","url":"http://h/mcp","prefix":"a_b"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn expose_and_resolve_round_trip() {
        let set = set();
        for b in set.iter() {
            let exposed = set.expose(b, "echo");
            let r = set.resolve(&exposed).unwrap();
            assert_eq!((r.backend.id.as_str(), r.name.as_str()), (b.id.as_str(), "echo"));
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let r = set().resolve("a_b_tool").unwrap();
        assert_eq!((r.backend.id.as_str(), r.name.as_str()), ("ab", "tool"));
        let r = set().resolve("a_tool").unwrap();
        assert_eq!(r.backend.id, "a");
    }

    #[test]
    fn unprefixed_names_fall_to_the_empty_prefix_backend_or_nowhere() {
        assert_eq!(set().resolve("test_simple_text").unwrap().backend.id, "plain");
        let only_prefixed = BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp"}]}"#).unwrap();
        assert!(only_prefixed.resolve("b_tool").is_none());
        assert!(only_prefixed.resolve("a_").is_none());
    }
}
