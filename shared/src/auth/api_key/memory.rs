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

/// In-memory fake of the key secret as text with versions, serving both the gateway ([`KeySource`]) and
/// the admin API ([`KeyAdmin`](super::KeyAdmin)) with the same compare-and-swap semantics as the Secrets
/// Manager adapter. One per test deployment, shared by its instances.
pub struct MemoryKeySecret {
    /// (document, version number).
    state: Mutex<(String, u64)>,
    loads: AtomicUsize,
    conflicts: AtomicUsize,
    read_delay_ms: AtomicU64,
}

impl MemoryKeySecret {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            state: Mutex::new((text.into(), 1)),
            loads: AtomicUsize::new(0),
            conflicts: AtomicUsize::new(0),
            read_delay_ms: AtomicU64::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, (String, u64)> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the document (as an operator editing the secret by hand would).
    pub fn set_text(&self, text: impl Into<String>) {
        let mut state = self.state();
        *state = (text.into(), state.1 + 1);
    }

    pub fn text(&self) -> String {
        self.state().0.clone()
    }

    /// How many times the gateway loaded the keys.
    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }

    /// How many replaces lost a race.
    pub fn conflicts(&self) -> usize {
        self.conflicts.load(Ordering::SeqCst)
    }

    /// Makes every admin read take `delay`, so concurrent writers interleave.
    pub fn set_read_delay(&self, delay: Duration) {
        self.read_delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }
}

#[async_trait]
impl KeySource for MemoryKeySecret {
    async fn load(&self) -> Result<KeyFile, KeyError> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        let text = self.text();
        KeyFile::parse(&text)
    }
}

#[async_trait]
impl super::KeyAdmin for MemoryKeySecret {
    async fn read(&self) -> Result<(String, String), KeyError> {
        let read = self.state().clone();
        let delay = self.read_delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        Ok((read.0, read.1.to_string()))
    }

    async fn replace(&self, version: &str, text: &str) -> Result<bool, KeyError> {
        let mut state = self.state();
        if state.1.to_string() != version {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
            return Ok(false);
        }
        *state = (text.to_owned(), state.1 + 1);
        Ok(true)
    }
}
