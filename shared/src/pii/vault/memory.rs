//! In-memory fake of `VaultStore`, for unit tests and the benchmark. It enforces the same version
//! condition as DynamoDB, counts calls (to prove one load and at most one write per request) and can be
//! switched to failing.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Mutex,
    },
};

use async_trait::async_trait;

use super::{SaveOutcome, SealedVault, VaultStore};
use crate::store::StoreError;

#[derive(Default)]
pub struct MemoryVaultStore {
    items: Mutex<HashMap<String, SealedVault>>,
    loads: AtomicUsize,
    saves: AtomicUsize,
    failing: AtomicBool,
}

impl MemoryVaultStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many `load` calls were made.
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// How many `save` calls were made (including those that met a conflict).
    pub fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }

    /// Makes every call fail as if DynamoDB were down (or works again with `false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// The stored item, for tests that tamper with it (copy a blob to another scope, expire it).
    pub fn get(&self, scope_id: &str) -> Option<SealedVault> {
        self.lock().get(scope_id).cloned()
    }

    /// Replaces the stored item unconditionally.
    pub fn put(&self, scope_id: &str, vault: SealedVault) {
        self.lock().insert(scope_id.to_owned(), vault);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SealedVault>> {
        self.items.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("memory vault store set to fail".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl VaultStore for MemoryVaultStore {
    async fn load(&self, scope_id: &str) -> Result<Option<SealedVault>, StoreError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        Ok(self.get(scope_id))
    }

    async fn save(
        &self,
        scope_id: &str,
        vault: &SealedVault,
        expected: Option<u64>,
    ) -> Result<SaveOutcome, StoreError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        let mut items = self.lock();
        if items.get(scope_id).map(|v| v.version) != expected {
            return Ok(SaveOutcome::Conflict);
        }
        items.insert(scope_id.to_owned(), vault.clone());
        Ok(SaveOutcome::Saved)
    }

    async fn delete(&self, scope_id: &str) -> Result<(), StoreError> {
        self.check()?;
        self.lock().remove(scope_id);
        Ok(())
    }
}
