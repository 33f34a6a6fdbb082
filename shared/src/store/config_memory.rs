//! In-memory fake of [`ConfigStore`](super::ConfigStore): one per test deployment, shared by its
//! instances, with the same conditional-replace semantics as the DynamoDB adapter. Counts version polls
//! and document loads, so tests can prove polling is bounded.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex,
    },
};

use async_trait::async_trait;

use super::{
    config::{ConfigStore, ConfigVersion, StoredDocument, AUDIT_RING},
    StoreError,
};

#[derive(Default)]
struct State {
    version: ConfigVersion,
    document: StoredDocument,
    audit: VecDeque<(u64, String)>,
    seq: u64,
    failing: bool,
}

#[derive(Default)]
pub struct MemoryConfigStore {
    state: Mutex<State>,
    polls: AtomicUsize,
    loads: AtomicUsize,
}

impl MemoryConfigStore {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check(&self) -> Result<std::sync::MutexGuard<'_, State>, StoreError> {
        let state = self.state();
        if state.failing {
            return Err(StoreError::unavailable(std::io::Error::other("memory config store set to fail")));
        }
        Ok(state)
    }

    /// How many version polls were made.
    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    /// How many document loads were made.
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// Makes every call fail (or work again), as if DynamoDB were down.
    pub fn set_failing(&self, failing: bool) {
        self.state().failing = failing;
    }
}

#[async_trait]
impl ConfigStore for MemoryConfigStore {
    async fn version(&self) -> Result<ConfigVersion, StoreError> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        Ok(self.check()?.version)
    }

    async fn load(&self) -> Result<StoredDocument, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        Ok(self.check()?.document.clone())
    }

    async fn save(&self, expected: u64, text: &str) -> Result<Option<u64>, StoreError> {
        let mut state = self.check()?;
        if state.document.version != expected {
            return Ok(None);
        }
        let version = expected + 1;
        state.document = StoredDocument { version, text: text.to_owned() };
        state.version.config = version;
        Ok(Some(version))
    }

    async fn touch_keys(&self) -> Result<(), StoreError> {
        self.check()?.version.keys += 1;
        Ok(())
    }

    async fn append_audit(&self, event: &str) -> Result<u64, StoreError> {
        let mut state = self.check()?;
        state.seq += 1;
        let seq = state.seq;
        state.audit.push_front((seq, event.to_owned()));
        state.audit.truncate(AUDIT_RING as usize);
        Ok(seq)
    }

    async fn recent_audit(&self, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        Ok(self.check()?.audit.iter().take(limit).cloned().collect())
    }
}
