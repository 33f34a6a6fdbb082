//! What streamed MCP needs to keep between instances: the requests a backend sent a client that wait for
//! the client's answer (which may reach any instance), and the events of a session's standalone stream
//! (so a client can resume it with `Last-Event-ID` on any instance). Both expire through the table's TTL.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{now_secs, StoreError};

/// A request a backend sent to a client (sampling, elicitation, roots), waiting for the client's answer.
/// Whichever instance receives the answer delivers it to the backend session named here; the backend then
/// continues on the stream the first instance holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The id the gateway gave the request on the client's stream (random, never the backend's).
    pub id: String,
    /// The client session it was sent on, and the principal that owns it: an answer from any other
    /// session or principal is refused exactly like one for a request that does not exist.
    pub session: String,
    pub owner: String,
    pub backend: String,
    /// The backend's own id of the request, put back on the answer.
    pub backend_request_id: Value,
    /// The backend session the answer is posted on, and its protocol version.
    pub backend_session: Option<String>,
    pub backend_version: String,
    pub method: String,
    /// Epoch seconds; after it the request is no longer answerable.
    pub expires_at: u64,
}

/// One event of a session's standalone stream, kept so the stream can be resumed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// The JSON-RPC message as sent.
    pub data: String,
    /// Per backend, the id of the last event it had sent when this event went out: where a resumed
    /// stream asks each backend to continue from.
    #[serde(default)]
    pub backends: BTreeMap<String, String>,
    pub expires_at: u64,
}

#[async_trait]
pub trait StreamStore: Send + Sync {
    /// Records a request waiting for the client's answer.
    async fn put_pending(&self, request: &PendingRequest) -> Result<(), StoreError>;
    /// Whether pending request `id` still waits (not answered, withdrawn or expired).
    async fn is_pending(&self, id: &str) -> Result<bool, StoreError>;
    /// Removes and returns pending request `id` if it was sent on `session` of `owner` and has not
    /// expired: the one place an answer is matched, so a request is answered at most once.
    async fn take_pending(&self, id: &str, session: &str, owner: &str) -> Result<Option<PendingRequest>, StoreError>;
    /// Removes and returns pending request `id` whatever its state: the relay that sent it withdraws it
    /// (its call ended, the backend cancelled it, or the wait is over and the backend must be told).
    async fn withdraw_pending(&self, id: &str) -> Result<Option<PendingRequest>, StoreError>;
    /// Keeps event `seq` of stream `stream` of `session`.
    async fn put_event(&self, session: &str, stream: &str, seq: u64, event: &StoredEvent) -> Result<(), StoreError>;
    /// Event `seq` of stream `stream` of `session`, if kept and not expired.
    async fn event(&self, session: &str, stream: &str, seq: u64) -> Result<Option<StoredEvent>, StoreError>;
}

/// The in-memory fake (tests; one process only).
#[derive(Default)]
pub struct MemoryStreamStore {
    pending: Mutex<HashMap<String, PendingRequest>>,
    events: Mutex<HashMap<(String, String, u64), StoredEvent>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryStreamStore {
    /// How many requests wait for an answer (tests of floods and expiry).
    pub fn pending_count(&self) -> usize {
        lock(&self.pending).values().filter(|p| p.expires_at > now_secs()).count()
    }
}

#[async_trait]
impl StreamStore for MemoryStreamStore {
    async fn put_pending(&self, request: &PendingRequest) -> Result<(), StoreError> {
        lock(&self.pending).insert(request.id.clone(), request.clone());
        Ok(())
    }

    async fn is_pending(&self, id: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.pending).get(id).is_some_and(|p| p.expires_at > now_secs()))
    }

    async fn take_pending(&self, id: &str, session: &str, owner: &str) -> Result<Option<PendingRequest>, StoreError> {
        let mut pending = lock(&self.pending);
        let matches =
            pending.get(id).is_some_and(|p| p.session == session && p.owner == owner && p.expires_at > now_secs());
        Ok(if matches { pending.remove(id) } else { None })
    }

    async fn withdraw_pending(&self, id: &str) -> Result<Option<PendingRequest>, StoreError> {
        Ok(lock(&self.pending).remove(id))
    }

    async fn put_event(&self, session: &str, stream: &str, seq: u64, event: &StoredEvent) -> Result<(), StoreError> {
        lock(&self.events).insert((session.to_owned(), stream.to_owned(), seq), event.clone());
        Ok(())
    }

    async fn event(&self, session: &str, stream: &str, seq: u64) -> Result<Option<StoredEvent>, StoreError> {
        let events = lock(&self.events);
        let found = events.get(&(session.to_owned(), stream.to_owned(), seq));
        Ok(found.filter(|e| e.expires_at > now_secs()).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn pending(id: &str, session: &str, owner: &str, expires_at: u64) -> PendingRequest {
        PendingRequest {
            id: id.into(),
            session: session.into(),
            owner: owner.into(),
            backend: "demo".into(),
            backend_request_id: json!(7),
            backend_session: Some("b-1".into()),
            backend_version: "2025-11-25".into(),
            method: "elicitation/create".into(),
            expires_at,
        }
    }

    #[tokio::test]
    async fn a_pending_request_is_taken_once_and_only_by_its_session_and_owner() {
        let store = MemoryStreamStore::default();
        store.put_pending(&pending("r1", "s1", "k1", now_secs() + 60)).await.unwrap();
        assert!(store.is_pending("r1").await.unwrap());
        assert!(store.take_pending("r1", "s2", "k1").await.unwrap().is_none(), "another session");
        assert!(store.take_pending("r1", "s1", "k2").await.unwrap().is_none(), "another principal");
        assert_eq!(store.take_pending("r1", "s1", "k1").await.unwrap().unwrap().backend_request_id, json!(7));
        assert!(store.take_pending("r1", "s1", "k1").await.unwrap().is_none(), "answered once");
        assert!(!store.is_pending("r1").await.unwrap());
        store.put_pending(&pending("r2", "s1", "k1", now_secs() - 1)).await.unwrap();
        assert!(store.take_pending("r2", "s1", "k1").await.unwrap().is_none(), "expired");
        assert!(store.withdraw_pending("r2").await.unwrap().is_some(), "its relay still withdraws it");
        assert!(store.withdraw_pending("r2").await.unwrap().is_none());
    }
}
