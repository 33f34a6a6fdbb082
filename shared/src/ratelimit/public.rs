//! The limit on public routes (`/health`, `/mcp/health` without a credential, `/.well-known/*`,
//! `/metrics`): requests per window per client address, counted **in the answering instance's memory**.
//!
//! Why not DynamoDB like the other limits: a public answer costs no backend call and no table access (it
//! is static or read from the instance's memory), so an exact fleet-wide count would make every anonymous
//! request cost a table write, which is exactly what it must not be able to buy; and the `health` and
//! `metrics` functions keep roles with no table access at all. The count is per instance; API Gateway's
//! stage throttling bounds the fleet. Anything that costs more than an answer from memory (the detailed
//! health view, backend probes) needs a credential and is charged to the caller's own limit.

use std::time::Duration;

use super::{Decision, RateLimitConfig};
use crate::{cache::TtlCache, store::now_secs};

/// Client addresses an instance keeps counts for; past it the oldest counts are dropped.
const MAX_ADDRESSES: usize = 10_000;

pub struct PublicLimiter {
    enabled: bool,
    max: u64,
    window: u64,
    /// Per address: (start of its current window, requests counted in it).
    counts: TtlCache<String, (u64, u64)>,
}

impl PublicLimiter {
    /// `RATE_LIMIT_PUBLIC` requests per `RATE_LIMIT_WINDOW_SECS` per address (off with `RATE_LIMIT_ENABLED`).
    pub fn new(config: &RateLimitConfig) -> Self {
        let window = config.window_secs.max(1);
        Self {
            enabled: config.enabled,
            max: config.public,
            window,
            counts: TtlCache::new(Duration::from_secs(window), MAX_ADDRESSES),
        }
    }

    /// Counts one request from `address`; `None` when limiting is off.
    pub fn check(&self, address: &str) -> Option<Decision> {
        if !self.enabled {
            return None;
        }
        let now = now_secs();
        let start = now - now % self.window;
        let mut count = 1;
        let counted = self.counts.update(address, |(window, seen)| {
            if *window != start {
                *window = start;
                *seen = 0;
            }
            *seen = (*seen + 1).min(self.max + 1);
            count = *seen;
        });
        if !counted {
            // Two first requests racing may both start at one: an undercount by one, never a refusal.
            self.counts.insert(address.to_owned(), (start, 1));
        }
        let allowed = count <= self.max;
        Some(Decision {
            allowed,
            limit: self.max,
            remaining: self.max.saturating_sub(count),
            reset: start + self.window,
            window_secs: self.window,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_own_count() {
        let config = RateLimitConfig::from_lookup(|k| (k == "RATE_LIMIT_PUBLIC").then(|| "2".to_owned())).unwrap();
        let limiter = PublicLimiter::new(&config);
        assert!(limiter.check("198.51.100.1").unwrap().allowed);
        let second = limiter.check("198.51.100.1").unwrap();
        assert!(second.allowed && second.remaining == 0);
        let third = limiter.check("198.51.100.1").unwrap();
        assert!(!third.allowed && third.retry_after() >= 1);
        assert!(limiter.check("198.51.100.2").unwrap().allowed, "another address is counted apart");
        let off = RateLimitConfig::from_lookup(|k| (k == "RATE_LIMIT_ENABLED").then(|| "0".to_owned())).unwrap();
        assert_eq!(PublicLimiter::new(&off).check("198.51.100.1"), None);
    }
}
