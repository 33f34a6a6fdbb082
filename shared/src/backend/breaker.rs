//! Circuit breaker per backend, per instance: after `failure_threshold` outages within `window` the
//! backend is skipped for `open_for` (no timeout paid again and again); then calls are let through
//! again (half-open), and `half_open_successes` successes in a row close the breaker while one more
//! failure re-opens it.
//!
//! Only outages count as failures (timeouts, refused connections, HTTP 5xx/429, unreadable or oversized
//! replies). A JSON-RPC error is an answer: a backend that says "invalid params" is healthy.
//!
//! State is per Lambda instance on purpose: sharing it (e.g. in DynamoDB) would cost a round-trip on
//! every call to save what a cold instance learns in a few failed calls anyway.

use std::{collections::VecDeque, sync::Mutex, time::Duration};

use serde::Deserialize;
use tokio::time::Instant;

/// Breaker thresholds. Defaults follow the reference gateway: 5 failures in 60 s open the breaker for
/// 30 s; 2 successes close it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    pub failure_threshold: u32,
    pub window: Duration,
    pub open_for: Duration,
    pub half_open_successes: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            window: Duration::from_secs(60),
            open_for: Duration::from_secs(30),
            half_open_successes: 2,
        }
    }
}

/// A backend's `circuitBreaker` object: each field overrides the gateway-wide default.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BreakerSpec {
    failure_threshold: Option<u32>,
    window_ms: Option<u64>,
    open_ms: Option<u64>,
    half_open_successes: Option<u32>,
}

impl BreakerSettings {
    /// These settings with `spec`'s overrides; the error is `(field, message)`.
    pub fn with(self, spec: &BreakerSpec) -> Result<Self, (&'static str, String)> {
        let count = |field: &'static str, value: Option<u32>, default: u32| match value {
            None => Ok(default),
            Some(n) if (1..=1000).contains(&n) => Ok(n),
            Some(n) => Err((field, format!("{n} must be from 1 to 1000"))),
        };
        let millis = |field: &'static str, value: Option<u64>, default: Duration| match value {
            None => Ok(default),
            Some(ms) if (100..=3_600_000).contains(&ms) => Ok(Duration::from_millis(ms)),
            Some(ms) => Err((field, format!("{ms} must be from 100 to 3600000"))),
        };
        Ok(Self {
            failure_threshold: count("failureThreshold", spec.failure_threshold, self.failure_threshold)?,
            window: millis("windowMs", spec.window_ms, self.window)?,
            open_for: millis("openMs", spec.open_ms, self.open_for)?,
            half_open_successes: count("halfOpenSuccesses", spec.half_open_successes, self.half_open_successes)?,
        })
    }
}

/// The breaker's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }
}

/// What `/health` shows of a breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakerSnapshot {
    pub state: BreakerState,
    /// Failures within the window (closed) or successes so far (half-open).
    pub count: u32,
    /// Until the next call is let through (open only).
    pub retry_in: Option<Duration>,
    /// How many times it opened since the instance started.
    pub opened: u64,
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    failures: VecDeque<Instant>,
    open_until: Instant,
    successes: u32,
    opened: u64,
}

/// The breaker of one backend.
#[derive(Debug)]
pub struct Breaker {
    backend: String,
    settings: BreakerSettings,
    inner: Mutex<Inner>,
}

impl Breaker {
    pub fn new(backend: impl Into<String>, settings: BreakerSettings) -> Self {
        let inner = Inner {
            state: BreakerState::Closed,
            failures: VecDeque::new(),
            open_until: Instant::now(),
            successes: 0,
            opened: 0,
        };
        Self { backend: backend.into(), settings, inner: Mutex::new(inner) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a call may go out now; `Err(retry_in)` while open.
    pub fn admit(&self) -> Result<(), Duration> {
        let mut inner = self.lock();
        if inner.state != BreakerState::Open {
            return Ok(());
        }
        let now = Instant::now();
        if now < inner.open_until {
            return Err(inner.open_until - now);
        }
        inner.state = BreakerState::HalfOpen;
        inner.successes = 0;
        tracing::info!(backend = %self.backend, breaker = "half-open", "circuit breaker lets calls through again");
        Ok(())
    }

    pub fn success(&self) {
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => {}
            BreakerState::Open => {} // A call admitted before the breaker opened; it proves little.
            BreakerState::HalfOpen => {
                inner.successes += 1;
                if inner.successes >= self.settings.half_open_successes {
                    inner.state = BreakerState::Closed;
                    inner.failures.clear();
                    tracing::info!(backend = %self.backend, breaker = "closed", "circuit breaker closed");
                }
            }
        }
    }

    pub fn failure(&self) {
        let mut inner = self.lock();
        let now = Instant::now();
        match inner.state {
            BreakerState::Open => {}
            BreakerState::HalfOpen => self.open(&mut inner, now),
            BreakerState::Closed => {
                while inner.failures.front().is_some_and(|at| now.duration_since(*at) >= self.settings.window) {
                    inner.failures.pop_front();
                }
                inner.failures.push_back(now);
                if inner.failures.len() >= self.settings.failure_threshold as usize {
                    self.open(&mut inner, now);
                }
            }
        }
    }

    fn open(&self, inner: &mut Inner, now: Instant) {
        inner.state = BreakerState::Open;
        inner.open_until = now + self.settings.open_for;
        inner.failures.clear();
        inner.opened += 1;
        tracing::warn!(backend = %self.backend, breaker = "open", open_for_ms = self.settings.open_for.as_millis() as u64,
            "circuit breaker opened: calls to this backend fail fast");
    }

    pub fn snapshot(&self) -> BreakerSnapshot {
        let inner = self.lock();
        let now = Instant::now();
        let (count, retry_in) = match inner.state {
            BreakerState::Closed => {
                let recent = inner.failures.iter().filter(|at| now.duration_since(**at) < self.settings.window);
                (recent.count() as u32, None)
            }
            BreakerState::Open => (0, Some(inner.open_until.saturating_duration_since(now))),
            BreakerState::HalfOpen => (inner.successes, None),
        };
        // An open breaker whose time is up lets the next call through: show it as such.
        let state = match (inner.state, retry_in) {
            (BreakerState::Open, Some(d)) if d.is_zero() => BreakerState::HalfOpen,
            (state, _) => state,
        };
        BreakerSnapshot { state, count, retry_in: retry_in.filter(|d| !d.is_zero()), opened: inner.opened }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new("b", BreakerSettings::default())
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_failures_within_the_window() {
        let b = breaker();
        for _ in 0..4 {
            b.failure();
        }
        assert_eq!(b.snapshot().state, BreakerState::Closed);
        assert_eq!(b.snapshot().count, 4);
        b.failure();
        assert_eq!(b.snapshot().state, BreakerState::Open);
        assert_eq!(b.admit(), Err(Duration::from_secs(30)));
        assert_eq!(b.snapshot().opened, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_older_than_the_window_do_not_count() {
        let b = breaker();
        for _ in 0..4 {
            b.failure();
        }
        tokio::time::advance(Duration::from_secs(61)).await;
        b.failure();
        assert_eq!(b.snapshot().state, BreakerState::Closed);
        assert_eq!(b.snapshot().count, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_closes_after_two_successes_and_reopens_on_a_failure() {
        let b = breaker();
        for _ in 0..5 {
            b.failure();
        }
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(b.snapshot().state, BreakerState::HalfOpen);
        assert!(b.admit().is_ok());
        b.success();
        assert_eq!(b.snapshot().state, BreakerState::HalfOpen);
        b.success();
        assert_eq!(b.snapshot().state, BreakerState::Closed);
        assert_eq!(b.snapshot().count, 0);

        for _ in 0..5 {
            b.failure();
        }
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(b.admit().is_ok());
        b.failure();
        assert_eq!(b.snapshot().state, BreakerState::Open);
        assert_eq!(b.snapshot().opened, 3, "opened, closed, opened, re-opened from half-open");
        assert!(b.admit().is_err());
    }

    #[test]
    fn overrides_are_validated_per_field() {
        let spec: BreakerSpec = serde_json::from_str(r#"{"failureThreshold":2,"openMs":1500}"#).unwrap();
        let s = BreakerSettings::default().with(&spec).unwrap();
        assert_eq!(
            (s.failure_threshold, s.open_for, s.window),
            (2, Duration::from_millis(1500), Duration::from_secs(60))
        );
        let spec: BreakerSpec = serde_json::from_str(r#"{"failureThreshold":0}"#).unwrap();
        assert_eq!(BreakerSettings::default().with(&spec).unwrap_err().0, "failureThreshold");
        assert!(serde_json::from_str::<BreakerSpec>(r#"{"threshold":1}"#).is_err());
    }
}
