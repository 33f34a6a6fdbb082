//! The authenticated caller, as every later stage (sessions, scopes, audit) sees it.
//!
//! A principal id is namespaced by how the caller authenticated, and for JWTs by the issuer:
//! `key:<api key id>`, `jwt:<issuer tag>:<sub>`, `anonymous`. Everything keyed by a principal (sessions,
//! the PII vault, rate limits, backend sessions of stateless callers) therefore keeps callers of one
//! mode or issuer apart from those of another: a JWT whose `sub` equals an API key id, or a token of a
//! previously trusted issuer with the same `sub`, shares nothing with that key or that other subject.

use sha2::{Digest, Sha256};

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
    /// Stable, namespaced id (`key:<id>`, `jwt:<issuer tag>:<sub>`, or `anonymous`). Never a credential.
    /// Sessions, vaults and limits are keyed by it.
    pub id: String,
    /// What the caller may do.
    pub scopes: Scopes,
    pub kind: PrincipalKind,
}

/// Longest JWT `sub` accepted: the id ends up in store keys (DynamoDB allows 2048 bytes per key).
pub const MAX_SUBJECT_BYTES: usize = 255;

impl Principal {
    /// The principal of the API key `key_id`.
    pub fn api_key(key_id: &str, scopes: Scopes) -> Self {
        Self { id: format!("key:{key_id}"), scopes, kind: PrincipalKind::ApiKey }
    }

    /// The principal of subject `sub` as asserted by `issuer`: the issuer is part of the id (16 hex
    /// digits of its SHA-256, a fixed length, so no issuer/sub split can be ambiguous).
    pub fn jwt(issuer: &str, sub: &str, scopes: Scopes) -> Self {
        let tag = hex::encode(&Sha256::digest(issuer.as_bytes())[..8]);
        Self { id: format!("jwt:{tag}:{sub}"), scopes, kind: PrincipalKind::Jwt }
    }

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
