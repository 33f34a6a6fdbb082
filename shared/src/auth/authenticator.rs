//! Turns a request's headers into a `Principal`, according to the configured mode. Built once per cold
//! start; holds the cached API keys and JWKS.
//!
//! Credentials are read from headers only (`Authorization: Bearer`, and `X-API-Key` in api-key mode):
//! a token in the query string is ignored, since URLs end up in logs and caches.

use std::sync::Arc;

use http::{header::AUTHORIZATION, HeaderMap};
use subtle::ConstantTimeEq;

use super::{
    api_key::{self, KeyCache, KeySource, SecretsManagerKeySource},
    jwt::{JwksClient, JwtVerifier},
    AuthConfig, AuthConfigError, AuthError, AuthMode, InvalidReason, Principal, Scopes,
};
use crate::store::now_secs;

const X_API_KEY: &str = "x-api-key";

pub struct Authenticator {
    config: AuthConfig,
    keys: KeyCache,
    jwt: Option<JwtVerifier>,
}

impl Authenticator {
    /// `jwks` is required in `oauth` mode and ignored otherwise; `keys` is used in `api-key` mode only.
    pub fn new(
        config: AuthConfig,
        keys: Arc<dyn KeySource>,
        jwks: Option<JwksClient>,
    ) -> Result<Self, AuthConfigError> {
        let jwt = match (&config.oauth, jwks) {
            (Some(oauth), Some(jwks)) => Some(JwtVerifier::new(oauth.clone(), jwks)),
            (Some(_), None) => return Err(AuthConfigError::NoJwksClient),
            (None, _) => None,
        };
        Ok(Self { keys: KeyCache::new(keys, config.api_keys_refresh), config, jwt })
    }

    /// The production wiring: keys from Secrets Manager, JWKS over HTTPS.
    pub fn from_sdk(config: AuthConfig, sdk: &aws_config::SdkConfig) -> Result<Self, AuthConfigError> {
        let keys = Arc::new(SecretsManagerKeySource::new(sdk, config.api_keys_secret_id.clone()));
        let jwks = match &config.oauth {
            Some(oauth) => {
                Some(JwksClient::new(oauth.jwks_uri.clone(), config.network).map_err(AuthConfigError::JwksClient)?)
            }
            None => None,
        };
        Self::new(config, keys, jwks)
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The API keys changed elsewhere (through the admin API): reload them at the next request.
    pub fn keys_changed(&self) {
        self.keys.expire();
    }

    /// Cold-start warm-up: loads the API keys or the JWKS, and says once if the mode refuses requests.
    /// Never fails: a store that is down now is retried by the first requests.
    pub async fn prime(&self) {
        if let Some(reason) = self.config.insecure_refusal() {
            tracing::error!(reason, "sensitive routes will be refused");
        }
        match self.config.mode {
            AuthMode::ApiKey => {
                let _ = self.keys.get().await;
            }
            AuthMode::OAuth => {
                if let Some(jwt) = &self.jwt {
                    jwt.prime().await;
                }
            }
            AuthMode::None => {}
        }
    }

    /// Who is calling. Every request is authenticated on its own.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        match self.config.mode {
            AuthMode::None => match self.config.insecure_refusal() {
                Some(reason) => Err(AuthError::Refused(reason)),
                None => Ok(Principal { scopes: Scopes::all(), ..Principal::anonymous() }),
            },
            AuthMode::ApiKey => {
                let key = credential(headers, true)?.ok_or(AuthError::Missing)?;
                // Shape first: a malformed key is refused without waiting on the key store.
                if !api_key::is_well_formed(key) {
                    return Err(AuthError::Invalid(InvalidReason::MalformedKey));
                }
                let keys = self.keys.get().await.map_err(|e| AuthError::Unavailable(Box::new(e)))?;
                match keys.authenticate(key, now_secs()) {
                    // Perhaps created since the keys were loaded: look again (bounded per instance).
                    Err(InvalidReason::UnknownKey) => match self.keys.recheck(&keys).await {
                        Some(keys) => keys.authenticate(key, now_secs()).map_err(AuthError::Invalid),
                        None => Err(AuthError::Invalid(InvalidReason::UnknownKey)),
                    },
                    outcome => outcome.map_err(AuthError::Invalid),
                }
            }
            AuthMode::OAuth => {
                let token = credential(headers, false)?.ok_or(AuthError::Missing)?;
                match &self.jwt {
                    Some(jwt) => jwt.verify(token).await,
                    // `new` refuses oauth without a JWKS client; kept total rather than panicking.
                    None => Err(AuthError::Unavailable("no JWKS client configured".into())),
                }
            }
        }
    }
}

/// The one credential the request carries, if any. Two different credentials are refused rather than
/// choosing one (RFC 6750 §2: one method per request); a non-Bearer `Authorization` (e.g. `Basic` added
/// by a proxy) is not a credential for this gateway and is ignored.
fn credential(headers: &HeaderMap, accept_api_key_header: bool) -> Result<Option<&str>, AuthError> {
    let bearer = single(headers, AUTHORIZATION.as_str())?.and_then(bearer_token).transpose()?;
    let api_key = if accept_api_key_header { single(headers, X_API_KEY)?.map(nonempty).transpose()? } else { None };
    match (bearer, api_key) {
        (Some(a), Some(b)) if !bool::from(a.as_bytes().ct_eq(b.as_bytes())) => {
            Err(AuthError::Invalid(InvalidReason::AmbiguousCredentials))
        }
        (Some(token), _) | (None, Some(token)) => Ok(Some(token)),
        (None, None) => Ok(None),
    }
}

/// The value of a header that must not repeat; unreadable (non-visible-ASCII) values are malformed.
fn single<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, AuthError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::Invalid(InvalidReason::AmbiguousCredentials));
    }
    value.to_str().map(|v| Some(v.trim())).map_err(|_| AuthError::Invalid(InvalidReason::MalformedHeader))
}

/// `Bearer <token>` (scheme case-insensitive, RFC 7235) → `Some(Ok(token))`; other schemes → `None`.
fn bearer_token(value: &str) -> Option<Result<&str, AuthError>> {
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    Some(nonempty(token.trim()))
}

fn nonempty(token: &str) -> Result<&str, AuthError> {
    if token.is_empty() || token.contains(char::is_whitespace) {
        Err(AuthError::Invalid(InvalidReason::MalformedHeader))
    } else {
        Ok(token)
    }
}

#[cfg(test)]
#[path = "authenticator_tests.rs"]
mod tests;
