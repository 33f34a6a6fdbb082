//! What a principal may do. Scopes are plain strings `<namespace>:<name>`.
//!
//! Backend items (tools, prompts, resources, and the completions and log levels that reach a backend)
//! are authorized by **the backend they belong to**, never by how their exposed name reads: a name
//! renamed after a collision (`demo_echo-1a2b3c4d` from backend `collide`) belongs to `collide`, so no
//! grant written for backend `demo` covers it. See [`Scopes::may_reach`].
//!
//! | grant | covers |
//! |---|---|
//! | `*`, `mcp:*` | everything |
//! | `backend:<id>` | every tool, prompt and resource of backend `<id>` (and completions and log levels there) |
//! | `backend:*` | every backend item |
//! | `tool:<exposed name>` | the tool exposed under exactly that name |
//! | `tool:<prefix><separator>*` | every tool of the backend exposed with that prefix (`tool:gh_*`: backend prefix `gh`, separator `_`) |
//! | `tool:*`, `tool:call` | every backend tool |
//! | `prompt:<exposed name>`, `prompt:<prefix><separator>*`, `prompt:*` | the same for prompts |
//! | `resource:<backend id>` | every resource and resource template of that backend |
//! | `resource:*` | every resource |
//! | `gateway:<name>`, `gateway:call` | the gateway's own tool `<name>` / every gateway tool |
//! | `gateway:health`, `gateway:metrics` | the detailed health view (`/mcp/health`), the full metrics exposition |
//! | `gateway:*` | every `gateway:` scope except `gateway:admin` |
//! | `gateway:admin` | the admin API (`/admin/api/*`): granted only by itself and `*` |
//! | `code:execute` | code execution |
//! | `pii:raw` | untokenized results on request |
//!
//! A prefix wildcard names a backend by its whole exposure prefix and separator; it never matches part
//! of a name. An unprefixed backend (`"prefix": ""`) has no prefix to name: its tools and prompts need
//! exact names, `backend:<id>`, or a grant on every backend. Other wildcard shapes in the item
//! namespaces (`tool:demo*` without the separator, `tool:gh_issue*`) grant nothing.

use std::collections::BTreeSet;

/// Scope required by the admin API. Only `*` or `gateway:admin` itself grant it: not `gateway:call`,
/// `gateway:*`, `gateway:a*` nor `mcp:*`. Operating the gateway (adding backends, minting keys) is a
/// different power from using it, so no grant written for using it may reach it by accident.
pub const GATEWAY_ADMIN: &str = "gateway:admin";

/// Scope required to run code.
pub const CODE_EXECUTE: &str = "code:execute";

/// The namespaces whose scopes name backend items: checked by backend ([`Scopes::may_reach`]), never by
/// a text prefix.
const ITEM_NAMESPACES: [&str; 4] = ["tool", "prompt", "resource", "backend"];

/// What kind of backend item an authorization is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Tool,
    Prompt,
    /// A resource or resource template (also a completion of a resource argument).
    Resource,
}

impl ItemKind {
    fn namespace(self) -> &'static str {
        match self {
            ItemKind::Tool => "tool",
            ItemKind::Prompt => "prompt",
            ItemKind::Resource => "resource",
        }
    }
}

/// A backend item as the scope check sees it: which backend owns it, and the name the client sees.
#[derive(Debug, Clone, Copy)]
pub struct BackendItem<'a> {
    pub kind: ItemKind,
    /// The owning backend's id.
    pub backend: &'a str,
    /// The owning backend's exposure prefix followed by the separator (`gh_`); empty for an unprefixed
    /// backend.
    pub prefix: &'a str,
    /// The exposed name of a tool or prompt (ignored for resources, whose URIs name no backend).
    pub exposed: &'a str,
}

/// The scopes granted to one principal. Ordered, so logs and tests are deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// No scope at all: authenticated, but may call nothing that needs a scope.
    pub fn none() -> Self {
        Self::default()
    }

    /// Everything (`*`). Only for the unauthenticated mode explicitly opted into with `ALLOW_INSECURE`.
    pub fn all() -> Self {
        Self::from_iter(["*"])
    }

    /// Parses an OAuth `scope` string (space-separated, RFC 6749 §3.3).
    pub fn from_space_separated(value: &str) -> Self {
        Self::from_iter(value.split_ascii_whitespace())
    }

    /// Adds the grants of `other`.
    pub fn extend(&mut self, other: Scopes) {
        self.0.extend(other.0);
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the principal holds the gateway scope `required` (`code:execute`, `pii:raw`,
    /// `gateway:health`, …). Never true for a backend item's namespace: those are decided by
    /// [`Scopes::may_reach`], which knows the item's backend.
    pub fn allows(&self, required: &str) -> bool {
        // A required scope is always `<ns>:<name>` with a non-empty name; anything else is a caller bug
        // and must not be satisfiable by accident (e.g. "" matching a wildcard).
        let Some((namespace, name)) = required.split_once(':') else {
            return false;
        };
        if namespace.is_empty() || name.is_empty() || ITEM_NAMESPACES.contains(&namespace) {
            return false;
        }
        if required == GATEWAY_ADMIN {
            return self.0.iter().any(|grant| grant == "*" || grant == GATEWAY_ADMIN);
        }
        self.0.iter().any(|grant| grant_covers(grant, required))
    }

    /// Whether the principal may see and use `item`. Decided by the backend the item belongs to and,
    /// for exact grants, by its exposed name as a whole; never by a text prefix of that name.
    pub fn may_reach(&self, item: &BackendItem<'_>) -> bool {
        let namespace = item.kind.namespace();
        self.0.iter().any(|grant| {
            if self.covers_backend(grant, item.backend) {
                return true;
            }
            let Some(rest) = grant.strip_prefix(namespace).and_then(|g| g.strip_prefix(':')) else {
                return false;
            };
            match item.kind {
                ItemKind::Resource => rest == "*" || rest == item.backend,
                ItemKind::Tool | ItemKind::Prompt => {
                    rest == "*"
                        || (item.kind == ItemKind::Tool && rest == "call")
                        || rest == item.exposed
                        || (!item.prefix.is_empty() && rest.strip_suffix('*') == Some(item.prefix))
                }
            }
        })
    }

    /// Whether some grant covers items of the backend `backend` (exposure prefix with separator
    /// `prefix`, empty when unprefixed) without naming single items: every backend, the backend itself,
    /// or a kind-wide or prefix wildcard of it. Exact item names are not considered (see
    /// [`Scopes::item_names`]).
    pub fn may_reach_backend(&self, backend: &str, prefix: &str) -> bool {
        self.0.iter().any(|grant| {
            self.covers_backend(grant, backend)
                || matches!(grant.as_str(), "tool:*" | "tool:call" | "prompt:*" | "resource:*")
                || grant.strip_prefix("resource:") == Some(backend)
                || (!prefix.is_empty()
                    && ["tool:", "prompt:"]
                        .iter()
                        .any(|ns| grant.strip_prefix(ns).and_then(|r| r.strip_suffix('*')) == Some(prefix)))
        })
    }

    /// The exposed names of the tools and prompts granted one by one (`tool:<name>`, `prompt:<name>`).
    pub fn item_names(&self) -> impl Iterator<Item = &str> {
        self.iter().filter_map(|grant| {
            let name = grant.strip_prefix("tool:").or_else(|| grant.strip_prefix("prompt:"))?;
            (!name.ends_with('*') && name != "call").then_some(name)
        })
    }

    fn covers_backend(&self, grant: &str, backend: &str) -> bool {
        matches!(grant, "*" | "mcp:*" | "backend:*") || grant.strip_prefix("backend:") == Some(backend)
    }

    /// Whether the principal may call the gateway's own tool `name` (`gateway:<name>`, or `gateway:call`
    /// for every gateway tool).
    pub fn may_call_gateway_tool(&self, name: &str) -> bool {
        self.allows(&gateway_scope(name)) || self.0.contains("gateway:call")
    }
}

impl<S: Into<String>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).filter(|s: &String| !s.is_empty()).collect())
    }
}

/// The scope a call to the gateway tool `name` requires.
pub fn gateway_scope(name: &str) -> String {
    format!("gateway:{name}")
}

fn grant_covers(grant: &str, required: &str) -> bool {
    if grant == "*" || grant == "mcp:*" || grant == required {
        return true;
    }
    // A trailing `*` is a wildcard only after a namespace (`gateway:*`): a bare `to*` is a literal that
    // matches nothing, so a typo never widens a grant across namespaces.
    match grant.strip_suffix('*') {
        Some(prefix) if prefix.contains(':') => required.starts_with(prefix),
        _ => false,
    }
}

#[cfg(test)]
#[path = "scopes_tests.rs"]
mod tests;
