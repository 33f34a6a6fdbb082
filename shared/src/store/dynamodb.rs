//! DynamoDB adapter. One table: partition key `pk` (S), TTL attribute `expires_at` (N, epoch seconds).
//! Items: `session#<id>` → `data` (the session as JSON).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::{types::AttributeValue, Client};

use super::{now_secs, SessionStore, StoreError};
use crate::mcp::Session;

/// The DynamoDB-backed store, built once per cold start.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A client with tight timeouts: a store that does not answer must fail fast, never hang a request.
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_attempt_timeout(Duration::from_millis(1500))
            .operation_timeout(Duration::from_secs(4))
            .build();
        let config = aws_sdk_dynamodb::config::Builder::from(sdk).timeout_config(timeouts).build();
        Self { client: Client::from_conf(config), table: table.into() }
    }
}

fn session_key(id: &str) -> AttributeValue {
    AttributeValue::S(format!("session#{id}"))
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

#[async_trait]
impl SessionStore for DynamoStore {
    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", session_key(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let data = item.get("data").and_then(|v| v.as_s().ok()).ok_or_else(|| StoreError::Corrupt("no data".into()))?;
        let session: Session = serde_json::from_str(data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // DynamoDB deletes expired items lazily (up to days later): expiry is enforced here.
        Ok((session.expires_at > now_secs()).then_some(session))
    }

    async fn save(&self, session: &Session) -> Result<(), StoreError> {
        let data = serde_json::to_string(session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", session_key(&session.id))
            .item("data", AttributeValue::S(data))
            .item("expires_at", AttributeValue::N(session.expires_at.to_string()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", session_key(id))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
