//! How an instance learns of stored changes without a cold start and without paying for it per request:
//! on request arrival, when its last check is older than the poll interval (`GATEWAY_CONFIG_POLL_SECS`,
//! default 2 s), one request reads the small version item; only when a version changed is the document
//! read and the merged backend set rebuilt. Never more than one poll in flight per instance: a request
//! that finds one running goes on with what the instance has. This fits Lambda, whose instances are
//! frozen between requests (no background timer would run): the check happens when work arrives.
//!
//! Cost: at most one eventually consistent `GetItem` of a ~50-byte item per instance per interval, plus
//! one read of the document per change. A change is applied by every instance at its first request
//! after the change plus one interval at most.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use tokio::time::Instant;

use super::stored::{self, Overrides};
use crate::{
    backend::{BackendSet, Defaults},
    store::{ConfigStore, ConfigVersion, StoredDocument},
};

/// What a poll found.
#[derive(Debug, Default)]
pub struct Changes {
    /// The new configuration, when the stored document changed.
    pub config: Option<Applied>,
    /// The API keys were changed through the admin API: reload them.
    pub keys: bool,
}

/// A stored configuration ready to serve.
#[derive(Debug)]
pub struct Applied {
    pub version: u64,
    pub backends: BackendSet,
    pub disabled_tools: BTreeSet<String>,
}

#[derive(Default)]
struct State {
    /// When the last check started.
    checked: Option<Instant>,
    /// Whether a check ever finished (with or without an answer from the store).
    finished: bool,
    seen: Option<ConfigVersion>,
    applied: u64,
    /// Stored backends left out of the live set, with the reason.
    problems: Vec<(String, String)>,
}

pub struct ConfigFollower {
    store: Arc<dyn ConfigStore>,
    /// The deployment's backends document (the bootstrap default).
    document: Value,
    defaults: Defaults,
    interval: Duration,
    state: Mutex<State>,
    polling: tokio::sync::Mutex<()>,
}

impl ConfigFollower {
    pub fn new(store: Arc<dyn ConfigStore>, document: Value, defaults: Defaults, interval: Duration) -> Self {
        Self { store, document, defaults, interval, state: Mutex::default(), polling: tokio::sync::Mutex::new(()) }
    }

    pub fn store(&self) -> &Arc<dyn ConfigStore> {
        &self.store
    }

    pub fn document(&self) -> &Value {
        &self.document
    }

    pub fn defaults(&self) -> &Defaults {
        &self.defaults
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stored version this instance serves, and how long ago it last checked.
    pub fn applied(&self) -> (u64, Option<Duration>) {
        let state = self.state();
        (state.applied, state.checked.map(|at| at.elapsed()))
    }

    /// Stored backends left out of the live set (id, reason).
    pub fn problems(&self) -> Vec<(String, String)> {
        self.state().problems.clone()
    }

    /// The lazy check of a request, `apply` given what it found (while no other check can start). Returns
    /// at once when the last check is recent or another request is checking, except on a new instance:
    /// until its first check has finished, requests wait for it, so an instance never serves what an
    /// operator changed before it started.
    pub async fn poll(&self, apply: impl FnOnce(Changes)) {
        if self.settled() {
            return;
        }
        let _polling = match self.polling.try_lock() {
            Ok(guard) => guard,
            Err(_) if self.state().finished => return,
            Err(_) => self.polling.lock().await,
        };
        // The check we did not start may have just finished.
        if self.settled() {
            return;
        }
        if let Some(changes) = self.check().await {
            apply(changes);
        }
    }

    /// Checks now (after this instance changed the configuration itself), waiting for a running check.
    pub async fn poll_now(&self, apply: impl FnOnce(Changes)) {
        let _polling = self.polling.lock().await;
        if let Some(changes) = self.check().await {
            apply(changes);
        }
    }

    /// The check of a cold start, before any request can arrive: what it found, to apply once the
    /// instance is built.
    pub async fn first_check(&self) -> Option<Changes> {
        let _polling = self.polling.lock().await;
        self.check().await
    }

    /// Whether the last check finished and is recent.
    fn settled(&self) -> bool {
        let state = self.state();
        state.finished && state.checked.is_some_and(|at| at.elapsed() < self.interval)
    }

    async fn check(&self) -> Option<Changes> {
        self.state().checked = Some(Instant::now());
        let changes = self.read_changes().await;
        self.state().finished = true;
        changes
    }

    async fn read_changes(&self) -> Option<Changes> {
        let seen = self.state().seen;
        // An instance's first check reads the document along with the versions (one round trip at cold
        // start); later checks read the versions, and the document only when they changed.
        let read = match seen {
            None => self.store.snapshot().await.map(|(version, document)| (version, Some(document))),
            Some(_) => self.store.version().await.map(|version| (version, None)),
        };
        let (version, document) = match read {
            Ok(read) => read,
            Err(error) => {
                // The instance keeps serving what it has; the next check is one interval away.
                tracing::warn!(%error, "could not check the stored configuration's version");
                return None;
            }
        };
        let keys = seen.is_some_and(|s| s.keys != version.keys);
        // Version 0: nothing was ever stored, the document alone is what the instance already serves.
        let changed = seen.map_or(version.config > 0, |s| s.config != version.config);
        let document = match document {
            Some(document) => Ok(document),
            None if changed => self.store.load().await,
            None => {
                self.state().seen = Some(version);
                return Some(Changes { config: None, keys });
            }
        };
        match document {
            Ok(document) => {
                // The document may be a change ahead of the versions or behind them (read apart): the
                // older of the two is what this instance has seen, so the next check catches up.
                let seen_config = version.config.min(document.version);
                let config = if document.version > 0 { self.apply(document) } else { None };
                self.state().seen = Some(ConfigVersion { config: seen_config, ..version });
                Some(Changes { config, keys })
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the stored configuration; will retry");
                self.state().seen = Some(ConfigVersion { config: seen.map_or(0, |s| s.config), ..version });
                Some(Changes { config: None, keys })
            }
        }
    }

    fn apply(&self, document: StoredDocument) -> Option<Applied> {
        let overrides = match Overrides::parse(&document.text) {
            Ok(overrides) => overrides,
            Err(error) => {
                tracing::error!(%error, version = document.version, "stored configuration is corrupt; not applied");
                return None;
            }
        };
        match stored::build(&self.document, &overrides, &self.defaults) {
            Ok((backends, problems)) => {
                let mut state = self.state();
                (state.applied, state.problems) = (document.version, problems);
                tracing::info!(version = document.version, backends = backends.len(), "stored configuration applied");
                Some(Applied { version: document.version, backends, disabled_tools: overrides.disabled_tools() })
            }
            Err(error) => {
                tracing::error!(%error, "stored configuration could not be applied");
                None
            }
        }
    }
}

#[cfg(test)]
#[path = "follow_tests.rs"]
mod tests;
