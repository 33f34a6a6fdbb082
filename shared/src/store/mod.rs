//! Ports for the gateway's state, each a small trait with a DynamoDB adapter and an in-memory fake.
//! DynamoDB is the only state: any Lambda instance can serve any request.

mod dynamodb;
mod memory;

use async_trait::async_trait;

pub use dynamodb::DynamoStore;
pub use memory::MemoryStore;

use crate::mcp::Session;

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
    /// Creates or replaces the session.
    async fn save(&self, session: &Session) -> Result<(), StoreError>;
    /// Removes the session; removing an absent one is not an error.
    async fn delete(&self, id: &str) -> Result<(), StoreError>;
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
