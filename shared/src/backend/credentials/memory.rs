//! In-memory fake of `SecretSource`, for unit tests: counts reads (to prove caching) and can fail.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex,
    },
};

use async_trait::async_trait;

use super::{CredentialError, SecretSource, SecretValue};

#[derive(Default)]
pub struct MemorySecretSource {
    /// `None` makes every read fail as if Secrets Manager were down.
    secrets: Mutex<Option<HashMap<String, String>>>,
    reads: AtomicUsize,
}

impl MemorySecretSource {
    pub fn new(secrets: &[(&str, &str)]) -> Self {
        let map = secrets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self { secrets: Mutex::new(Some(map)), reads: AtomicUsize::new(0) }
    }

    /// Sets (or rotates) one secret; also ends a simulated outage.
    pub fn set(&self, id: &str, value: &str) {
        self.lock().get_or_insert_with(HashMap::new).insert(id.to_owned(), value.to_owned());
    }

    /// Makes every following read fail until `set` is called.
    pub fn fail(&self) {
        *self.lock() = None;
    }

    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HashMap<String, String>>> {
        self.secrets.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SecretSource for MemorySecretSource {
    async fn secret(&self, id: &str) -> Result<SecretValue, CredentialError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        match self.lock().as_ref() {
            None => Err(CredentialError::Unavailable(id.to_owned(), "memory secret source set to fail".into())),
            Some(map) => map.get(id).map(SecretValue::new).ok_or_else(|| {
                CredentialError::Unavailable(id.to_owned(), "no such secret in the memory source".into())
            }),
        }
    }
}
