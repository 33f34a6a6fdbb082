//! Whose PII vault a request uses. Tokens minted in one scope never resolve in another, so the scope is
//! part of every vault key and of the associated data its entries are sealed with.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VaultScope {
    /// A legacy-era client session: its vault ends with the session.
    Session(String),
    /// A caller without a session (2026-07-28 requests, `/api/code`): the principal's own vault.
    Principal(String),
}

impl VaultScope {
    /// The scope's key in the vault store (`session:<id>` / `principal:<id>`).
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for VaultScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaultScope::Session(id) => write!(f, "session:{id}"),
            VaultScope::Principal(id) => write!(f, "principal:{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_and_principal_scopes_never_share_a_key() {
        let (s, p) = (VaultScope::Session("x".into()), VaultScope::Principal("x".into()));
        assert_ne!(s.key(), p.key());
        assert_eq!(s.key(), "session:x");
    }
}
