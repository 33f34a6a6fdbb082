//! Who is calling and what they may do. Every request is authenticated on its own; a session id never
//! authenticates.
//!
//! - `config`: `AUTH_MODE` (`none` | `api-key` | `oauth`) and its settings, parsed at cold start.
//! - `authenticator`: headers → `Principal`, per mode; holds the cached API keys and JWKS.
//! - `api_key`: hashed keys in Secrets Manager, refreshed on a TTL, compared in constant time.
//! - `jwt`: OAuth 2.1 resource server (JWKS, pinned algorithms, `iss`/`aud`/`exp`/`nbf`).
//! - `scopes`: backend items authorized by their backend (`tool:`, `prompt:`, `resource:`, `backend:`),
//!   and the gateway's own scopes (`gateway:<name>`, `code:execute`, `pii:raw`, `gateway:admin`).
//! - `metadata`: RFC 9728 protected-resource metadata, pointed at by every 401.

pub mod api_key;
mod authenticator;
mod config;
mod error;
pub mod jwt;
pub mod metadata;
mod principal;
mod scopes;
#[cfg(test)]
pub(crate) mod testing;

pub use api_key::{KeyAdmin, KeyError, KeyFile, KeySource, MemoryKeySecret, MemoryKeySource, SecretsManagerKeySource};
pub use authenticator::Authenticator;
pub use config::{AuthConfig, AuthConfigError, AuthMode, OAuthConfig};
pub use error::{AuthError, InvalidReason};
pub use jwt::JwksClient;
pub use principal::{Principal, PrincipalKind};
pub use scopes::{gateway_scope, BackendItem, ItemKind, Scopes, CODE_EXECUTE, GATEWAY_ADMIN};
