//! Backend sessions held for callers without a client session (2026-07-28 requests, code execution),
//! per principal and per era, in this instance. Any instance can open its own, so there is no affinity;
//! they are only kept so a warm instance does not handshake with every backend on every request. The
//! eras are kept apart: a 2026-07-28 client reaches a backend in that era when the backend speaks it, and
//! must never inherit a session-era handshake (and its catalog) another caller of the principal opened.

use std::{collections::BTreeMap, time::Duration};

use serde_json::Value;

use crate::{
    cache::TtlCache,
    protocol::{version, BackendSession, Era, Session},
};

/// Bound on principals whose backend sessions an instance remembers.
const MAX_PRINCIPALS: usize = 10_000;
/// Idle lifetime of remembered backend sessions: backends expire idle sessions too, and a forgotten one
/// costs one handshake.
const IDLE: Duration = Duration::from_secs(15 * 60);

pub struct ModernSessions {
    principals: TtlCache<(bool, String), BTreeMap<String, BackendSession>>,
}

fn key(era: Era, principal_id: &str) -> (bool, String) {
    (era == Era::Modern, principal_id.to_owned())
}

impl Default for ModernSessions {
    fn default() -> Self {
        Self { principals: TtlCache::new(IDLE, MAX_PRINCIPALS) }
    }
}

impl ModernSessions {
    /// A session-shaped view for `principal` in `era`: no id, the backend sessions this instance holds
    /// for it.
    pub fn session(&self, era: Era, principal_id: &str, client_capabilities: Value) -> Session {
        Session {
            id: String::new(),
            owner: principal_id.to_owned(),
            protocol_version: version::LATEST.to_owned(),
            client_capabilities,
            client_info: Value::Null,
            backends: self.principals.get(&key(era, principal_id)).unwrap_or_default(),
            log_level: None,
            expires_at: 0,
        }
    }

    /// Remembers the backend sessions a request of `principal` in `era` ended with.
    pub fn keep(&self, era: Era, principal_id: &str, backends: BTreeMap<String, BackendSession>) {
        self.principals.insert(key(era, principal_id), backends);
    }

    /// Forgets every backend session with `backend` (it was removed or changed).
    pub fn forget_backend(&self, backend: &str) {
        self.principals.retain(|_, sessions| !sessions.contains_key(backend));
    }
}
