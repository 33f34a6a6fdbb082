//! The session store as one instance sees it: a short-lived per-instance copy of each session it has read
//! or written, in front of the shared store, so a warm request of an established session reads nothing.
//!
//! Why a copy may be trusted: a session is immutable after `initialize` except for its backend sessions
//! and its expiry. The owner and the negotiated version — all that admission checks — never change, and
//! a stale backend session only costs one re-open (the backend answers 404, `mcp::upstream` opens a new
//! one and the session is saved).
//!
//! How a `DELETE` is honoured everywhere within the cache's TTL (`GATEWAY_SESSION_CACHE_SECS`):
//! - the instance that deletes puts a tombstone in its own cache first, so it refuses the session at once
//!   and a read that was already in flight cannot bring the copy back;
//! - every other instance holds a copy for at most the TTL from the moment it read it, then reads the
//!   store again and finds nothing (reads are strongly consistent);
//! - any write of a deleted session fails its condition (`attribute_exists`), and the instance that
//!   tried it tombstones the session at once.
//!
//! So a deleted session can be served by another instance, to its own (re-authenticated) owner only, for
//! at most the TTL plus the duration of one store read. A TTL of zero turns the cache off.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;

use super::{now_secs, SessionStore, StoreError};
use crate::{cache::TtlCache, protocol::Session};

/// Bound on cached sessions (and tombstones) per instance.
const CAPACITY: usize = 10_000;

#[derive(Clone)]
enum Entry {
    Live(Arc<Session>),
    /// Deleted, or not in the store: refused without a read until the entry expires.
    Gone,
}

pub struct CachedSessionStore {
    inner: Arc<dyn SessionStore>,
    entries: TtlCache<String, Entry>,
}

impl CachedSessionStore {
    /// `inner` with copies kept for `ttl` (zero: every load reads `inner`).
    pub fn new(inner: Arc<dyn SessionStore>, ttl: Duration) -> Self {
        Self { inner, entries: TtlCache::new(ttl, CAPACITY) }
    }

    /// Caches `entry` unless the session was tombstoned meanwhile (a delete wins over a read in flight).
    fn keep(&self, id: &str, entry: Entry) {
        self.entries.insert_unless(id.to_owned(), entry, |current| matches!(current, Entry::Gone));
    }
}

#[async_trait]
impl SessionStore for CachedSessionStore {
    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        match self.entries.get(id) {
            Some(Entry::Gone) => return Ok(None),
            // An expired copy is read again: another instance may have slid the expiry forward.
            Some(Entry::Live(session)) if session.expires_at > now_secs() => return Ok(Some((*session).clone())),
            _ => {}
        }
        let loaded = self.inner.load(id).await?;
        let entry = match &loaded {
            Some(session) => Entry::Live(Arc::new(session.clone())),
            None => Entry::Gone,
        };
        self.keep(id, entry);
        // A delete on this instance while the read was in flight wins.
        match self.entries.get(id) {
            Some(Entry::Gone) => Ok(None),
            _ => Ok(loaded),
        }
    }

    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        self.inner.create(session).await?;
        self.keep(&session.id, Entry::Live(Arc::new(session.clone())));
        Ok(())
    }

    async fn update(&self, session: &Session) -> Result<bool, StoreError> {
        match self.inner.update(session).await {
            Ok(true) => {
                self.keep(&session.id, Entry::Live(Arc::new(session.clone())));
                Ok(true)
            }
            Ok(false) => {
                self.entries.insert(session.id.clone(), Entry::Gone);
                Ok(false)
            }
            // Whether it was written is unknown; the copy held is still right about everything admission
            // checks, and a backend session it holds that was replaced costs one re-open at most.
            Err(error) => Err(error),
        }
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.entries.insert(id.to_owned(), Entry::Gone);
        if let Err(error) = self.inner.delete(id).await {
            // Not deleted: the session lives on, so this instance must not refuse it either.
            self.entries.remove(id);
            return Err(error);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn session(id: &str) -> Session {
        Session {
            id: id.into(),
            owner: "k_a".into(),
            protocol_version: "2025-11-25".into(),
            client_capabilities: serde_json::json!({}),
            client_info: serde_json::Value::Null,
            backends: Default::default(),
            log_level: None,
            expires_at: now_secs() + 600,
        }
    }

    #[tokio::test]
    async fn a_cached_session_is_read_once_and_a_delete_on_another_instance_waits_for_the_ttl() {
        let shared = Arc::new(MemoryStore::default());
        let a = CachedSessionStore::new(shared.clone(), Duration::from_millis(300));
        let b = CachedSessionStore::new(shared.clone(), Duration::from_millis(300));
        a.create(&session("s1")).await.unwrap();
        assert!(b.load("s1").await.unwrap().is_some());
        let reads = shared.loads();
        assert!(b.load("s1").await.unwrap().is_some());
        assert!(a.load("s1").await.unwrap().is_some());
        assert_eq!(shared.loads(), reads, "warm loads read nothing");
        a.delete("s1").await.unwrap();
        assert!(a.load("s1").await.unwrap().is_none(), "the deleting instance refuses it at once");
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(b.load("s1").await.unwrap().is_none(), "every instance refuses it after the TTL");
    }

    #[tokio::test]
    async fn a_failed_conditional_write_tombstones_the_session() {
        let shared = Arc::new(MemoryStore::default());
        let a = CachedSessionStore::new(shared.clone(), Duration::from_secs(60));
        let b = CachedSessionStore::new(shared.clone(), Duration::from_secs(60));
        a.create(&session("s1")).await.unwrap();
        assert!(b.load("s1").await.unwrap().is_some());
        a.delete("s1").await.unwrap();
        assert!(!b.update(&session("s1")).await.unwrap(), "the write does not bring it back");
        assert!(b.load("s1").await.unwrap().is_none());
        assert!(shared.load("s1").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn zero_ttl_reads_the_store_every_time() {
        let shared = Arc::new(MemoryStore::default());
        let off = CachedSessionStore::new(shared.clone(), Duration::ZERO);
        off.create(&session("s1")).await.unwrap();
        let reads = shared.loads();
        off.load("s1").await.unwrap();
        off.load("s1").await.unwrap();
        assert_eq!(shared.loads(), reads + 2);
    }
}
