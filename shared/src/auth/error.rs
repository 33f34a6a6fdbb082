//! Why a request was not authenticated or not authorized, and the RFC 6750 / RFC 9728 challenge that
//! goes with it.

use super::{metadata, AuthConfig};

/// An authentication or authorization failure. Display texts are safe for clients: they never say why a
/// credential was rejected (that would help guessing); the `InvalidReason` is for logs and audit only.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credential was presented (401).
    #[error("authentication required")]
    Missing,
    /// A credential was presented and rejected (401, `error="invalid_token"`).
    #[error("invalid or expired credential")]
    Invalid(InvalidReason),
    /// Authenticated, but the principal lacks `scope` (403, `error="insufficient_scope"`).
    #[error("insufficient scope: {scope} is required")]
    InsufficientScope { scope: String },
    /// The key store or the JWKS cannot be reached and nothing usable is cached (503).
    #[error("credentials cannot be checked right now; retry shortly")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Auth mode `none` without `ALLOW_INSECURE`: sensitive routes are refused (503, with the reason).
    #[error("{0}")]
    Refused(&'static str),
}

/// Why a credential was rejected. Never sent to the client; logged and audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidReason {
    /// An `Authorization` or `X-API-Key` header that cannot be read as a credential.
    MalformedHeader,
    /// Two different credentials in one request (RFC 6750 §2: one method per request).
    AmbiguousCredentials,
    /// Not of the API key shape `mcpgw_<43 base64url chars>`.
    MalformedKey,
    UnknownKey,
    DisabledKey,
    ExpiredKey,
    /// Not a decodable JWT (includes `alg: none`, which no accepted algorithm list can contain).
    MalformedToken,
    /// The header's `alg` is not pinned by configuration or does not fit the key.
    AlgorithmNotAllowed,
    /// No key in the JWKS has the token's `kid`, even after a refresh.
    UnknownKeyId,
    BadSignature,
    TokenExpired,
    TokenNotYetValid,
    WrongIssuer,
    WrongAudience,
    /// `exp`, `iss`, `aud` or `sub` is absent, or a claim has the wrong type.
    MissingClaim,
    /// `sub` is longer than the gateway keys state by, or holds control characters.
    OversizedClaim,
}

impl InvalidReason {
    /// A short, stable label for logs and the audit trail.
    pub fn as_str(self) -> &'static str {
        use InvalidReason as R;
        match self {
            R::MalformedHeader => "malformed authorization header",
            R::AmbiguousCredentials => "more than one credential",
            R::MalformedKey => "malformed api key",
            R::UnknownKey => "unknown api key",
            R::DisabledKey => "disabled api key",
            R::ExpiredKey => "expired api key",
            R::MalformedToken => "malformed token",
            R::AlgorithmNotAllowed => "algorithm not allowed",
            R::UnknownKeyId => "unknown signing key id",
            R::BadSignature => "bad signature",
            R::TokenExpired => "token expired",
            R::TokenNotYetValid => "token not yet valid",
            R::WrongIssuer => "wrong issuer",
            R::WrongAudience => "wrong audience",
            R::MissingClaim => "missing or malformed claim",
            R::OversizedClaim => "oversized or malformed subject",
        }
    }
}

impl AuthError {
    /// Why the request was denied, for the audit line: a reason, never a credential.
    pub fn audit_reason(&self) -> &str {
        match self {
            AuthError::Invalid(reason) => reason.as_str(),
            AuthError::Missing => "no credential",
            AuthError::InsufficientScope { .. } => "insufficient scope",
            AuthError::Unavailable(_) => "credential store unavailable",
            AuthError::Refused(_) => "authentication disabled without ALLOW_INSECURE",
        }
    }

    /// The `WWW-Authenticate` value for this error, `None` where no challenge applies (503s).
    ///
    /// Every 401 points at the RFC 9728 metadata so an MCP client can discover the authorization server;
    /// a 403 names the missing scope so the client can ask for it (RFC 6750 §3.1, MCP scope step-up).
    /// `request_host` is the request's `Host`, used only when `GATEWAY_RESOURCE_URI` is not configured.
    pub fn www_authenticate(&self, cfg: &AuthConfig, request_host: Option<&str>) -> Option<String> {
        let mut params: Vec<(&str, String)> = Vec::new();
        match self {
            AuthError::Missing => {
                if !cfg.scopes_supported.is_empty() {
                    params.push(("scope", cfg.scopes_supported.join(" ")));
                }
            }
            AuthError::Invalid(_) => {
                params.push(("error", "invalid_token".into()));
                params.push(("error_description", self.to_string()));
            }
            AuthError::InsufficientScope { scope } => {
                params.push(("error", "insufficient_scope".into()));
                params.push(("scope", scope.clone()));
            }
            AuthError::Unavailable(_) | AuthError::Refused(_) => return None,
        }
        params.push(("resource_metadata", metadata::metadata_url(cfg, request_host)));
        let rendered: Vec<String> =
            params.into_iter().map(|(name, value)| format!("{name}=\"{}\"", quoted(&value))).collect();
        Some(format!("Bearer {}", rendered.join(", ")))
    }
}

/// RFC 9110 quoted-string content: escape `"` and `\`, drop control characters so a value can never
/// split the header.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::testing::api_key_config;

    #[test]
    fn missing_credential_challenge_points_at_metadata() {
        let cfg = api_key_config();
        let h = AuthError::Missing.www_authenticate(&cfg, None).unwrap();
        assert_eq!(h, "Bearer resource_metadata=\"https://gw.example.com/.well-known/oauth-protected-resource/mcp\"");
    }

    #[test]
    fn invalid_credential_says_invalid_token_but_not_why() {
        let cfg = api_key_config();
        let e = AuthError::Invalid(InvalidReason::DisabledKey);
        let h = e.www_authenticate(&cfg, None).unwrap();
        assert!(h.starts_with("Bearer error=\"invalid_token\""), "{h}");
        assert!(h.contains("resource_metadata=\"https://gw.example.com/"), "{h}");
        assert!(!h.contains("disabled") && !e.to_string().contains("disabled"), "{h}");
    }

    #[test]
    fn insufficient_scope_names_the_scope() {
        let cfg = api_key_config();
        let e = AuthError::InsufficientScope { scope: "tool:demo_add".into() };
        let h = e.www_authenticate(&cfg, None).unwrap();
        assert!(h.contains("error=\"insufficient_scope\", scope=\"tool:demo_add\""), "{h}");
    }

    #[test]
    fn service_failures_carry_no_challenge() {
        let cfg = api_key_config();
        assert!(AuthError::Refused("x").www_authenticate(&cfg, None).is_none());
        let e = AuthError::Unavailable("down".into());
        assert!(e.www_authenticate(&cfg, None).is_none());
    }

    #[test]
    fn quoting_cannot_break_the_header() {
        assert_eq!(quoted("a\"b\\c\r\nd"), "a\\\"b\\\\cd");
    }
}
