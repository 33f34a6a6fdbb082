//! In-memory fake of `KeySource`, for unit tests. It can be switched to failing to exercise the
//! stale-keys grace period, and counts loads to prove keys are not fetched per request.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Mutex,
    },
    time::Duration,
};

use async_trait::async_trait;

use super::{KeyError, KeyFile, KeySource};

pub struct MemoryKeySource {
    /// `None` makes `load` fail as if Secrets Manager were down.
    file: Mutex<Option<KeyFile>>,
    loads: AtomicUsize,
    /// Simulated latency of a load, in milliseconds.
    delay_ms: AtomicU64,
}

impl MemoryKeySource {
    pub fn new(file: KeyFile) -> Self {
        Self { file: Mutex::new(Some(file)), loads: AtomicUsize::new(0), delay_ms: AtomicU64::new(0) }
    }

    /// Replaces the key file (a rotation or revocation).
    pub fn set(&self, file: KeyFile) {
        *self.lock() = Some(file);
    }

    /// Makes every following load fail until `set` is called.
    pub fn fail(&self) {
        *self.lock() = None;
    }

    /// Makes every load take `delay` (tokio time, so paused-clock tests stay instant).
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// How many times `load` was called.
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<KeyFile>> {
        self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl KeySource for MemoryKeySource {
    async fn load(&self) -> Result<KeyFile, KeyError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        self.lock().clone().ok_or_else(|| KeyError::Unavailable("memory key source set to fail".into()))
    }
}
