//! The backends of one instance as they are now: the current backend set and, per backend, its HTTP
//! client (connect timeout, SSRF-guarded resolution, no redirects) and circuit breaker. The set can be
//! replaced while the instance runs (backends stored by the admin API): a backend whose settings changed,
//! or that is new, gets a new client and breaker; an unchanged one keeps its connections and its breaker
//! state; a removed one is forgotten.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use super::{breaker::Breaker, guard::GuardedResolver, Backend, BackendSet};

/// Idle pooled connections are kept this long.
const POOL_IDLE: Duration = Duration::from_secs(60);

pub(super) struct Fleet {
    set: RwLock<Arc<BackendSet>>,
    http: RwLock<HashMap<String, (Arc<Backend>, reqwest::Client)>>,
    /// `None` for health probes, which must always reach the backend.
    breakers: Option<RwLock<HashMap<String, Arc<Breaker>>>>,
    /// Backends that answered `server/discover` as servers of the handshake era only, and when.
    handshake_only: RwLock<HashMap<String, Instant>>,
}

fn build(set: &BackendSet, backend: &Backend) -> Result<reqwest::Client, reqwest::Error> {
    let builder = GuardedResolver::new(set.network).client_builder();
    builder.connect_timeout(backend.connect_timeout).pool_idle_timeout(POOL_IDLE).build()
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

impl Fleet {
    pub fn new(set: &BackendSet, with_breakers: bool) -> Result<Self, reqwest::Error> {
        let fleet = Self {
            set: RwLock::new(Arc::new(set.clone())),
            http: RwLock::default(),
            breakers: with_breakers.then(RwLock::default),
            handshake_only: RwLock::default(),
        };
        for backend in set.iter() {
            fleet.add(set, backend)?;
        }
        Ok(fleet)
    }

    fn add(&self, set: &BackendSet, backend: &Arc<Backend>) -> Result<(), reqwest::Error> {
        write(&self.http).insert(backend.id.clone(), (backend.clone(), build(set, backend)?));
        write(&self.handshake_only).remove(&backend.id);
        if let Some(breakers) = &self.breakers {
            write(breakers).insert(backend.id.clone(), Arc::new(Breaker::new(backend.id.clone(), backend.breaker)));
        }
        Ok(())
    }

    /// The backends now.
    pub fn set(&self) -> Arc<BackendSet> {
        read(&self.set).clone()
    }

    /// The HTTP client of `backend`. A request still in flight with the settings of a replaced set gets
    /// a client of its own for its last exchanges, so it never takes the new settings' client over.
    pub fn http(&self, backend: &Backend) -> Result<reqwest::Client, reqwest::Error> {
        if let Some((_, client)) = read(&self.http).get(&backend.id).filter(|(known, _)| **known == *backend) {
            return Ok(client.clone());
        }
        build(&self.set(), backend)
    }

    /// The breaker of `backend`, if breakers are on.
    pub fn breaker(&self, backend: &str) -> Option<Arc<Breaker>> {
        read(self.breakers.as_ref()?).get(backend).cloned()
    }

    /// Whether `backend` answered `server/discover` as a handshake-era server within `memory`.
    pub fn handshake_only(&self, backend: &str, memory: Duration) -> bool {
        read(&self.handshake_only).get(backend).is_some_and(|at| at.elapsed() < memory)
    }

    /// Remembers that `backend` answered `server/discover` as a handshake-era server.
    pub fn remember_handshake_only(&self, backend: &str) {
        write(&self.handshake_only).insert(backend.to_owned(), Instant::now());
    }

    /// Replaces the set; returns the ids of the backends that changed, appeared or disappeared.
    pub fn replace(&self, next: BackendSet) -> Result<Vec<String>, reqwest::Error> {
        let previous = self.set();
        let mut changed = Vec::new();
        for backend in next.iter() {
            if previous.get(&backend.id).is_none_or(|old| **old != **backend) {
                self.add(&next, backend)?;
                changed.push(backend.id.clone());
            }
        }
        for gone in previous.iter().filter(|b| next.get(&b.id).is_none()) {
            write(&self.http).remove(&gone.id);
            write(&self.handshake_only).remove(&gone.id);
            if let Some(breakers) = &self.breakers {
                write(breakers).remove(&gone.id);
            }
            changed.push(gone.id.clone());
        }
        *write(&self.set) = Arc::new(next);
        Ok(changed)
    }
}
