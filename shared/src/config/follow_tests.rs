//! The follower against in-memory stores (and stores that are slow or read apart).

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

/// The memory store, with a version read that takes 100 ms (`slow`) or a snapshot that hands back a
/// document older than the versions (`stale`: the two items were read apart).
struct Twisted {
    inner: Arc<MemoryConfigStore>,
    slow: bool,
    stale: Option<StoredDocument>,
}

#[async_trait::async_trait]
impl ConfigStore for Twisted {
    async fn version(&self) -> Result<ConfigVersion, crate::store::StoreError> {
        if self.slow {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.inner.version().await
    }
    async fn load(&self) -> Result<StoredDocument, crate::store::StoreError> {
        self.inner.load().await
    }
    async fn snapshot(&self) -> Result<(ConfigVersion, StoredDocument), crate::store::StoreError> {
        let version = self.version().await?;
        Ok((version, self.stale.clone().unwrap_or(self.load().await?)))
    }
    async fn save(&self, expected: u64, text: &str) -> Result<Option<u64>, crate::store::StoreError> {
        self.inner.save(expected, text).await
    }
    async fn touch_keys(&self) -> Result<(), crate::store::StoreError> {
        self.inner.touch_keys().await
    }
    async fn append_audit(&self, event: &str) -> Result<u64, crate::store::StoreError> {
        self.inner.append_audit(event).await
    }
    async fn recent_audit(&self, limit: usize) -> Result<Vec<(u64, String)>, crate::store::StoreError> {
        self.inner.recent_audit(limit).await
    }
}

#[tokio::test(start_paused = true)]
async fn requests_of_a_new_instance_wait_for_its_first_check() {
    let memory = Arc::new(MemoryConfigStore::default());
    memory.save(0, &stored_c()).await.unwrap();
    let follower = ConfigFollower::new(
        Arc::new(Twisted { inner: memory.clone(), slow: true, stale: None }),
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

#[tokio::test(start_paused = true)]
async fn a_first_document_read_behind_the_versions_is_caught_up_at_the_next_check() {
    let inner = Arc::new(MemoryConfigStore::default());
    inner.save(0, r#"{"backends":[]}"#).await.unwrap();
    let stale = inner.load().await.unwrap();
    inner.save(1, &stored_c()).await.unwrap();
    let base = follower(&inner);
    let follower = ConfigFollower::new(
        Arc::new(Twisted { inner: inner.clone(), slow: false, stale: Some(stale) }),
        base.document().clone(),
        base.defaults().clone(),
        Duration::from_secs(2),
    );
    let first = poll(&follower).await.unwrap().config.expect("the stale document is applied");
    assert_eq!((first.version, first.backends.len()), (1, 1));
    tokio::time::advance(Duration::from_secs(2)).await;
    let next = poll(&follower).await.unwrap().config.expect("the next check loads the newer document");
    assert_eq!(next.version, 2);
    assert_eq!(next.backends.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
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
    // The first check reads the document with the versions (a snapshot); later ones only on change.
    assert_eq!((store.polls(), store.loads()), (1, 1));
    store.save(0, &stored_c()).await.unwrap();
    tokio::time::advance(Duration::from_secs(2)).await;
    let applied = poll(&follower).await.unwrap().config.unwrap();
    assert_eq!(applied.backends.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
    assert!(applied.disabled_tools.contains("a_x"));
    tokio::time::advance(Duration::from_secs(2)).await;
    assert!(poll(&follower).await.unwrap().config.is_none());
    assert_eq!((store.polls(), store.loads()), (3, 2));
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
