//! Leased limits (`RATE_LIMIT_MODE=leased`): an instance takes a slice of a key's window budget with one
//! conditional write (the same atomic `ADD` as exact mode, `n` units at a time) and spends it locally, so
//! most warm requests of a busy principal cost no store round trip.
//!
//! - Never more than the limit: a unit is admitted only if this instance leased it, and the store's
//!   condition never lets the leased total of a window pass the limit. Each unit is spent once.
//! - Sized by recent use: a slice is as many units as this instance admitted for the key so far in the
//!   window (or a tenth of the previous window's, if more), at least one, at most a tenth of the limit. A
//!   quiet key leases one unit at a time: exactly exact mode. A busy one doubles its slice until the cap.
//! - Slices expire with their window: units left at the end of a window are dropped, never carried over.
//! - One lease in flight per key per instance: requests arriving meanwhile wait for it (and share its
//!   outcome, a store failure included) instead of each writing.
//! - A window the store reported full is refused here without asking again until it ends.
//!
//! The price: units an instance leased but has not spent are counted as used everywhere, so a principal
//! whose traffic moves to another instance may see 429 up to one slice (≤ a tenth of the limit) per
//! instance early in that window. `X-RateLimit-Remaining` counts them as used too.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use futures_util::future::{BoxFuture, FutureExt, Shared};

use super::{Charged, Hit, Limit, RateLimitStore, STORE_TIMEOUT};
use crate::{cache::TtlCache, store::StoreError};

/// A slice is at most this fraction of the limit (and at least one unit).
const SLICE_FRACTION: u64 = 10;
/// Bound on keys tracked per instance.
const CAPACITY: usize = 100_000;

type Lease = Shared<BoxFuture<'static, Result<(), Arc<StoreError>>>>;

/// This instance's share of one key's current window.
#[derive(Default)]
struct Slice {
    /// Start of the window the units belong to.
    window: u64,
    /// Leased here and not yet spent.
    units: u64,
    /// Admitted here in this window, and in the previous one: the key's recent rate on this instance.
    served: u64,
    previous: u64,
    /// The window's count in the store after this instance's last lease (every instance's slices).
    count: u64,
    /// The store refused a single unit: the window is full.
    full: bool,
    /// The lease in flight, with its serial number.
    pending: Option<(u64, Lease)>,
    serial: u64,
}

impl Slice {
    /// Moves to the window starting at `window` (each `length` seconds) if it is a new one; `true` when
    /// it did. What was admitted in the window just before it is kept as the recent rate.
    fn roll(&mut self, window: u64, length: u64) -> bool {
        if self.window == window {
            return false;
        }
        let previous = if self.window + length == window { self.served } else { 0 };
        *self = Slice { window, previous, serial: self.serial, ..Slice::default() };
        true
    }

    /// Units to ask for next: the recent rate, at least one, at most a tenth of the limit.
    fn want(&self, max: u64) -> u64 {
        let cap = (max / SLICE_FRACTION).max(1);
        self.served.max(self.previous / SLICE_FRACTION).clamp(1, cap)
    }
}

fn lock(slice: &Mutex<Slice>) -> MutexGuard<'_, Slice> {
    slice.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The slices of one instance.
pub(super) struct Ledger {
    slices: TtlCache<String, Arc<Mutex<Slice>>>,
    window_secs: u64,
}

impl Ledger {
    /// A slice is kept two windows after its last use: long enough that its units have died with their
    /// window before it is forgotten.
    pub fn new(window_secs: u64) -> Self {
        Self { slices: TtlCache::new(Duration::from_secs(2 * window_secs), CAPACITY), window_secs }
    }

    fn slice(&self, key: &str) -> Arc<Mutex<Slice>> {
        if let Some(slice) = self.slices.get(key) {
            return slice;
        }
        let fresh = Arc::new(Mutex::new(Slice::default()));
        // Two requests racing to create it: the first one's stays.
        if self.slices.insert_unless(key.to_owned(), Arc::clone(&fresh), |_| true) {
            return fresh;
        }
        self.slices.get(key).unwrap_or(fresh)
    }

    /// Spends one unit of `limit` in the window starting at `window`, leasing a slice first if none is left.
    pub async fn take(
        &self,
        store: &Arc<dyn RateLimitStore>,
        limit: &Limit,
        window: u64,
        expires_at: u64,
    ) -> Result<Charged, StoreError> {
        let slice = self.slice(&limit.key);
        loop {
            let lease = {
                let mut s = lock(&slice);
                if s.roll(window, self.window_secs) {
                    // Keep the slice as long as it is used.
                    self.slices.insert(limit.key.clone(), Arc::clone(&slice));
                }
                if s.units > 0 {
                    s.units -= 1;
                    s.served += 1;
                    return Ok(Charged::Allowed { remaining: limit.max.saturating_sub(s.count) + s.units });
                }
                if s.full {
                    return Ok(Charged::Refused);
                }
                match &s.pending {
                    Some((_, lease)) => lease.clone(),
                    None => {
                        s.serial += 1;
                        let ask =
                            Ask { key: limit.key.clone(), window, max: limit.max, want: s.want(limit.max), expires_at };
                        let lease = lease(Arc::clone(store), Arc::clone(&slice), s.serial, ask);
                        s.pending = Some((s.serial, lease.clone()));
                        lease
                    }
                }
            };
            // Whoever polls the lease drives it, so a request that gives up leaves it to the next one.
            lease.await.map_err(|error| StoreError::Unavailable(Box::new(error)))?;
        }
    }
}

struct Ask {
    key: String,
    window: u64,
    max: u64,
    want: u64,
    expires_at: u64,
}

/// One conditional write for `ask.want` units; what it got is added to `slice` if its window is current.
fn lease(store: Arc<dyn RateLimitStore>, slice: Arc<Mutex<Slice>>, serial: u64, ask: Ask) -> Lease {
    async move {
        let hit = store.hit(&ask.key, ask.window, ask.max, ask.want, ask.expires_at);
        let outcome = tokio::time::timeout(STORE_TIMEOUT, hit).await;
        let mut s = lock(&slice);
        if s.pending.as_ref().is_some_and(|(n, _)| *n == serial) {
            s.pending = None;
        }
        let hit = match outcome {
            Ok(Ok(hit)) => hit,
            Ok(Err(error)) => return Err(Arc::new(error)),
            Err(_) => return Err(Arc::new(StoreError::Unavailable("rate-limit store timed out".into()))),
        };
        // Units of a window that ended meanwhile are dropped: they expire with it.
        if s.window == ask.window {
            match hit {
                Hit::Counted { granted, count } => {
                    s.units += granted;
                    s.count = s.count.max(count);
                }
                Hit::Full => {
                    s.full = true;
                    s.count = ask.max;
                }
            }
        }
        Ok(())
    }
    .boxed()
    .shared()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::ratelimit::MemoryRateLimitStore;

    /// The memory store, counting writes.
    #[derive(Default)]
    struct Counting {
        inner: MemoryRateLimitStore,
        writes: AtomicU64,
    }

    #[async_trait]
    impl RateLimitStore for Counting {
        async fn hit(&self, key: &str, start: u64, max: u64, want: u64, exp: u64) -> Result<Hit, StoreError> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            tokio::task::yield_now().await;
            self.inner.hit(key, start, max, want, exp).await
        }
    }

    fn allowed(charged: &Result<Charged, StoreError>) -> bool {
        matches!(charged, Ok(Charged::Allowed { .. }))
    }

    #[tokio::test]
    async fn a_quiet_key_leases_one_unit_at_a_time_and_a_busy_one_doubles_up_to_the_cap() {
        let counting = Arc::new(Counting::default());
        let store: Arc<dyn RateLimitStore> = counting.clone();
        let ledger = Ledger::new(60);
        let limit = Limit { key: "p:a".into(), max: 1000 };
        assert!(allowed(&ledger.take(&store, &limit, 0, 120).await));
        assert_eq!(counting.writes.load(Ordering::Relaxed), 1);
        // Sizes 1, 1, 2, 4, …, 64, then 100 (a tenth of the limit): 300 requests, a handful of writes.
        for _ in 0..299 {
            assert!(allowed(&ledger.take(&store, &limit, 0, 120).await));
        }
        let writes = counting.writes.load(Ordering::Relaxed);
        assert!((8..=12).contains(&writes), "{writes} writes");
        // A new window starts from the previous one's rate (a tenth of 300), not from one.
        ledger.take(&store, &limit, 60, 180).await.unwrap();
        assert_eq!(counting.inner.hit("p:a", 60, 1000, 1, 0).await.unwrap(), Hit::Counted { granted: 1, count: 31 });
    }

    #[tokio::test]
    async fn two_instances_never_admit_more_than_the_limit_and_a_saturating_burst_gets_exactly_it() {
        let store: Arc<dyn RateLimitStore> = Arc::new(Counting::default());
        let (a, b) = (Ledger::new(60), Ledger::new(60));
        let limit = Limit { key: "p:a".into(), max: 50 };
        let burst = (0..200).map(|i| {
            let (ledger, store, limit) = (if i % 2 == 0 { &a } else { &b }, &store, &limit);
            async move { ledger.take(store, limit, 0, 120).await }
        });
        let outcomes = futures_util::future::join_all(burst).await;
        assert_eq!(outcomes.iter().filter(|o| allowed(o)).count(), 50);
        assert!(outcomes.iter().all(|o| matches!(o, Ok(Charged::Allowed { .. } | Charged::Refused))));
    }

    #[tokio::test]
    async fn a_full_window_is_refused_without_asking_again_and_the_next_window_starts_afresh() {
        let counting = Arc::new(Counting::default());
        let store: Arc<dyn RateLimitStore> = counting.clone();
        let ledger = Ledger::new(60);
        let limit = Limit { key: "p:a".into(), max: 3 };
        for _ in 0..3 {
            assert!(allowed(&ledger.take(&store, &limit, 0, 120).await));
        }
        let writes = counting.writes.load(Ordering::Relaxed);
        for _ in 0..5 {
            assert!(matches!(ledger.take(&store, &limit, 0, 120).await, Ok(Charged::Refused)));
        }
        assert_eq!(counting.writes.load(Ordering::Relaxed), writes + 1, "one write learns the window is full");
        assert!(allowed(&ledger.take(&store, &limit, 60, 180).await));
    }

    struct Down;
    #[async_trait]
    impl RateLimitStore for Down {
        async fn hit(&self, _: &str, _: u64, _: u64, _: u64, _: u64) -> Result<Hit, StoreError> {
            tokio::task::yield_now().await;
            Err(StoreError::Unavailable("down".into()))
        }
    }

    #[tokio::test]
    async fn requests_waiting_on_a_failed_lease_all_hear_the_failure() {
        let store: Arc<dyn RateLimitStore> = Arc::new(Down);
        let ledger = Ledger::new(60);
        let limit = Limit { key: "p:a".into(), max: 50 };
        let waiting = (0..10).map(|_| ledger.take(&store, &limit, 0, 120));
        let outcomes = futures_util::future::join_all(waiting).await;
        assert!(outcomes.iter().all(Result::is_err));
    }
}
