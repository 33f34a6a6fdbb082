//! How an instance learns of stored changes without a cold start and without paying for it per request:
//! on request arrival, when its last check is older than the poll interval (`GATEWAY_CONFIG_POLL_SECS`,
//! default 2 s), one request reads the small version item; only when a version changed is the document
//! read and the merged backend set rebuilt. Never more than one poll in flight per instance: a request
//! that finds one running goes on with what the instance has. This fits Lambda, whose instances are
//! frozen between requests (no background timer would run): the check happens when work arrives.
//!
//! Cost: at most one eventually consistent `GetItem` of a ~50-byte item per instance per interval, plus
//! one read of the document per change. A change is applied by every instance at its first request
//! after the change plus one interval at most.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use tokio::time::Instant;

use super::stored::{self, Overrides};
use crate::{
    backend::{BackendSet, Defaults},
    store::{ConfigStore, ConfigVersion, StoredDocument},
};

/// What a poll found.
#[derive(Debug, Default)]
pub struct Changes {
    /// The new configuration, when the stored document changed.
    pub config: Option<Applied>,
    /// The API keys were changed through the admin API: reload them.
    pub keys: bool,
}

/// A stored configuration ready to serve.
#[derive(Debug)]
pub struct Applied {
    pub version: u64,
    pub backends: BackendSet,
    pub disabled_tools: BTreeSet<String>,
}

#[derive(Default)]
struct State {
    /// When the last check started.
    checked: Option<Instant>,
    /// Whether a check ever finished (with or without an answer from the store).
    finished: bool,
    seen: Option<ConfigVersion>,
    applied: u64,
    /// Stored backends left out of the live set, with the reason.
    problems: Vec<(String, String)>,
}

pub struct ConfigFollower {
    store: Arc<dyn ConfigStore>,
    /// The deployment's backends document (the bootstrap default).
    document: Value,
    defaults: Defaults,
    interval: Duration,
    state: Mutex<State>,
    polling: tokio::sync::Mutex<()>,
}

impl ConfigFollower {
    pub fn new(store: Arc<dyn ConfigStore>, document: Value, defaults: Defaults, interval: Duration) -> Self {
        Self { store, document, defaults, interval, state: Mutex::default(), polling: tokio::sync::Mutex::new(()) }
    }

    pub fn store(&self) -> &Arc<dyn ConfigStore> {
        &self.store
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    pub fn defaults(&self) -> &Defaults {
        &self.defaults
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stored version this instance serves, and how long ago it last checked.
    pub fn applied(&self) -> (u64, Option<Duration>) {
        let state = self.state();
        (state.applied, state.checked.map(|at| at.elapsed()))
    }

    /// Stored backends left out of the live set (id, reason).
    pub fn problems(&self) -> Vec<(String, String)> {
        self.state().problems.clone()
    }

    /// The lazy check of a request, `apply` given what it found (while no other check can start). Returns
    /// at once when the last check is recent or another request is checking, except on a new instance:
    /// until its first check has finished, requests wait for it, so an instance never serves what an
    /// operator changed before it started.
    pub async fn poll(&self, apply: impl FnOnce(Changes)) {
        if self.settled() {
            return;
        }
        let _polling = match self.polling.try_lock() {
            Ok(guard) => guard,
            Err(_) if self.state().finished => return,
            Err(_) => self.polling.lock().await,
        };
        // The check we did not start may have just finished.
        if self.settled() {
            return;
        }
        if let Some(changes) = self.check().await {
            apply(changes);
        }
    }

    /// Checks now (after this instance changed the configuration itself), waiting for a running check.
    pub async fn poll_now(&self, apply: impl FnOnce(Changes)) {
        let _polling = self.polling.lock().await;
        if let Some(changes) = self.check().await {
            apply(changes);
        }
    }

    /// The check of a cold start, before any request can arrive: what it found, to apply once the
    /// instance is built.
    pub async fn first_check(&self) -> Option<Changes> {
        let _polling = self.polling.lock().await;
        self.check().await
    }

    /// Whether the last check finished and is recent.
    fn settled(&self) -> bool {
        let state = self.state();
        state.finished && state.checked.is_some_and(|at| at.elapsed() < self.interval)
    }

    async fn check(&self) -> Option<Changes> {
        self.state().checked = Some(Instant::now());
        let changes = self.read_changes().await;
        self.state().finished = true;
        changes
    }

    async fn read_changes(&self) -> Option<Changes> {
        let version = match self.store.version().await {
            Ok(version) => version,
            Err(error) => {
                // The instance keeps serving what it has; the next check is one interval away.
                tracing::warn!(%error, "could not check the stored configuration's version");
                return None;
            }
        };
        let seen = self.state().seen;
        let keys = seen.is_some_and(|s| s.keys != version.keys);
        let mut config = None;
        // Version 0: nothing was ever stored, the document alone is what the instance already serves.
        if seen.map_or(version.config > 0, |s| s.config != version.config) {
            match self.store.load().await {
                Ok(document) => config = self.apply(document),
                Err(error) => {
                    tracing::warn!(%error, "could not read the stored configuration; will retry");
                    self.state().seen = Some(ConfigVersion { config: seen.map_or(0, |s| s.config), ..version });
                    return Some(Changes { config: None, keys });
                }
            }
        }
        self.state().seen = Some(version);
        Some(Changes { config, keys })
    }

    fn apply(&self, document: StoredDocument) -> Option<Applied> {
        let overrides = match Overrides::parse(&document.text) {
            Ok(overrides) => overrides,
            Err(error) => {
                tracing::error!(%error, version = document.version, "stored configuration is corrupt; not applied");
                return None;
            }
        };
        match stored::build(&self.document, &overrides, &self.defaults) {
            Ok((backends, problems)) => {
                let mut state = self.state();
                (state.applied, state.problems) = (document.version, problems);
                tracing::info!(version = document.version, backends = backends.len(), "stored configuration applied");
                Some(Applied { version: document.version, backends, disabled_tools: overrides.disabled_tools() })
            }
            Err(error) => {
                tracing::error!(%error, "stored configuration could not be applied");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{backend::NetworkPolicy, store::MemoryConfigStore};

    fn follower(store: &Arc<MemoryConfigStore>) -> ConfigFollower {
        let defaults =
            Defaults { network: NetworkPolicy { allow_private: false, allow_loopback: true }, ..Defaults::default() };
        let document = serde_json::json!({"backends": [{"id": "a", "url": "http://127.0.0.1:1/mcp"}]});
        ConfigFollower::new(store.clone(), document, defaults, Duration::from_secs(2))
    }

    async fn poll(follower: &ConfigFollower) -> Option<Changes> {
        let mut found = None;
        follower.poll(|changes| found = Some(changes)).await;
        found
    }

    async fn poll_now(follower: &ConfigFollower) -> Option<Changes> {
        let mut found = None;
        follower.poll_now(|changes| found = Some(changes)).await;
        found
    }

    /// A store whose version read takes 100 ms.
    struct Slow(Arc<MemoryConfigStore>);

    #[async_trait::async_trait]
    impl ConfigStore for Slow {
        async fn version(&self) -> Result<ConfigVersion, crate::store::StoreError> {
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.0.version().await
        }
        async fn load(&self) -> Result<StoredDocument, crate::store::StoreError> {
            self.0.load().await
        }
        async fn save(&self, expected: u64, text: &str) -> Result<Option<u64>, crate::store::StoreError> {
            self.0.save(expected, text).await
        }
        async fn touch_keys(&self) -> Result<(), crate::store::StoreError> {
            self.0.touch_keys().await
        }
        async fn append_audit(&self, event: &str) -> Result<u64, crate::store::StoreError> {
            self.0.append_audit(event).await
        }
        async fn recent_audit(&self, limit: usize) -> Result<Vec<(u64, String)>, crate::store::StoreError> {
            self.0.recent_audit(limit).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn requests_of_a_new_instance_wait_for_its_first_check() {
        let memory = Arc::new(MemoryConfigStore::default());
        memory.save(0, &stored_c()).await.unwrap();
        let follower = ConfigFollower::new(
            Arc::new(Slow(memory.clone())),
            serde_json::json!({"backends": []}),
            follower(&memory).defaults().clone(),
            Duration::from_secs(2),
        );
        let applied = std::sync::atomic::AtomicBool::new(false);
        let first = follower.poll(|changes| {
            assert!(changes.config.is_some());
            applied.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        // A second request while the first check is in flight: it neither checks again nor goes on
        // with the deployment's document; it returns once the first check's changes are applied.
        let second = async {
            follower.poll(|_| panic!("the second request must not check again")).await;
            assert!(applied.load(std::sync::atomic::Ordering::SeqCst), "returned before the changes were applied");
        };
        tokio::join!(first, second);
        assert_eq!((memory.polls(), memory.loads()), (1, 1));
        // Once the first check is done, a request finding a check in flight goes on at once.
        tokio::time::advance(Duration::from_secs(2)).await;
        let started = tokio::time::Instant::now();
        let slow = follower.poll(|_| {});
        let fast = async {
            tokio::task::yield_now().await;
            follower.poll(|_| panic!("a check is already running")).await;
            assert_eq!(started.elapsed(), Duration::ZERO);
        };
        tokio::join!(slow, fast);
    }

    fn stored_c() -> String {
        serde_json::json!({"backends": [{"entry": {"id": "c", "url": "http://127.0.0.1:3/mcp"}, "version": 1,
            "updatedAt": 0, "updatedBy": "k"}], "tools": {"a_x": {"enabled": false, "updatedAt": 0, "updatedBy": "k"}}})
        .to_string()
    }

    #[tokio::test(start_paused = true)]
    async fn polls_at_most_once_per_interval_and_loads_only_on_change() {
        let store = Arc::new(MemoryConfigStore::default());
        let follower = follower(&store);
        assert!(poll(&follower).await.unwrap().config.is_none());
        for _ in 0..50 {
            assert!(poll(&follower).await.is_none());
        }
        assert_eq!((store.polls(), store.loads()), (1, 0));
        store.save(0, &stored_c()).await.unwrap();
        tokio::time::advance(Duration::from_secs(2)).await;
        let applied = poll(&follower).await.unwrap().config.unwrap();
        assert_eq!(applied.backends.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
        assert!(applied.disabled_tools.contains("a_x"));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(poll(&follower).await.unwrap().config.is_none());
        assert_eq!((store.polls(), store.loads()), (3, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_outage_keeps_the_current_configuration_and_retries() {
        let store = Arc::new(MemoryConfigStore::default());
        store.save(0, &stored_c()).await.unwrap();
        let follower = follower(&store);
        store.set_failing(true);
        assert!(poll(&follower).await.is_none());
        assert!(poll(&follower).await.is_none());
        assert_eq!(store.polls(), 1);
        store.set_failing(false);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(poll(&follower).await.unwrap().config.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn key_changes_are_reported_once() {
        let store = Arc::new(MemoryConfigStore::default());
        let follower = follower(&store);
        assert!(!poll_now(&follower).await.unwrap().keys);
        store.touch_keys().await.unwrap();
        assert!(poll_now(&follower).await.unwrap().keys);
        assert!(!poll_now(&follower).await.unwrap().keys);
    }
}
