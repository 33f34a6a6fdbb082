//! The one bounded, expiring map behind every per-instance cache (backend list pages, resource owners,
//! backend sessions of stateless callers, …). A Lambda instance lives for hours and serves many callers:
//! every cache it keeps must forget on its own (a TTL) and must not grow with what callers send (a bound).
//!
//! Past its capacity the cache first drops what has expired, then the entries closest to expiry, a tenth
//! of the capacity at a time, so a flood of new keys costs an amortised O(1) per insert and never evicts
//! everything at once.

use std::{borrow::Borrow, collections::HashMap, hash::Hash, sync::Mutex, time::Duration};

use tokio::time::Instant;

struct Entry<V> {
    value: V,
    inserted: Instant,
    expires: Instant,
}

pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<K, Entry<V>>>,
}

impl<K: Hash + Eq + Clone, V: Clone> TtlCache<K, V> {
    /// A cache whose entries live `ttl` (zero: nothing is kept) and of at most `capacity` entries.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self { ttl, capacity: capacity.max(1), entries: Mutex::new(HashMap::new()) }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry<V>>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The value of `key` if it has not expired.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let entries = self.entries();
        entries.get(key).filter(|e| e.expires > Instant::now()).map(|e| e.value.clone())
    }

    /// Keeps `value` for the cache's TTL.
    pub fn insert(&self, key: K, value: V) {
        self.insert_for(key, value, self.ttl);
    }

    /// Keeps `value` for `ttl` (at most the cache's own TTL).
    pub fn insert_for(&self, key: K, value: V, ttl: Duration) {
        let ttl = ttl.min(self.ttl);
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            evict(&mut entries, self.capacity, now);
        }
        entries.insert(key, Entry { value, inserted: now, expires: now + ttl });
    }

    /// Keeps `value` for the cache's TTL unless a live entry of `key` is one `keep` says must stay (checked
    /// and replaced under one lock, so nothing can slip in between); `false` when it was kept.
    pub fn insert_unless(&self, key: K, value: V, keep: impl FnOnce(&V) -> bool) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.get(&key).is_some_and(|e| e.expires > now && keep(&e.value)) {
            return false;
        }
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            evict(&mut entries, self.capacity, now);
        }
        entries.insert(key, Entry { value, inserted: now, expires: now + self.ttl });
        true
    }

    /// Updates the value of `key` in place (its expiry unchanged); `false` when absent or expired.
    pub fn update<Q>(&self, key: &Q, change: impl FnOnce(&mut V)) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.entries();
        match entries.get_mut(key).filter(|e| e.expires > Instant::now()) {
            Some(entry) => {
                change(&mut entry.value);
                true
            }
            None => false,
        }
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries().remove(key);
    }

    /// Drops every entry `keep` rejects.
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.entries().retain(|k, e| keep(k, &e.value));
    }

    /// How long ago the oldest live entry accepted by `filter` was inserted.
    pub fn oldest(&self, mut filter: impl FnMut(&K) -> bool) -> Option<Duration> {
        let now = Instant::now();
        let entries = self.entries();
        entries.iter().filter(|(k, e)| e.expires > now && filter(k)).map(|(_, e)| now - e.inserted).max()
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        let now = Instant::now();
        self.entries().values().filter(|e| e.expires > now).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes room: the expired first, then the tenth of the capacity closest to expiry.
fn evict<K: Hash + Eq + Clone, V>(entries: &mut HashMap<K, Entry<V>>, capacity: usize, now: Instant) {
    entries.retain(|_, e| e.expires > now);
    if entries.len() < capacity {
        return;
    }
    let mut by_expiry: Vec<(Instant, K)> = entries.iter().map(|(k, e)| (e.expires, k.clone())).collect();
    let drop = (capacity / 10).max(1).min(by_expiry.len());
    by_expiry.select_nth_unstable_by_key(drop - 1, |(expires, _)| *expires);
    for (_, key) in by_expiry.into_iter().take(drop) {
        entries.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn entries_expire_after_their_ttl() {
        let cache = TtlCache::new(Duration::from_secs(30), 10);
        cache.insert("a", 1);
        cache.insert_for("b", 2, Duration::from_secs(5));
        cache.insert_for("c", 3, Duration::from_secs(600));
        assert_eq!((cache.get("a"), cache.get("b")), (Some(1), Some(2)));
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!((cache.get("a"), cache.get("b")), (Some(1), None));
        tokio::time::advance(Duration::from_secs(25)).await;
        // No entry outlives the cache's own TTL.
        assert_eq!((cache.get("a"), cache.get("c")), (None, None));
        assert!(cache.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_cache_drops_the_expired_then_those_closest_to_expiry() {
        let cache = TtlCache::new(Duration::from_secs(100), 10);
        for i in 0..10 {
            cache.insert(i, i);
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        cache.insert(10, 10);
        assert_eq!(cache.len(), 10);
        assert_eq!(cache.get(&0), None, "the entry closest to expiry goes first");
        assert_eq!((cache.get(&1), cache.get(&10)), (Some(1), Some(10)));
        for i in 11..1000 {
            cache.insert(i, i);
        }
        assert!(cache.len() <= 10);
        assert_eq!(cache.get(&999), Some(999));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_ttl_keeps_nothing_and_update_keeps_expiry() {
        let off = TtlCache::new(Duration::ZERO, 10);
        off.insert("a", 1);
        assert_eq!(off.get("a"), None);
        let cache = TtlCache::new(Duration::from_secs(10), 10);
        cache.insert("a", 1);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(cache.update("a", |v| *v += 1));
        assert_eq!(cache.oldest(|_| true), Some(Duration::from_secs(6)));
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(cache.get("a"), None);
        assert!(!cache.update("a", |v| *v += 1));
    }

    #[tokio::test(start_paused = true)]
    async fn insert_unless_keeps_what_must_stay_until_it_expires() {
        let cache = TtlCache::new(Duration::from_secs(10), 10);
        assert!(cache.insert_unless("a", -1, |_| true), "nothing to keep yet");
        assert!(!cache.insert_unless("a", 1, |v| *v < 0));
        assert_eq!(cache.get("a"), Some(-1));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(cache.insert_unless("a", 1, |v| *v < 0), "an expired entry keeps nothing");
        assert!(cache.insert_unless("a", 2, |v| *v < 0));
        assert_eq!(cache.get("a"), Some(2));
    }
}
