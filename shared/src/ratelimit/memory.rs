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
    async fn hit(&self, key: &str, window_start: u64, max: u64, want: u64, _: u64) -> Result<Hit, StoreError> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry((key.to_owned(), window_start)).or_insert(0);
        // As the DynamoDB adapter: the whole slice if it fits, else what is left, else nothing.
        let granted = want.max(1).min(max.saturating_sub(*count));
        if granted == 0 {
            return Ok(Hit::Full);
        }
        *count += granted;
        Ok(Hit::Counted { granted, count: *count })
    }
}
