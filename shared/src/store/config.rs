//! The port for what operators change while the gateway runs (the admin API): one stored document of
//! backend overrides and tool switches, a tiny version item every instance polls, and a ring of recent
//! audit events. All of it lives in the one table, keyed by `pk` only (no schema change):
//!
//! | item | attributes | read by |
//! |---|---|---|
//! | `config#version` | `version` (of the document), `keys` (bumped when API keys change) | every instance, at most once per poll interval |
//! | `config#document` | `version`, `data` (the document as JSON) | an instance that saw a new version; the admin API |
//! | `audit#seq` | `seq` (the last event's number) | the admin API |
//! | `audit#<seq mod ring>` | `seq`, `data` (the event as JSON), `expires_at` (TTL) | the admin API |
//!
//! The document is replaced whole, conditionally on its version, together with the version item in one
//! transaction: a writer that read an older document gets a conflict instead of overwriting a change it
//! never saw, and no instance can see the new version without the new document.

use async_trait::async_trait;

use super::StoreError;

/// How many audit events are kept (the ring's size); older slots are overwritten.
pub const AUDIT_RING: u64 = 500;
/// How long an audit event is kept at most (DynamoDB's TTL deletes it after that).
pub const AUDIT_TTL_SECS: u64 = 30 * 86_400;

/// What the cheap poll returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConfigVersion {
    /// The stored document's version (0: nothing stored yet).
    pub config: u64,
    /// Bumped whenever the API keys are changed through the admin API.
    pub keys: u64,
}

/// The stored document (JSON text, empty when none was stored) and its version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredDocument {
    pub version: u64,
    pub text: String,
}

#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// The versions only: one small read.
    async fn version(&self) -> Result<ConfigVersion, StoreError>;
    /// The whole document and its version.
    async fn load(&self) -> Result<StoredDocument, StoreError>;
    /// The versions and the document, for an instance's first check. Not read as one snapshot: the
    /// document may be a change ahead of or behind the versions (the caller checks again later).
    async fn snapshot(&self) -> Result<(ConfigVersion, StoredDocument), StoreError> {
        Ok((self.version().await?, self.load().await?))
    }
    /// Replaces the document if its version is still `expected`: `Some(new version)`, or `None` (nothing
    /// written) when another change came first.
    async fn save(&self, expected: u64, text: &str) -> Result<Option<u64>, StoreError>;
    /// Tells every instance that the API keys changed (they reload them at their next poll).
    async fn touch_keys(&self) -> Result<(), StoreError>;
    /// Appends one audit event (JSON text); returns its sequence number.
    async fn append_audit(&self, event: &str) -> Result<u64, StoreError>;
    /// The latest `limit` audit events (JSON text), newest first, with their sequence numbers.
    async fn recent_audit(&self, limit: usize) -> Result<Vec<(u64, String)>, StoreError>;
}
