//! In-memory fake of the store ports, for unit tests of one module. Not for production: it is per
//! process, which is exactly what the gateway must not depend on.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
};

use async_trait::async_trait;

use super::{now_secs, SessionStore, StoreError};
use crate::protocol::Session;

#[derive(Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, Session>>,
    /// Reads so far, so tests can tell what reached the store and what a cache in front of it answered.
    loads: AtomicU64,
}

impl MemoryStore {
    /// How many times `load` was called.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SessionStore for MemoryStore {
    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.loads.fetch_add(1, Ordering::Relaxed);
        Ok(self.sessions().get(id).filter(|s| s.expires_at > now_secs()).cloned())
    }

    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        self.sessions().entry(session.id.clone()).or_insert_with(|| session.clone());
        Ok(())
    }

    async fn update(&self, session: &Session) -> Result<bool, StoreError> {
        match self.sessions().get_mut(&session.id) {
            Some(stored) => {
                *stored = session.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.sessions().remove(id);
        Ok(())
    }
}
