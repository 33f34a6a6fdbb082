//! The credential header for each backend, as one instance sees it: read from the secret source on
//! first use, then cached until the TTL (or the OAuth token's own expiry, minus a margin) runs out.
//! Refreshes are single-flight; after a failure the next attempt waits `RETRY_AFTER_FAILURE`, so an
//! outage of Secrets Manager or of a token endpoint costs one slow call per interval, not per request.

use std::{collections::HashMap, sync::Arc, sync::Mutex, time::Duration};

use http::{HeaderName, HeaderValue};
use tokio::time::Instant;

use super::{oauth, Credential, CredentialError, SecretSource};
use crate::backend::guard::{GuardedResolver, NetworkPolicy};

/// Pause after a failed refresh.
pub(crate) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// A token is replaced this long before the endpoint says it expires (clock skew, slow calls).
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

enum Entry {
    Ready { header: (HeaderName, HeaderValue), until: Instant },
    Failed { retry_at: Instant },
}

/// Backend credentials for one instance.
pub struct BackendCredentials {
    source: Arc<dyn SecretSource>,
    /// For token endpoints: SSRF-guarded, no redirects, short timeouts.
    http: reqwest::Client,
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
    refresh: tokio::sync::Mutex<()>,
}

impl BackendCredentials {
    pub fn new(source: Arc<dyn SecretSource>, policy: NetworkPolicy, ttl: Duration) -> Result<Self, reqwest::Error> {
        let http = GuardedResolver::new(policy)
            .client_builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self { source, http, ttl, entries: Mutex::new(HashMap::new()), refresh: tokio::sync::Mutex::new(()) })
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The cached header if still valid; `Err(Backoff)` while a failure is recent.
    fn cached(&self, backend: &str) -> Option<Result<(HeaderName, HeaderValue), CredentialError>> {
        let now = Instant::now();
        match self.entries().get(backend)? {
            Entry::Ready { header, until } if now < *until => Some(Ok(header.clone())),
            Entry::Failed { retry_at } if now < *retry_at => Some(Err(CredentialError::Backoff)),
            _ => None,
        }
    }

    /// The header that authenticates the gateway to `backend`.
    pub async fn header(
        &self,
        backend: &str,
        credential: &Credential,
    ) -> Result<(HeaderName, HeaderValue), CredentialError> {
        if let Some(cached) = self.cached(backend) {
            return cached;
        }
        let _guard = self.refresh.lock().await;
        // The refresh we queued behind may have done the work.
        if let Some(cached) = self.cached(backend) {
            return cached;
        }
        match self.produce(credential).await {
            Ok((header, valid_for)) => {
                let until = Instant::now() + valid_for;
                self.entries().insert(backend.to_owned(), Entry::Ready { header: header.clone(), until });
                tracing::info!(backend, valid_for_secs = valid_for.as_secs(), "backend credential loaded");
                Ok(header)
            }
            Err(error) => {
                let retry_at = Instant::now() + RETRY_AFTER_FAILURE;
                self.entries().insert(backend.to_owned(), Entry::Failed { retry_at });
                tracing::warn!(backend, %error, source = ?std::error::Error::source(&error),
                    "could not obtain the backend credential");
                Err(error)
            }
        }
    }

    /// Forgets `backend`'s header: it answered 401, so a rotated secret or a revoked token is
    /// fetched again on the next call.
    pub fn invalidate(&self, backend: &str) {
        if matches!(self.entries().get(backend), Some(Entry::Ready { .. })) {
            self.entries().remove(backend);
        }
    }

    async fn produce(&self, credential: &Credential) -> Result<((HeaderName, HeaderValue), Duration), CredentialError> {
        let secret = self.source.secret(credential.secret_id()).await?;
        let invalid = || CredentialError::Invalid(credential.secret_id().to_owned());
        match credential {
            Credential::Static { header, bearer, .. } => {
                let text = if *bearer { format!("Bearer {}", secret.expose()) } else { secret.expose().to_owned() };
                Ok(((header.clone(), sensitive(&text).ok_or_else(invalid)?), self.ttl))
            }
            Credential::OAuth { token_url, client_id, scope, audience, .. } => {
                let request = oauth::TokenRequest {
                    token_url,
                    client_id,
                    client_secret: &secret,
                    scope: scope.as_deref(),
                    audience: audience.as_deref(),
                };
                let token = oauth::fetch(&self.http, &request).await?;
                let value = sensitive(&format!("Bearer {}", token.access_token.expose()))
                    .ok_or_else(|| CredentialError::Token("access_token is not a valid header value".into()))?;
                let lifetime = token.expires_in.map(|d| d.saturating_sub(EXPIRY_MARGIN)).unwrap_or(self.ttl);
                Ok(((http::header::AUTHORIZATION, value), lifetime.min(self.ttl).max(Duration::from_secs(1))))
            }
        }
    }
}

fn sensitive(text: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::try_from(text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{credentials::MemorySecretSource, testing::HttpStub};

    const TTL: Duration = Duration::from_secs(300);
    const LOOPBACK: NetworkPolicy = NetworkPolicy { allow_private: false, allow_loopback: true };

    fn bearer() -> Credential {
        Credential::Static { header: http::header::AUTHORIZATION, bearer: true, secret_id: "s/token".into() }
    }

    fn creds(source: &Arc<MemorySecretSource>) -> BackendCredentials {
        BackendCredentials::new(source.clone(), LOOPBACK, TTL).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn static_secrets_are_read_once_per_ttl() {
        let source = Arc::new(MemorySecretSource::new(&[("s/token", "t1")]));
        let creds = creds(&source);
        for _ in 0..3 {
            let (name, value) = creds.header("b", &bearer()).await.unwrap();
            assert_eq!((name.as_str(), value.to_str().unwrap()), ("authorization", "Bearer t1"));
            assert!(value.is_sensitive());
        }
        assert_eq!(source.reads(), 1);
        source.set("s/token", "t2");
        tokio::time::advance(TTL).await;
        assert_eq!(creds.header("b", &bearer()).await.unwrap().1, "Bearer t2");
        assert_eq!(source.reads(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_and_a_401_forces_a_reread() {
        let source = Arc::new(MemorySecretSource::new(&[]));
        let creds = creds(&source);
        assert!(matches!(creds.header("b", &bearer()).await, Err(CredentialError::Unavailable(..))));
        assert!(matches!(creds.header("b", &bearer()).await, Err(CredentialError::Backoff)));
        assert_eq!(source.reads(), 1);
        source.set("s/token", "t1");
        tokio::time::advance(RETRY_AFTER_FAILURE).await;
        assert!(creds.header("b", &bearer()).await.is_ok());
        creds.invalidate("b");
        assert!(creds.header("b", &bearer()).await.is_ok());
        assert_eq!(source.reads(), 3);
    }

    #[tokio::test]
    async fn oauth_tokens_come_from_the_token_endpoint_with_basic_client_auth() {
        let stub = HttpStub::start(|_| {
            (200, "application/json", r#"{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}"#.into())
        })
        .await;
        let source = Arc::new(MemorySecretSource::new(&[("s/client", "c:s")]));
        let creds = creds(&source);
        let credential = Credential::OAuth {
            token_url: stub.url("/token"),
            client_id: "gw".into(),
            secret_id: "s/client".into(),
            scope: Some("tools:read".into()),
            audience: None,
        };
        assert_eq!(creds.header("b", &credential).await.unwrap().1, "Bearer tok-1");
        assert_eq!(creds.header("b", &credential).await.unwrap().1, "Bearer tok-1");
        let requests = stub.requests();
        assert_eq!(requests.len(), 1);
        // "c:s" is form-encoded to "c%3As" before base64: Z3c6YyUzQXM= is "gw:c%3As".
        assert!(requests[0].header("authorization") == Some("Basic Z3c6YyUzQXM="), "{:?}", requests[0]);
        assert!(
            requests[0].body.contains("grant_type=client_credentials")
                && requests[0].body.contains("scope=tools%3Aread")
        );
    }

    #[tokio::test]
    async fn token_endpoint_errors_name_the_oauth_error_code_only() {
        let stub = HttpStub::start(|_| (401, "application/json", r#"{"error":"invalid_client"}"#.into())).await;
        let source = Arc::new(MemorySecretSource::new(&[("s/client", "topsecret")]));
        let credential = Credential::OAuth {
            token_url: stub.url("/token"),
            client_id: "gw".into(),
            secret_id: "s/client".into(),
            scope: None,
            audience: None,
        };
        let err = creds(&source).header("b", &credential).await.unwrap_err().to_string();
        assert!(err.contains("HTTP 401 (invalid_client)") && !err.contains("topsecret"), "{err}");
    }
}
