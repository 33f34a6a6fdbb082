//! Ports for the gateway's state, each a small trait with a DynamoDB adapter and an in-memory fake: client
//! sessions, and the configuration operators change at run time (`config`).
//! DynamoDB is the only state: any Lambda instance can serve any request.

mod cached;
pub mod config;
mod config_dynamodb;
mod config_memory;
mod dynamodb;
mod memory;
mod streams;
mod streams_dynamodb;
pub(crate) mod table;

use async_trait::async_trait;

pub use cached::CachedSessionStore;
pub use config::{ConfigStore, ConfigVersion, StoredDocument};
pub use config_dynamodb::DynamoConfigStore;
pub use config_memory::MemoryConfigStore;
pub use dynamodb::DynamoStore;
pub use memory::MemoryStore;
pub use streams::{MemoryStreamStore, PendingRequest, StoredEvent, StreamStore};

pub use crate::protocol::now_secs;
use crate::protocol::Session;

/// A storage failure. Kept apart from domain states ("no such session" is `Ok(None)`, not an error).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The store could not be used (unreachable, timed out, throttled): `error` is kept as the cause.
    pub fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable(Box::new(error))
    }
}

/// Where legacy-era client sessions live between requests.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// The session, if it exists and has not expired.
    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// Stores a new session.
    async fn create(&self, session: &Session) -> Result<(), StoreError>;
    /// Replaces a stored session; `false` (and nothing written) when it no longer exists, so a request
    /// that outlived a `DELETE` cannot bring its session back.
    async fn update(&self, session: &Session) -> Result<bool, StoreError>;
    /// Removes the session; removing an absent one is not an error.
    async fn delete(&self, id: &str) -> Result<(), StoreError>;
}
