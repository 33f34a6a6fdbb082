//! In-memory fake of the result store, for tests: shared by every app built over the same test stores
//! (two instances of one deployment), and counting its reads and writes.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex,
    },
};

use async_trait::async_trait;

use super::{CacheKey, ResultStore};
use crate::store::{now_secs, StoreError};

#[derive(Default)]
pub struct MemoryResultStore {
    entries: Mutex<HashMap<String, (String, u64)>>,
    gets: AtomicUsize,
    puts: AtomicUsize,
}

impl MemoryResultStore {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, u64)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many reads and writes the store has served.
    pub fn operations(&self) -> (usize, usize) {
        (self.gets.load(Ordering::Relaxed), self.puts.load(Ordering::Relaxed))
    }

    /// Every stored entry as (key, data, expires_at), for tests that look at what was kept.
    pub fn dump(&self) -> Vec<(String, String, u64)> {
        self.entries().iter().map(|(k, (d, e))| (k.clone(), d.clone(), *e)).collect()
    }
}

#[async_trait]
impl ResultStore for MemoryResultStore {
    async fn get(&self, key: &CacheKey) -> Result<Option<String>, StoreError> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        Ok(self.entries().get(key.as_str()).filter(|(_, expires)| *expires > now_secs()).map(|(d, _)| d.clone()))
    }

    async fn put(&self, key: &CacheKey, data: &str, expires_at: u64) -> Result<(), StoreError> {
        self.puts.fetch_add(1, Ordering::Relaxed);
        self.entries().insert(key.as_str().to_owned(), (data.to_owned(), expires_at));
        Ok(())
    }
}
