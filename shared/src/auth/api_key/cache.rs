//! The key file as one process sees it: loaded once, refreshed when older than the TTL, never per
//! request. A refresh is single-flight; while it runs, other requests keep using the previous keys, and
//! one whose key those do not hold waits for the refresh instead of being refused.
//!
//! When a refresh fails, the previous keys stay in use for `STALE_GRACE` past their TTL (a short Secrets
//! Manager outage must not lock every caller out), with one log line per failed attempt; after that,
//! requests fail with "unavailable" rather than trusting a file that may list revoked keys as valid.
//!
//! Two things make a new or revoked key take effect sooner than the TTL: a well-formed key that is not in
//! the file makes the instance look at the secret again (`recheck`, at most once per
//! `UNKNOWN_KEY_RECHECK`, so guessing keys cannot become a Secrets Manager read storm), and a change made
//! through the admin API marks the keys stale on every instance at its next configuration poll (`expire`).

use std::{
    sync::{Arc, RwLock},
    time::Duration,
};

use tokio::time::Instant;

use super::{KeyError, KeyFile, KeySource};

/// How long past its TTL a key file may serve while refreshes fail.
pub(crate) const STALE_GRACE: Duration = Duration::from_secs(600);
/// Pause between failed refreshes, so an outage costs one slow call per interval, not one per request.
pub(crate) const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// An unknown key triggers at most one reload per this interval per instance.
pub(crate) const UNKNOWN_KEY_RECHECK: Duration = Duration::from_secs(2);

struct Loaded {
    keys: Arc<KeyFile>,
    at: Instant,
}

#[derive(Default)]
struct State {
    loaded: Option<Loaded>,
    /// No new attempt before this instant (set after a failure).
    retry_at: Option<Instant>,
    /// The keys changed elsewhere: reload at the next `get`.
    stale: bool,
    /// When an unknown key last triggered a reload.
    rechecked: Option<Instant>,
}

pub(crate) struct KeyCache {
    source: Arc<dyn KeySource>,
    ttl: Duration,
    state: RwLock<State>,
    refresh: tokio::sync::Mutex<()>,
}

impl KeyCache {
    pub(crate) fn new(source: Arc<dyn KeySource>, ttl: Duration) -> Self {
        Self { source, ttl, state: RwLock::new(State::default()), refresh: tokio::sync::Mutex::new(()) }
    }

    /// The current key file, refreshing it first when it is older than the TTL.
    pub(crate) async fn get(&self) -> Result<Arc<KeyFile>, KeyError> {
        let (fresh, usable) = self.snapshot();
        if let Some(keys) = fresh {
            return Ok(keys);
        }
        let _guard = match (usable, self.refresh.try_lock()) {
            (_, Ok(guard)) => guard,
            // Someone else is refreshing: stale-but-usable keys beat queueing behind a slow call.
            (Some(keys), Err(_)) => return Ok(keys),
            (None, Err(_)) => self.refresh.lock().await,
        };
        self.refresh_locked().await
    }

    /// With the refresh lock held: the keys, loaded from the source unless they are fresh (a refresh
    /// we waited for may have done the work already) or the last failed attempt is too recent.
    async fn refresh_locked(&self) -> Result<Arc<KeyFile>, KeyError> {
        let (fresh, usable) = self.snapshot();
        if let Some(keys) = fresh {
            return Ok(keys);
        }
        let waiting = self.read().retry_at.is_some_and(|at| Instant::now() < at);
        if waiting {
            return usable
                .ok_or_else(|| KeyError::Unavailable("API keys could not be loaded; retrying shortly".into()));
        }
        match self.source.load().await {
            Ok(file) => {
                tracing::info!(keys = file.len(), "API keys loaded");
                let keys = Arc::new(file);
                let mut state = self.write();
                state.loaded = Some(Loaded { keys: keys.clone(), at: Instant::now() });
                (state.retry_at, state.stale) = (None, false);
                Ok(keys)
            }
            Err(error) => {
                self.write().retry_at = Some(Instant::now() + RETRY_AFTER_FAILURE);
                match usable {
                    Some(keys) => {
                        tracing::warn!(%error, source = ?std::error::Error::source(&error),
                            "could not refresh API keys; serving the previous keys");
                        Ok(keys)
                    }
                    None => {
                        tracing::error!(%error, source = ?std::error::Error::source(&error),
                            "could not load API keys; refusing API-key requests");
                        Err(error)
                    }
                }
            }
        }
    }

    /// Marks the keys stale: the next `get` reloads them (they were changed through the admin API).
    pub(crate) fn expire(&self) {
        self.write().stale = true;
    }

    /// After a well-formed key that is not in `seen` (the keys it was checked against): keys that may
    /// hold it, in case it was created since `seen` was loaded. A refresh in flight is waited for rather
    /// than answered with the keys it is replacing (a key created a moment ago must not be refused
    /// because its first requests arrived while the instance was refreshing); keys loaded since `seen`
    /// are returned as they are; otherwise they are reloaded now. `None` (no reload) when they were
    /// loaded or rechecked within `UNKNOWN_KEY_RECHECK`.
    pub(crate) async fn recheck(&self, seen: &Arc<KeyFile>) -> Option<Arc<KeyFile>> {
        let _guard = self.refresh.lock().await;
        let latest = self.read().loaded.as_ref().map(|l| l.keys.clone());
        if let Some(keys) = latest.filter(|keys| !Arc::ptr_eq(keys, seen)) {
            return Some(keys);
        }
        {
            let mut state = self.write();
            let recent = |at: Option<Instant>| at.is_some_and(|t| t.elapsed() < UNKNOWN_KEY_RECHECK);
            if recent(state.loaded.as_ref().map(|l| l.at)) || recent(state.rechecked) {
                return None;
            }
            state.rechecked = Some(Instant::now());
            state.stale = true;
        }
        self.refresh_locked().await.ok()
    }

    /// (keys within the TTL, keys within TTL + grace).
    fn snapshot(&self) -> (Option<Arc<KeyFile>>, Option<Arc<KeyFile>>) {
        let state = self.read();
        let Some(loaded) = &state.loaded else {
            return (None, None);
        };
        let age = loaded.at.elapsed();
        let fresh = (age < self.ttl && !state.stale).then(|| loaded.keys.clone());
        let usable = (age < self.ttl + STALE_GRACE).then(|| loaded.keys.clone());
        (fresh, usable)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{
        api_key::MemoryKeySource,
        testing::{key_file, key_file_with, KEY_A},
    };

    const TTL: Duration = Duration::from_secs(300);

    fn cache(source: &Arc<MemoryKeySource>) -> KeyCache {
        KeyCache::new(source.clone(), TTL)
    }

    fn knows(keys: &KeyFile, key: &str) -> bool {
        keys.authenticate(key, 0).is_ok()
    }

    #[tokio::test(start_paused = true)]
    async fn keys_are_loaded_once_and_refreshed_after_the_ttl() {
        let source = Arc::new(MemoryKeySource::new(key_file()));
        let cache = cache(&source);
        for _ in 0..5 {
            assert!(knows(&cache.get().await.unwrap(), KEY_A));
        }
        assert_eq!(source.loads(), 1);

        // Revoke KEY_A: still accepted within the TTL, refused after it.
        source.set(key_file_with(|k| k["id"] != "k_a"));
        tokio::time::advance(TTL - Duration::from_secs(1)).await;
        assert!(knows(&cache.get().await.unwrap(), KEY_A));
        assert_eq!(source.loads(), 1);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!knows(&cache.get().await.unwrap(), KEY_A));
        assert_eq!(source.loads(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_refresh_serves_previous_keys_for_the_grace_period_only() {
        let source = Arc::new(MemoryKeySource::new(key_file()));
        let cache = cache(&source);
        cache.get().await.unwrap();
        source.fail();

        tokio::time::advance(TTL + Duration::from_secs(1)).await;
        assert!(knows(&cache.get().await.unwrap(), KEY_A));
        assert_eq!(source.loads(), 2);
        // Within the retry pause, no new attempt is made.
        assert!(cache.get().await.is_ok());
        assert_eq!(source.loads(), 2);

        tokio::time::advance(STALE_GRACE).await;
        assert!(matches!(cache.get().await, Err(KeyError::Unavailable(_))));

        // Recovery: the next attempt after the pause loads the new file.
        source.set(key_file());
        tokio::time::advance(RETRY_AFTER_FAILURE).await;
        assert!(knows(&cache.get().await.unwrap(), KEY_A));
    }

    #[tokio::test(start_paused = true)]
    async fn store_down_at_cold_start_is_unavailable_then_recovers() {
        let source = Arc::new(MemoryKeySource::new(key_file()));
        source.fail();
        let cache = cache(&source);
        assert!(matches!(cache.get().await, Err(KeyError::Unavailable(_))));
        assert!(matches!(cache.get().await, Err(KeyError::Unavailable(_))));
        assert_eq!(source.loads(), 1);
        source.set(key_file());
        tokio::time::advance(RETRY_AFTER_FAILURE).await;
        assert!(cache.get().await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_keys_reload_at_most_once_per_interval() {
        let source = Arc::new(MemoryKeySource::new(key_file_with(|k| k["id"] != "k_a")));
        let cache = cache(&source);
        let first = cache.get().await.unwrap();
        assert!(!knows(&first, KEY_A));
        // Just loaded: an unknown key does not reload.
        assert!(cache.recheck(&first).await.is_none());
        source.set(key_file());
        tokio::time::advance(UNKNOWN_KEY_RECHECK).await;
        let second = cache.recheck(&first).await.unwrap();
        assert!(knows(&second, KEY_A));
        // A flood of unknown keys right after costs nothing more.
        for _ in 0..100 {
            assert!(cache.recheck(&second).await.is_none());
        }
        assert_eq!(source.loads(), 2);
        tokio::time::advance(UNKNOWN_KEY_RECHECK).await;
        assert!(cache.recheck(&second).await.is_some());
        assert_eq!(source.loads(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_created_during_a_refresh_is_not_refused_by_the_requests_that_wait_for_it() {
        let source = Arc::new(MemoryKeySource::new(key_file_with(|k| k["id"] != "k_a")));
        source.set_delay(Duration::from_millis(500));
        let cache = Arc::new(cache(&source));
        cache.get().await.unwrap();
        // The key is created; the instance's keys go stale and one request starts the refresh.
        source.set(key_file());
        tokio::time::advance(TTL).await;
        let refresh = tokio::spawn({
            let cache = cache.clone();
            async move { cache.get().await.unwrap() }
        });
        tokio::task::yield_now().await;
        // Requests arriving meanwhile are served the previous keys, which do not hold the new key: they
        // wait for the refresh in flight instead of being refused.
        let requests: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move {
                    let seen = cache.get().await.unwrap();
                    if knows(&seen, KEY_A) {
                        return true;
                    }
                    cache.recheck(&seen).await.is_some_and(|keys| knows(&keys, KEY_A))
                })
            })
            .collect();
        for request in requests {
            assert!(request.await.unwrap(), "a request during the refresh refused the new key");
        }
        assert!(knows(&refresh.await.unwrap(), KEY_A));
        assert_eq!(source.loads(), 2, "the waiting requests share the refresh in flight");
    }

    #[tokio::test(start_paused = true)]
    async fn expired_keys_are_reloaded_at_the_next_get() {
        let source = Arc::new(MemoryKeySource::new(key_file()));
        let cache = cache(&source);
        assert!(knows(&cache.get().await.unwrap(), KEY_A));
        source.set(key_file_with(|k| k["id"] != "k_a"));
        cache.expire();
        assert!(!knows(&cache.get().await.unwrap(), KEY_A));
        assert!(!knows(&cache.get().await.unwrap(), KEY_A));
        assert_eq!(source.loads(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_share_one_refresh() {
        let source = Arc::new(MemoryKeySource::new(key_file()));
        source.set_delay(Duration::from_millis(500));
        let cache = Arc::new(cache(&source));
        let gets: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.get().await.is_ok() })
            })
            .collect();
        for get in gets {
            assert!(get.await.unwrap());
        }
        assert_eq!(source.loads(), 1);

        // Stale keys: one task refreshes, the others are served the previous keys meanwhile.
        tokio::time::advance(TTL).await;
        let gets: Vec<_> = (0..8)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.get().await.is_ok() })
            })
            .collect();
        for get in gets {
            assert!(get.await.unwrap());
        }
        assert_eq!(source.loads(), 2);
    }
}
