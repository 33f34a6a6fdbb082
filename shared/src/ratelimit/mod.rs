//! Distributed rate limiting: fixed windows counted in DynamoDB with atomic conditional `UpdateItem`s (no
//! read, no per-instance source of truth), so never more than the limit is admitted across instances.
//! `exact` mode (default) charges one unit per request; `leased` mode (`lease`) lets each instance take a
//! slice of a key's window in one write and spend it locally.
//! Public routes are limited per address in the instance's memory instead (`public`).

mod config;
mod dynamodb;
mod lease;
mod memory;
mod public;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};

pub use config::{FailureMode, LimitMode, RateLimitConfig};
pub use dynamodb::DynamoRateLimitStore;
pub use memory::MemoryRateLimitStore;
pub use public::PublicLimiter;

use crate::store::{now_secs, StoreError};

/// Bound on one store call: a limiter that cannot answer must not hold the request.
const STORE_TIMEOUT: Duration = Duration::from_millis(1500);

/// One counter to charge: a key (principal, IP, tool…) and its limit per window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    pub key: String,
    pub max: u64,
}

/// What the store says about one charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// `granted` units (at least one, at most the number asked for) were counted; `count` is the
    /// window's count after them.
    Counted { granted: u64, count: u64 },
    /// The window is full; nothing was counted.
    Full,
}

/// Atomic per-window counters.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Adds `want` (≥ 1) to `key`'s counter for the window starting at `window_start`, or as many as
    /// still fit under `max` when fewer do; `Full` when none does. The counter expires (TTL) at
    /// `expires_at`. The count never exceeds `max`, whoever else charges the same key at the same time.
    async fn hit(&self, key: &str, window_start: u64, max: u64, want: u64, expires_at: u64) -> Result<Hit, StoreError>;
}

/// The outcome for a request, with what the client needs to pace itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Epoch seconds when the window ends.
    pub reset: u64,
    pub window_secs: u64,
}

impl Decision {
    /// Seconds until a rejected client may retry (at least 1).
    pub fn retry_after(&self) -> u64 {
        self.reset.saturating_sub(now_secs()).max(1)
    }

    /// `X-RateLimit-*` and the IETF `RateLimit` / `RateLimit-Policy` headers, plus `Retry-After` on a rejection.
    pub fn headers(&self) -> Vec<(HeaderName, String)> {
        let seconds_left = self.reset.saturating_sub(now_secs());
        let mut headers = vec![
            (HeaderName::from_static("x-ratelimit-limit"), self.limit.to_string()),
            (HeaderName::from_static("x-ratelimit-remaining"), self.remaining.to_string()),
            (HeaderName::from_static("x-ratelimit-reset"), self.reset.to_string()),
            (
                HeaderName::from_static("ratelimit-policy"),
                format!("\"default\";q={};w={}", self.limit, self.window_secs),
            ),
            (HeaderName::from_static("ratelimit"), format!("\"default\";r={};t={seconds_left}", self.remaining)),
        ];
        if !self.allowed {
            headers.push((http::header::RETRY_AFTER, self.retry_after().to_string()));
        }
        headers
    }

    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in self.headers() {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(name, value);
            }
        }
    }
}

/// Why a request could not be checked.
#[derive(Debug, thiserror::Error)]
#[error("rate limiter unavailable")]
pub struct LimiterUnavailable(#[source] pub StoreError);

/// The limiter every function uses, built once per cold start.
pub struct RateLimiter {
    config: RateLimitConfig,
    store: Arc<dyn RateLimitStore>,
    /// This instance's slices (leased mode only).
    ledger: Option<lease::Ledger>,
}

/// One charge, once the store (or a slice held here) answered.
enum Charged {
    Allowed { remaining: u64 },
    Refused,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig, store: Arc<dyn RateLimitStore>) -> Self {
        let ledger = (config.mode == LimitMode::Leased).then(|| lease::Ledger::new(config.window_secs));
        Self { config, store, ledger }
    }

    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Charges `limit` once. `None` when limiting is off; with the store down, `closed` mode is an
    /// error (the caller answers 503) and `open` mode allows (logged, so it can be alarmed on).
    pub async fn check(&self, limit: &Limit) -> Result<Option<Decision>, LimiterUnavailable> {
        if !self.config.enabled || limit.max == 0 {
            return Ok(None);
        }
        let window = self.config.window_secs;
        let now = now_secs();
        let start = now - now % window;
        let reset = start + window;
        // Keep the item a little past its window so a late, slow request still finds its counter.
        let expires_at = reset + window;
        let charged = match &self.ledger {
            Some(ledger) => ledger.take(&self.store, limit, start, expires_at).await,
            None => self.exact(limit, start, expires_at).await,
        };
        let (allowed, remaining) = match charged {
            Ok(Charged::Allowed { remaining }) => (true, remaining),
            Ok(Charged::Refused) => (false, 0),
            Err(error) => return self.unavailable(error),
        };
        Ok(Some(Decision { allowed, limit: limit.max, remaining, reset, window_secs: window }))
    }

    /// One unit, one conditional write.
    async fn exact(&self, limit: &Limit, start: u64, expires_at: u64) -> Result<Charged, StoreError> {
        let hit = self.store.hit(&limit.key, start, limit.max, 1, expires_at);
        match tokio::time::timeout(STORE_TIMEOUT, hit).await {
            Ok(Ok(Hit::Counted { count, .. })) => Ok(Charged::Allowed { remaining: limit.max.saturating_sub(count) }),
            Ok(Ok(Hit::Full)) => Ok(Charged::Refused),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(StoreError::Unavailable("rate-limit store timed out".into())),
        }
    }

    fn unavailable(&self, error: StoreError) -> Result<Option<Decision>, LimiterUnavailable> {
        match self.config.failure_mode {
            FailureMode::Closed => Err(LimiterUnavailable(error)),
            FailureMode::Open => {
                tracing::warn!(%error, metric = "ratelimit_store_unavailable", "rate limiter unavailable; allowing (fail-open)");
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(mode: FailureMode, store: Arc<dyn RateLimitStore>) -> RateLimiter {
        let mut config = RateLimitConfig::from_lookup(|_| None).unwrap();
        config.failure_mode = mode;
        RateLimiter::new(config, store)
    }

    #[tokio::test]
    async fn counts_up_to_the_limit_then_refuses() {
        let limiter = limiter(FailureMode::Closed, Arc::new(MemoryRateLimitStore::default()));
        let limit = Limit { key: "p:a".into(), max: 2 };
        let first = limiter.check(&limit).await.unwrap().unwrap();
        assert!(first.allowed && first.remaining == 1);
        assert!(limiter.check(&limit).await.unwrap().unwrap().allowed);
        let third = limiter.check(&limit).await.unwrap().unwrap();
        assert!(!third.allowed && third.remaining == 0);
        assert!(third.headers().iter().any(|(n, _)| n == http::header::RETRY_AFTER));
        let other = Limit { key: "p:b".into(), max: 2 };
        assert!(limiter.check(&other).await.unwrap().unwrap().allowed, "keys are isolated");
    }

    struct Down;
    #[async_trait]
    impl RateLimitStore for Down {
        async fn hit(&self, _: &str, _: u64, _: u64, _: u64, _: u64) -> Result<Hit, StoreError> {
            Err(StoreError::Unavailable("down".into()))
        }
    }

    #[tokio::test]
    async fn store_failure_follows_the_configured_mode() {
        let limit = Limit { key: "p:a".into(), max: 5 };
        assert!(limiter(FailureMode::Closed, Arc::new(Down)).check(&limit).await.is_err());
        assert_eq!(limiter(FailureMode::Open, Arc::new(Down)).check(&limit).await.unwrap(), None);
    }

    #[test]
    fn headers_carry_limit_remaining_and_reset() {
        let d = Decision { allowed: true, limit: 50, remaining: 7, reset: now_secs() + 30, window_secs: 60 };
        let h: std::collections::HashMap<_, _> = d.headers().into_iter().collect();
        assert_eq!(h[&HeaderName::from_static("x-ratelimit-limit")], "50");
        assert_eq!(h[&HeaderName::from_static("x-ratelimit-remaining")], "7");
        assert!(!h.contains_key(&http::header::RETRY_AFTER));
    }
}
