//! In-memory fake of the counter store, for unit tests only (per process: exactly what production must
//! not rely on).

use std::{collections::HashMap, sync::Mutex};

use async_trait::async_trait;

use super::{Hit, RateLimitStore};
use crate::store::StoreError;

#[derive(Default)]
pub struct MemoryRateLimitStore {
    counts: Mutex<HashMap<(String, u64), u64>>,
}

#[async_trait]
impl RateLimitStore for MemoryRateLimitStore {
    async fn hit(&self, key: &str, window_start: u64, max: u64, _expires_at: u64) -> Result<Hit, StoreError> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry((key.to_owned(), window_start)).or_insert(0);
        if *count >= max {
            return Ok(Hit::Full);
        }
        *count += 1;
        Ok(Hit::Counted(*count))
    }
}
