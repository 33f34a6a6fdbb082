//! OAuth 2.1 resource server: verifies a Bearer JWT against the issuer's JWKS with `jsonwebtoken`.
//!
//! Checks, in order: the header's `alg` is one configuration pins (never `none`, never HMAC); the key named
//! by `kid` exists and is of that algorithm's family (no RS/HS confusion); signature; `exp`, `nbf` (60 s
//! leeway), `iss`, `aud` = this gateway's audience; `sub` present. Scopes come from `scope` (RFC 8693,
//! space-separated) and/or `scp` (array or string, as some issuers send).

mod jwks;
#[cfg(test)]
mod tests;

use jsonwebtoken::{decode, decode_header, errors::ErrorKind, Validation};
use serde::Deserialize;

pub use jwks::{
    HttpJwksFetcher, JwksClient, JwksError, JwksFetcher, MemoryJwks, VerificationKey, MIN_REFRESH_INTERVAL,
};

use super::{principal::MAX_SUBJECT_BYTES, AuthError, InvalidReason, OAuthConfig, Principal, Scopes};

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 60;
/// Real access tokens are a few KiB; refuse to parse anything much larger.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Verifies access tokens for one issuer and audience. Built once per cold start.
pub struct JwtVerifier {
    config: OAuthConfig,
    jwks: JwksClient,
}

#[derive(Deserialize)]
struct Claims {
    // Optional here so that a missing `sub` is reported by the validation as a missing claim.
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    scope: Option<ScopeClaim>,
    #[serde(default)]
    scp: Option<ScopeClaim>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    Text(String),
    List(Vec<String>),
}

impl ScopeClaim {
    fn into_scopes(self) -> Scopes {
        match self {
            ScopeClaim::Text(text) => Scopes::from_space_separated(&text),
            ScopeClaim::List(list) => list.into_iter().collect(),
        }
    }
}

impl JwtVerifier {
    pub fn new(config: OAuthConfig, jwks: JwksClient) -> Self {
        Self { config, jwks }
    }

    /// Fetches the JWKS ahead of the first request (cold start). A failure is logged, not fatal: the
    /// first request retries.
    pub async fn prime(&self) {
        self.jwks.prime().await;
    }

    /// The principal a valid token stands for.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Invalid(InvalidReason::MalformedToken));
        }
        // `alg: none` and unknown algorithms fail here: the header type has no such variant.
        let header = decode_header(token).map_err(|_| AuthError::Invalid(InvalidReason::MalformedToken))?;
        if !self.config.algorithms.contains(&header.alg) {
            return Err(AuthError::Invalid(InvalidReason::AlgorithmNotAllowed));
        }
        let key = self
            .jwks
            .key(header.kid.as_deref())
            .await
            .map_err(|e| AuthError::Unavailable(Box::new(e)))?
            .ok_or(AuthError::Invalid(InvalidReason::UnknownKeyId))?;
        // The key decides the family, not the token: an RSA key never verifies an HMAC signature.
        if key.key.family() != header.alg.family() || key.algorithm.is_some_and(|a| a != header.alg) {
            return Err(AuthError::Invalid(InvalidReason::AlgorithmNotAllowed));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims =
            decode::<Claims>(token, &key.key, &validation).map_err(|e| AuthError::Invalid(reason(e.kind())))?.claims;
        let Some(sub) = claims.sub.filter(|sub| !sub.is_empty()) else {
            return Err(AuthError::Invalid(InvalidReason::MissingClaim));
        };
        // The subject becomes part of store keys: an oversized one is refused, never truncated (two
        // subjects must not become one).
        if sub.len() > MAX_SUBJECT_BYTES || sub.chars().any(char::is_control) {
            return Err(AuthError::Invalid(InvalidReason::OversizedClaim));
        }
        let mut scopes = Scopes::none();
        for claim in [claims.scope, claims.scp].into_iter().flatten() {
            scopes.extend(claim.into_scopes());
        }
        Ok(Principal::jwt(&self.config.issuer, &sub, scopes))
    }
}

fn reason(kind: &ErrorKind) -> InvalidReason {
    match kind {
        ErrorKind::ExpiredSignature => InvalidReason::TokenExpired,
        ErrorKind::ImmatureSignature => InvalidReason::TokenNotYetValid,
        ErrorKind::InvalidIssuer => InvalidReason::WrongIssuer,
        ErrorKind::InvalidAudience => InvalidReason::WrongAudience,
        ErrorKind::InvalidSignature => InvalidReason::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => InvalidReason::AlgorithmNotAllowed,
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => InvalidReason::MissingClaim,
        _ => InvalidReason::MalformedToken,
    }
}
