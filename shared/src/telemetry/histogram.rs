//! A latency histogram of fixed buckets, updated with relaxed atomics (no lock on the request path).

use std::{
    sync::atomic::{AtomicU64, Ordering::Relaxed},
    time::Duration,
};

/// Upper bounds (seconds) of the buckets: from a warm in-process call (~1 ms) to the HTTP API's 30 s
/// integration limit. Anything slower lands in the implicit `+Inf` bucket.
pub const BUCKETS_SECONDS: [f64; 14] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Counts per bucket (not cumulative: one increment per observation) plus the `+Inf` slot, and the
/// sum in microseconds.
#[derive(Debug, Default)]
pub struct Histogram {
    slots: [AtomicU64; BUCKETS_SECONDS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let slot = BUCKETS_SECONDS.iter().position(|&bound| seconds <= bound).unwrap_or(BUCKETS_SECONDS.len());
        self.slots[slot].fetch_add(1, Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Relaxed);
    }

    /// Cumulative counts per bound, the `+Inf` count last. Derived from the same slots, so the `+Inf`
    /// bucket always equals the count even while other threads observe.
    pub fn cumulative(&self) -> [u64; BUCKETS_SECONDS.len() + 1] {
        let mut out = [0; BUCKETS_SECONDS.len() + 1];
        let mut running = 0u64;
        for (slot, total) in self.slots.iter().zip(out.iter_mut()) {
            running = running.saturating_add(slot.load(Relaxed));
            *total = running;
        }
        out
    }

    pub fn sum_seconds(&self) -> f64 {
        self.sum_micros.load(Relaxed) as f64 / 1_000_000.0
    }
}
