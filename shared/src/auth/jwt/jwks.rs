//! The issuer's signing keys (JWKS): fetched once, cached, refreshed when a token names an unknown `kid`
//! (key rotation) at most once per `MIN_REFRESH_INTERVAL`, and in any case when older than `MAX_AGE` so a
//! key the issuer withdrew stops being trusted.
//!
//! Only asymmetric signature keys are kept: an `oct` (HMAC) key in a public document would be a secret
//! anyone can read.

use std::{
    collections::HashMap,
    str::FromStr,
    sync::{Arc, RwLock},
    time::Duration,
};

use async_trait::async_trait;
use jsonwebtoken::{
    jwk::{AlgorithmParameters, Jwk, PublicKeyUse},
    Algorithm, DecodingKey,
};
use serde_json::Value;
use tokio::time::Instant;

use crate::backend::{guard::GuardedResolver, NetworkPolicy};

/// Unknown `kid`s trigger at most one fetch per interval, so forged tokens cannot hammer the issuer.
pub const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// After a failed fetch, the next attempt waits this long.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// Keys older than this are re-fetched on the next request.
pub const MAX_AGE: Duration = Duration::from_secs(3600);
/// A JWKS is a few KiB; anything far larger is not one.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("JWKS request failed")]
    Fetch(#[source] reqwest::Error),
    #[error("JWKS endpoint answered HTTP {0}")]
    Status(u16),
    #[error("JWKS larger than {0} bytes")]
    TooLarge(usize),
    #[error("JWKS is not a key set: {0}")]
    Invalid(String),
}

/// Where the JWKS document comes from (HTTP in production, memory in tests).
#[async_trait]
pub trait JwksFetcher: Send + Sync {
    async fn fetch(&self) -> Result<Value, JwksError>;
}

/// A key from the JWKS, ready to verify with.
pub struct VerificationKey {
    pub key: DecodingKey,
    /// The JWK's own `alg`, if it pins one: a token must then use exactly that algorithm.
    pub algorithm: Option<Algorithm>,
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, Arc<VerificationKey>>,
    /// Keys without `kid`: usable only by a token without `kid`, and only when there is exactly one.
    unnamed: Vec<Arc<VerificationKey>>,
}

impl KeySet {
    fn find(&self, kid: Option<&str>) -> Option<Arc<VerificationKey>> {
        match kid {
            Some(kid) => self.by_kid.get(kid).cloned(),
            None if self.by_kid.len() + self.unnamed.len() == 1 => {
                self.by_kid.values().chain(&self.unnamed).next().cloned()
            }
            None => None,
        }
    }
}

#[derive(Default)]
struct State {
    keys: Arc<KeySet>,
    fetched_at: Option<Instant>,
    next_attempt: Option<Instant>,
}

/// The cached JWKS of the configured issuer, built once per cold start.
pub struct JwksClient {
    fetcher: Arc<dyn JwksFetcher>,
    state: RwLock<State>,
    refresh: tokio::sync::Mutex<()>,
}

impl JwksClient {
    /// A client fetching `uri` over HTTPS, through the SSRF guard of `network`.
    pub fn new(uri: impl Into<String>, network: NetworkPolicy) -> Result<Self, reqwest::Error> {
        Ok(Self::with_fetcher(Arc::new(HttpJwksFetcher::new(uri, network)?)))
    }

    pub fn with_fetcher(fetcher: Arc<dyn JwksFetcher>) -> Self {
        Self { fetcher, state: RwLock::new(State::default()), refresh: tokio::sync::Mutex::new(()) }
    }

    /// Fetches the set if it never was (cold start). Failures are logged and retried by requests.
    pub async fn prime(&self) {
        let _ = self.key(None).await;
    }

    /// The key a token with header `kid` must be verified with. `Ok(None)`: no such key, even after the
    /// refresh this call was allowed to make. `Err`: no key set could ever be fetched.
    pub async fn key(&self, kid: Option<&str>) -> Result<Option<Arc<VerificationKey>>, JwksError> {
        if let Some(key) = self.current(kid, false) {
            return Ok(Some(key));
        }
        if self.may_fetch() {
            let _guard = self.refresh.lock().await;
            // Whoever held the lock may have fetched already; the check below then says no.
            if self.may_fetch() {
                self.fetch().await?;
            }
        }
        Ok(self.current(kid, true))
    }

    /// The matching key if the set is recent enough (or `stale_ok`).
    fn current(&self, kid: Option<&str>, stale_ok: bool) -> Option<Arc<VerificationKey>> {
        let state = self.read();
        let recent = state.fetched_at.is_some_and(|at| at.elapsed() < MAX_AGE);
        (recent || stale_ok).then(|| state.keys.find(kid)).flatten()
    }

    fn may_fetch(&self) -> bool {
        self.read().next_attempt.is_none_or(|at| Instant::now() >= at)
    }

    /// Fetches and replaces the set. On failure the previous set (if any) stays in use.
    async fn fetch(&self) -> Result<(), JwksError> {
        let result = self.fetcher.fetch().await.and_then(|doc| key_set(&doc));
        let now = Instant::now();
        let mut state = self.write();
        match result {
            Ok(keys) => {
                tracing::info!(keys = keys.by_kid.len() + keys.unnamed.len(), "JWKS fetched");
                state.keys = Arc::new(keys);
                state.fetched_at = Some(now);
                state.next_attempt = Some(now + MIN_REFRESH_INTERVAL);
                Ok(())
            }
            Err(error) => {
                state.next_attempt = Some(now + RETRY_AFTER_FAILURE);
                tracing::warn!(%error, source = ?std::error::Error::source(&error), "could not fetch the JWKS");
                match state.fetched_at {
                    Some(_) => Ok(()),
                    None => Err(error),
                }
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Parses the document key by key: one key of an unsupported type (e.g. an encryption key) must not
/// make the whole set unusable.
fn key_set(doc: &Value) -> Result<KeySet, JwksError> {
    let keys =
        doc.get("keys").and_then(Value::as_array).ok_or_else(|| JwksError::Invalid("no \"keys\" array".into()))?;
    let mut set = KeySet::default();
    for entry in keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(entry.clone()) else {
            continue;
        };
        let for_signing = matches!(jwk.common.public_key_use, None | Some(PublicKeyUse::Signature));
        let asymmetric = !matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_));
        // A JWK `alg` that is not a signature algorithm (RSA-OAEP…) marks an encryption key.
        let algorithm = match jwk.common.key_algorithm {
            None => None,
            Some(alg) => match Algorithm::from_str(&alg.to_string()) {
                Ok(alg) => Some(alg),
                Err(_) => continue,
            },
        };
        if !(for_signing && asymmetric) {
            continue;
        }
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        let key = Arc::new(VerificationKey { key, algorithm });
        match jwk.common.key_id {
            Some(kid) => {
                set.by_kid.insert(kid, key);
            }
            None => set.unnamed.push(key),
        }
    }
    Ok(set)
}

/// Fetches the JWKS over HTTP: no redirects (the configured URI is the trust anchor), addresses checked
/// by the SSRF guard at every connect (DNS rebinding), 5 s timeout, bounded body.
pub struct HttpJwksFetcher {
    http: reqwest::Client,
    uri: String,
}

impl HttpJwksFetcher {
    pub fn new(uri: impl Into<String>, network: NetworkPolicy) -> Result<Self, reqwest::Error> {
        let http = GuardedResolver::new(network)
            .client_builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self { http, uri: uri.into() })
    }
}

#[async_trait]
impl JwksFetcher for HttpJwksFetcher {
    async fn fetch(&self) -> Result<Value, JwksError> {
        let mut response = self
            .http
            .get(&self.uri)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(JwksError::Fetch)?;
        if response.status() != http::StatusCode::OK {
            return Err(JwksError::Status(response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(JwksError::Fetch)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(JwksError::TooLarge(MAX_JWKS_BYTES));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| JwksError::Invalid(e.to_string()))
    }
}

/// In-memory `JwksFetcher` for tests: serves a document (or fails) and counts fetches.
pub struct MemoryJwks {
    doc: std::sync::Mutex<Option<Value>>,
    fetches: std::sync::atomic::AtomicUsize,
}

impl MemoryJwks {
    pub fn new(doc: Value) -> Self {
        Self { doc: std::sync::Mutex::new(Some(doc)), fetches: Default::default() }
    }

    /// Replaces the served document; `None` makes fetches fail.
    pub fn set(&self, doc: Option<Value>) {
        *self.doc.lock().unwrap_or_else(|p| p.into_inner()) = doc;
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl JwksFetcher for MemoryJwks {
    async fn fetch(&self) -> Result<Value, JwksError> {
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.doc.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or(JwksError::Status(503))
    }
}
