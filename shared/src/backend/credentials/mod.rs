//! Each backend's own credential: a static bearer token or API-key header, or an OAuth 2.0
//! client-credentials token. Values live in Secrets Manager (referenced by name or ARN in the
//! backend's `auth` object), are loaded on first use and cached with a TTL, never per request.
//!
//! The client's own `Authorization` header is never involved: the gateway authenticates to a backend
//! only as itself (MCP forbids token passthrough).

mod memory;
mod oauth;
mod provider;
mod scope;
mod secrets_manager;

use async_trait::async_trait;
use http::HeaderName;
use serde::Deserialize;

use super::guard::NetworkPolicy;

pub use memory::MemorySecretSource;
pub use provider::BackendCredentials;
pub use scope::{SecretScope, DEFAULT_PREFIX as DEFAULT_SECRETS_PREFIX};
pub use secrets_manager::SecretsManagerSource;

/// A secret value. `Debug` never shows it.
#[derive(Clone)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(..)")
    }
}

/// Why a backend credential could not be produced. Messages name the secret or the endpoint, never a
/// value.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("secret {0:?} could not be read")]
    Unavailable(String, #[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("secret {0:?} is empty or not a valid header value")]
    Invalid(String),
    #[error("token endpoint refused the client credentials: {0}")]
    Token(String),
    #[error("credential unavailable after a recent failure; retrying shortly")]
    Backoff,
}

/// Where secret values come from (Secrets Manager in production, memory in tests).
#[async_trait]
pub trait SecretSource: Send + Sync {
    async fn secret(&self, id: &str) -> Result<SecretValue, CredentialError>;
}

/// How the gateway authenticates to one backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `header: <secret>`, or `Authorization: Bearer <secret>` when `bearer`.
    Static { header: HeaderName, bearer: bool, secret_id: String },
    /// OAuth 2.0 client credentials (RFC 6749 §4.4), client authenticated with HTTP Basic.
    OAuth {
        token_url: reqwest::Url,
        client_id: String,
        secret_id: String,
        scope: Option<String>,
        audience: Option<String>,
    },
}

impl Credential {
    /// The Secrets Manager name or ARN this credential reads.
    pub fn secret_id(&self) -> &str {
        match self {
            Self::Static { secret_id, .. } | Self::OAuth { secret_id, .. } => secret_id,
        }
    }
}

/// A backend's `auth` object as written in the configuration.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CredentialSpec {
    Bearer {
        secret: String,
    },
    Header {
        header: String,
        secret: String,
    },
    #[serde(rename_all = "camelCase")]
    OauthClientCredentials {
        token_url: String,
        client_id: String,
        secret: String,
        scope: Option<String>,
        audience: Option<String>,
    },
}

impl CredentialSpec {
    /// The live credential; the error is `(field inside "auth", message)`. The secret must be one
    /// `secrets` lets a backend use.
    pub fn build(self, policy: &NetworkPolicy, secrets: &SecretScope) -> Result<Credential, (&'static str, String)> {
        let secret_id = |secret: String| {
            if secret.trim().is_empty() || secret.len() > 2048 {
                return Err(("secret", "must name a Secrets Manager secret (name or ARN)".to_owned()));
            }
            secrets.check(&secret).map_err(|why| ("secret", why))?;
            Ok(secret)
        };
        match self {
            Self::Bearer { secret } => Ok(Credential::Static {
                header: http::header::AUTHORIZATION,
                bearer: true,
                secret_id: secret_id(secret)?,
            }),
            Self::Header { header, secret } => {
                let name = HeaderName::try_from(header.as_str())
                    .map_err(|_| ("header", format!("{header:?} is not a valid header name")))?;
                if FORBIDDEN_HEADERS.contains(&name.as_str()) {
                    return Err(("header", format!("{name} is set by the gateway itself")));
                }
                Ok(Credential::Static { header: name, bearer: false, secret_id: secret_id(secret)? })
            }
            Self::OauthClientCredentials { token_url, client_id, secret, scope, audience } => {
                let token_url = policy.check_url_str(&token_url).map_err(|m| ("tokenUrl", m))?;
                if client_id.is_empty() {
                    return Err(("clientId", "must not be empty".into()));
                }
                Ok(Credential::OAuth { token_url, client_id, secret_id: secret_id(secret)?, scope, audience })
            }
        }
    }
}

/// Headers a credential may not replace: the transport's own.
const FORBIDDEN_HEADERS: [&str; 6] =
    ["content-type", "accept", "host", "content-length", "mcp-session-id", "mcp-protocol-version"];

#[cfg(test)]
mod tests {
    use super::*;

    fn build(json: &str) -> Result<Credential, (&'static str, String)> {
        let policy = NetworkPolicy::default();
        let spec = serde_json::from_str::<CredentialSpec>(json).map_err(|e| ("json", e.to_string()))?;
        spec.build(&policy, &SecretScope::default())
    }

    #[test]
    fn each_kind_parses_into_its_credential() {
        let bearer = build(r#"{"type":"bearer","secret":"mcp-gateway/backends/gh"}"#).unwrap();
        assert!(matches!(bearer, Credential::Static { bearer: true, ref header, .. } if header == "authorization"));
        let header = build(r#"{"type":"header","header":"X-Api-Key","secret":"arn:aws:secretsmanager:us-east-1:1:secret:mcp-gateway/backends/k-AbC123"}"#).unwrap();
        assert!(matches!(header, Credential::Static { bearer: false, ref header, .. } if header == "x-api-key"));
        let oauth = build(
            r#"{"type":"oauth-client-credentials","tokenUrl":"https://id.example.com/token","clientId":"gw","secret":"mcp-gateway/backends/s","scope":"read"}"#,
        )
        .unwrap();
        assert_eq!(oauth.secret_id(), "mcp-gateway/backends/s");
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(build(r#"{"type":"bearer","secret":""}"#).unwrap_err().0, "secret");
        assert_eq!(build(r#"{"type":"header","header":"bad header","secret":"s"}"#).unwrap_err().0, "header");
        assert_eq!(build(r#"{"type":"header","header":"Mcp-Session-Id","secret":"s"}"#).unwrap_err().0, "header");
        let err = build(
            r#"{"type":"oauth-client-credentials","tokenUrl":"http://169.254.169.254/token","clientId":"gw","secret":"s"}"#,
        )
        .unwrap_err();
        assert_eq!(err.0, "tokenUrl");
        assert!(err.1.contains("metadata"), "{}", err.1);
        assert!(build(r#"{"type":"basic","secret":"s"}"#).is_err());
        let own = build(r#"{"type":"bearer","secret":"mcp-gateway/pii-key"}"#).unwrap_err();
        assert!(own.0 == "secret" && own.1.contains("gateway's own"), "{own:?}");
        let outside = build(r#"{"type":"bearer","secret":"prod/db-password"}"#).unwrap_err();
        assert!(outside.0 == "secret" && outside.1.contains("GATEWAY_BACKEND_SECRETS_PREFIX"), "{outside:?}");
        assert!(build(r#"{"type":"bearer","secret":"s","value":"inline"}"#).is_err());
    }

    #[test]
    fn secret_values_are_redacted() {
        assert_eq!(format!("{:?}", SecretValue::new("hunter2")), "SecretValue(..)");
    }
}
