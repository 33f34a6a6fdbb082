//! In-memory fake of `VaultStore`, for unit tests and the benchmarks. It enforces the same conditions as
//! the DynamoDB adapter, counts calls (to prove which requests touch the vault at all, and how often) and
//! can be switched to failing.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Mutex, MutexGuard,
    },
};

use async_trait::async_trait;

use super::{Inserted, Reservation, Reserved, VaultEntry, VaultMeta, VaultStore};
use crate::store::StoreError;

#[derive(Debug, Clone)]
enum Item {
    Meta(VaultMeta),
    Entry(VaultEntry),
}

/// Calls made, per operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VaultCalls {
    pub reads: usize,
    pub reserves: usize,
    pub inserts: usize,
    pub refreshes: usize,
    pub forgets: usize,
}

impl VaultCalls {
    pub fn total(&self) -> usize {
        self.reads + self.reserves + self.inserts + self.refreshes + self.forgets
    }

    /// Calls that write (all but reads).
    pub fn writes(&self) -> usize {
        self.total() - self.reads
    }
}

#[derive(Default)]
pub struct MemoryVaultStore {
    items: Mutex<HashMap<String, Item>>,
    reads: AtomicUsize,
    reserves: AtomicUsize,
    inserts: AtomicUsize,
    refreshes: AtomicUsize,
    forgets: AtomicUsize,
    failing: AtomicBool,
}

impl MemoryVaultStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn calls(&self) -> VaultCalls {
        let n = |c: &AtomicUsize| c.load(Ordering::SeqCst);
        VaultCalls {
            reads: n(&self.reads),
            reserves: n(&self.reserves),
            inserts: n(&self.inserts),
            refreshes: n(&self.refreshes),
            forgets: n(&self.forgets),
        }
    }

    /// Makes every call fail as if DynamoDB were down (or works again with `false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many items exist (meta, tokens and fingerprints of every scope).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every item key, for tests that tamper with items.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// A stored token or fingerprint item.
    pub fn entry(&self, key: &str) -> Option<VaultEntry> {
        match self.lock().get(key) {
            Some(Item::Entry(entry)) => Some(entry.clone()),
            _ => None,
        }
    }

    /// Replaces an item unconditionally (its key is `entry.key`).
    pub fn put_entry(&self, entry: VaultEntry) {
        self.lock().insert(entry.key.clone(), Item::Entry(entry));
    }

    /// A stored meta item.
    pub fn meta(&self, key: &str) -> Option<VaultMeta> {
        match self.lock().get(key) {
            Some(Item::Meta(meta)) => Some(meta.clone()),
            _ => None,
        }
    }

    /// Replaces a meta item unconditionally.
    pub fn put_meta(&self, key: &str, meta: VaultMeta) {
        self.lock().insert(key.to_owned(), Item::Meta(meta));
    }

    /// Expires every item now (as if the TTL had passed, before DynamoDB deletes them).
    pub fn expire_all(&self) {
        for item in self.lock().values_mut() {
            match item {
                Item::Meta(meta) => meta.expires_at = 1,
                Item::Entry(entry) => entry.expires_at = 1,
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Item>> {
        self.items.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn count(&self, counter: &AtomicUsize) -> Result<(), StoreError> {
        counter.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("memory vault store set to fail".into()));
        }
        Ok(())
    }
}

fn live_entry(items: &HashMap<String, Item>, key: &str, now: u64) -> bool {
    match items.get(key) {
        Some(Item::Entry(entry)) => entry.live(now),
        Some(Item::Meta(_)) => true,
        None => false,
    }
}

#[async_trait]
impl VaultStore for MemoryVaultStore {
    async fn read(&self, meta_key: &str, keys: &[String]) -> Result<(Option<VaultMeta>, Vec<VaultEntry>), StoreError> {
        self.count(&self.reads)?;
        let items = self.lock();
        let meta = match items.get(meta_key) {
            Some(Item::Meta(meta)) => Some(meta.clone()),
            _ => None,
        };
        let entries = keys
            .iter()
            .filter_map(|k| match items.get(k) {
                Some(Item::Entry(entry)) => Some(entry.clone()),
                _ => None,
            })
            .collect();
        Ok((meta, entries))
    }

    async fn reserve(&self, meta_key: &str, reservation: &Reservation) -> Result<Reserved, StoreError> {
        self.count(&self.reserves)?;
        let mut items = self.lock();
        let mut meta = match items.get(meta_key) {
            Some(Item::Meta(meta)) => meta.clone(),
            Some(Item::Entry(_)) => return Err(StoreError::Corrupt("vault meta key holds an entry".into())),
            None => VaultMeta::default(),
        };
        let size = reservation.size();
        let total = match reservation.restart_from {
            Some(expiry) if meta.expires_at != expiry => return Ok(Reserved::Refused),
            Some(_) => size,
            None => meta.total + size,
        };
        if meta.deleted || total > reservation.cap {
            return Ok(Reserved::Refused);
        }
        for (kind, n) in &reservation.counts {
            meta.counters[*kind as usize] += n;
        }
        meta.total = total;
        meta.expires_at = reservation.expires_at;
        items.insert(meta_key.to_owned(), Item::Meta(meta.clone()));
        Ok(Reserved::Granted(meta))
    }

    async fn insert(&self, pairs: &[(VaultEntry, VaultEntry)], now: u64) -> Result<Vec<Inserted>, StoreError> {
        self.count(&self.inserts)?;
        let mut items = self.lock();
        let mut outcomes = Vec::with_capacity(pairs.len());
        // As the adapter does: the token first, then the fingerprint, each only where no live item is.
        for (token, fingerprint) in pairs {
            if live_entry(&items, &token.key, now) {
                outcomes.push(Inserted::Taken);
                continue;
            }
            items.insert(token.key.clone(), Item::Entry(token.clone()));
            if live_entry(&items, &fingerprint.key, now) {
                outcomes.push(Inserted::Taken);
                continue;
            }
            items.insert(fingerprint.key.clone(), Item::Entry(fingerprint.clone()));
            outcomes.push(Inserted::Inserted);
        }
        Ok(outcomes)
    }

    async fn refresh(&self, meta_key: &str, keys: &[String], expires_at: u64, now: u64) -> Result<(), StoreError> {
        self.count(&self.refreshes)?;
        let mut items = self.lock();
        if let Some(Item::Meta(meta)) = items.get_mut(meta_key) {
            if meta.live(now) {
                meta.expires_at = meta.expires_at.max(expires_at);
            }
        }
        for key in keys {
            if let Some(Item::Entry(entry)) = items.get_mut(key) {
                if entry.live(now) {
                    entry.expires_at = entry.expires_at.max(expires_at);
                }
            }
        }
        Ok(())
    }

    async fn forget(&self, meta_key: &str, expires_at: u64) -> Result<(), StoreError> {
        self.count(&self.forgets)?;
        let mut items = self.lock();
        let mut meta = match items.get(meta_key) {
            Some(Item::Meta(meta)) => meta.clone(),
            _ => VaultMeta::default(),
        };
        meta.deleted = true;
        meta.expires_at = meta.expires_at.max(expires_at);
        items.insert(meta_key.to_owned(), Item::Meta(meta));
        Ok(())
    }
}
