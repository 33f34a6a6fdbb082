//! The authenticated caller, as every later stage (sessions, scopes, audit) sees it.

use super::{AuthError, Scopes};

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An API key from the key secret.
    ApiKey,
    /// A JWT verified against the issuer's JWKS.
    Jwt,
    /// Nobody: auth mode `none`.
    Anonymous,
}

/// The authenticated caller. Every request is authenticated on its own; a session id never authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable id (API key id, JWT `sub`, or `anonymous`). Never a credential. Sessions are bound to it.
    pub id: String,
    /// What the caller may do.
    pub scopes: Scopes,
    pub kind: PrincipalKind,
}

impl Principal {
    /// The unauthenticated caller, with no scope. Only the `none` + `ALLOW_INSECURE` mode hands out an
    /// anonymous principal with every scope (see `Authenticator`).
    pub fn anonymous() -> Self {
        Self { id: "anonymous".into(), scopes: Scopes::none(), kind: PrincipalKind::Anonymous }
    }

    /// `Ok` if the principal holds `scope`, else the 403 `insufficient_scope` error naming it. Not for
    /// backend tools: a tool the caller may not call must look unknown (`Scopes::may_call_tool`).
    pub fn require(&self, scope: &str) -> Result<(), AuthError> {
        if self.scopes.allows(scope) {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope { scope: scope.to_owned() })
        }
    }
}
