//! What a principal may do. Scopes are plain strings `<namespace>:<name>`; grants may end in `*`.
//!
//! Required scopes used by the gateway:
//! - `tool:<exposed name>` for a backend tool, also granted by `tool:call`;
//! - `gateway:<name>` for a gateway meta-tool, also granted by `gateway:call`;
//! - `code:execute` for code execution;
//! - `gateway:admin` for the admin API (`/admin/api/*`). Only `*` or `gateway:admin` itself grant it: not
//!   `gateway:call`, `gateway:*`, `gateway:a*` nor `mcp:*`. Operating the gateway (adding backends, minting
//!   keys) is a different power from using it, so no grant written for using it may reach it by accident.
//!
//! Grants: `*` and `mcp:*` (everything), `<ns>:*` (a whole namespace, e.g. `tool:*`), a prefix wildcard
//! inside a namespace (`tool:gh_*`: every tool of the backend exposed with prefix `gh_`, the per-key
//! backend allowlist), or the exact scope.

use std::collections::BTreeSet;

/// Scope required to run code.
pub const CODE_EXECUTE: &str = "code:execute";
/// Scope required by the admin API; granted only by itself and `*`.
pub const GATEWAY_ADMIN: &str = "gateway:admin";

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

    /// Whether any grant covers `required`.
    pub fn allows(&self, required: &str) -> bool {
        // A required scope is always `<ns>:<name>` with a non-empty name; anything else is a caller bug
        // and must not be satisfiable by accident (e.g. "" matching a wildcard).
        let Some((namespace, name)) = required.split_once(':') else {
            return false;
        };
        if namespace.is_empty() || name.is_empty() {
            return false;
        }
        if required == GATEWAY_ADMIN {
            return self.0.iter().any(|grant| grant == "*" || grant == GATEWAY_ADMIN);
        }
        let implied = match namespace {
            "tool" => Some("tool:call"),
            "gateway" => Some("gateway:call"),
            _ => None,
        };
        self.0.iter().any(|grant| grant_covers(grant, required) || implied == Some(grant.as_str()))
    }

    /// Whether the principal may call (and therefore see in `tools/list`) the backend tool exposed under
    /// `exposed_name`.
    pub fn may_call_tool(&self, exposed_name: &str) -> bool {
        self.allows(&tool_scope(exposed_name))
    }

    /// Whether the principal may call the gateway's own meta-tool `name`.
    pub fn may_call_gateway_tool(&self, name: &str) -> bool {
        self.allows(&gateway_scope(name))
    }
}

impl<S: Into<String>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).filter(|s: &String| !s.is_empty()).collect())
    }
}

/// The scope a call to the backend tool exposed as `exposed_name` requires.
pub fn tool_scope(exposed_name: &str) -> String {
    format!("tool:{exposed_name}")
}

/// The scope a call to the gateway meta-tool `name` requires.
pub fn gateway_scope(name: &str) -> String {
    format!("gateway:{name}")
}

fn grant_covers(grant: &str, required: &str) -> bool {
    if grant == "*" || grant == "mcp:*" || grant == required {
        return true;
    }
    // A trailing `*` is a wildcard only after a namespace (`tool:*`, `tool:gh_*`): a bare `to*` is a
    // literal that matches nothing, so a typo never widens a grant across namespaces.
    match grant.strip_suffix('*') {
        Some(prefix) if prefix.contains(':') => required.starts_with(prefix),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(grants: &[&str]) -> Scopes {
        grants.iter().copied().collect()
    }

    #[test]
    fn star_and_mcp_star_grant_everything() {
        for grant in ["*", "mcp:*"] {
            let s = scopes(&[grant]);
            assert!(s.may_call_tool("demo_add"), "{grant}");
            assert!(s.may_call_gateway_tool("search"), "{grant}");
            assert!(s.allows(CODE_EXECUTE), "{grant}");
        }
    }

    #[test]
    fn namespace_wildcard_stays_in_its_namespace() {
        let s = scopes(&["tool:*"]);
        assert!(s.may_call_tool("demo_add"));
        assert!(!s.may_call_gateway_tool("search"));
        assert!(!s.allows(CODE_EXECUTE));
    }

    #[test]
    fn call_grants_cover_every_name_of_their_namespace() {
        let s = scopes(&["tool:call"]);
        assert!(s.may_call_tool("everything_echo"));
        assert!(!s.may_call_gateway_tool("search"));
        let s = scopes(&["gateway:call"]);
        assert!(s.may_call_gateway_tool("search"));
        assert!(!s.may_call_tool("everything_echo"));
    }

    #[test]
    fn exact_grant_allows_only_that_tool() {
        let s = scopes(&["tool:demo_add"]);
        assert!(s.may_call_tool("demo_add"));
        assert!(!s.may_call_tool("demo_add2"));
        assert!(!s.may_call_tool("demo_ad"));
        assert!(!s.may_call_tool("DEMO_ADD"));
    }

    #[test]
    fn prefix_wildcard_is_a_backend_allowlist() {
        let s = scopes(&["tool:gh_*"]);
        assert!(s.may_call_tool("gh_search"));
        assert!(!s.may_call_tool("demo_add"));
    }

    #[test]
    fn wildcard_without_namespace_is_literal() {
        let s = scopes(&["to*", "tool", "code"]);
        assert!(!s.may_call_tool("demo_add"));
        assert!(!s.allows(CODE_EXECUTE));
    }

    #[test]
    fn malformed_requirements_are_never_satisfied() {
        let s = scopes(&["*"]);
        for required in ["", "tool", "tool:", ":x"] {
            assert!(!s.allows(required), "{required:?}");
        }
    }

    #[test]
    fn only_star_and_the_exact_scope_grant_admin() {
        for grant in ["*", GATEWAY_ADMIN] {
            assert!(scopes(&[grant]).allows(GATEWAY_ADMIN), "{grant}");
        }
        for grant in ["mcp:*", "gateway:*", "gateway:call", "gateway:a*", "gateway:admin*", "tool:call", "admin"] {
            assert!(!scopes(&[grant]).allows(GATEWAY_ADMIN), "{grant}");
        }
        // And holding it grants nothing else.
        let admin = scopes(&[GATEWAY_ADMIN]);
        assert!(!admin.may_call_tool("demo_add") && !admin.allows(CODE_EXECUTE));
    }

    #[test]
    fn no_scopes_allow_nothing() {
        assert!(!Scopes::none().may_call_tool("demo_add"));
        assert!(!Scopes::none().allows(CODE_EXECUTE));
    }

    #[test]
    fn space_separated_scope_claim_is_split() {
        let s = Scopes::from_space_separated(" tool:a  code:execute\tgateway:call ");
        assert_eq!(s.iter().collect::<Vec<_>>(), ["code:execute", "gateway:call", "tool:a"]);
    }
}
