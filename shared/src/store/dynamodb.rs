//! DynamoDB adapter. One table: partition key `pk` (S), TTL attribute `expires_at` (N, epoch seconds).
//! Items: `session#<id>` → `data` (the session as JSON).

use async_trait::async_trait;
use aws_sdk_dynamodb::{types::AttributeValue, Client};

use super::{now_secs, SessionStore, StoreError};
use crate::protocol::Session;

/// The DynamoDB-backed store, built once per cold start.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// A client with tight timeouts: a store that does not answer must fail fast, never hang a request.
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self { client: crate::aws::dynamodb(sdk), table: table.into() }
    }
}

impl DynamoStore {
    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    pub(super) fn table(&self) -> &str {
        &self.table
    }

    /// Writes the session if `condition` holds; `false` when it does not.
    async fn put(&self, session: &Session, condition: &str) -> Result<bool, StoreError> {
        let data = serde_json::to_string(session).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let outcome = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", session_key(&session.id))
            .item("data", AttributeValue::S(data))
            .item("expires_at", AttributeValue::N(session.expires_at.to_string()))
            .condition_expression(condition)
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(error) => Err(StoreError::unavailable(error)),
        }
    }
}

fn session_key(id: &str) -> AttributeValue {
    AttributeValue::S(format!("session#{id}"))
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
            .map_err(StoreError::unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let data = item.get("data").and_then(|v| v.as_s().ok()).ok_or_else(|| StoreError::Corrupt("no data".into()))?;
        let session: Session = serde_json::from_str(data).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // DynamoDB deletes expired items lazily (up to days later): expiry is enforced here.
        Ok((session.expires_at > now_secs()).then_some(session))
    }

    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        self.put(session, "attribute_not_exists(pk)").await?;
        Ok(())
    }

    async fn update(&self, session: &Session) -> Result<bool, StoreError> {
        self.put(session, "attribute_exists(pk)").await
    }

    async fn delete(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", session_key(id))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Adapter tests against moto (the local stack sets `AWS_ENDPOINT_URL`; `make test` starts it first).
    use super::*;
    use crate::protocol::BackendSession;

    fn session(id: &str, expires_at: u64) -> Session {
        let backend = BackendSession {
            session_id: Some("b-1".into()),
            protocol_version: "2025-11-25".into(),
            capabilities: serde_json::json!({"tools": {}}),
        };
        Session {
            id: id.into(),
            owner: "k_test".into(),
            protocol_version: "2025-06-18".into(),
            client_capabilities: serde_json::json!({}),
            client_info: serde_json::Value::Null,
            backends: [("demo".to_owned(), backend)].into(),
            log_level: None,
            expires_at,
        }
    }

    async fn store(test: &str) -> Option<DynamoStore> {
        let sdk = crate::testing::moto(test).await?;
        Some(DynamoStore::new(&sdk, std::env::var("TABLE_NAME").unwrap_or_else(|_| "mcp-gateway".into())))
    }

    #[tokio::test]
    async fn sessions_round_trip_with_their_ttl_attribute() {
        let Some(store) = store("sessions_round_trip_with_their_ttl_attribute").await else { return };
        let id = crate::protocol::mint_id().unwrap();
        let saved = session(&id, now_secs() + 600);
        store.create(&saved).await.unwrap();
        let loaded = store.load(&id).await.unwrap().expect("saved session is found");
        assert_eq!(loaded.backends, saved.backends);
        assert_eq!(loaded.owner, "k_test");
        let item = store.client.get_item().table_name(&store.table).key("pk", session_key(&id)).send().await.unwrap();
        assert_eq!(item.item.unwrap()["expires_at"].as_n().unwrap(), &saved.expires_at.to_string());
        store.delete(&id).await.unwrap();
        assert!(store.load(&id).await.unwrap().is_none());
        // A request that outlived the DELETE cannot bring the session back.
        assert!(!store.update(&saved).await.unwrap());
        assert!(store.load(&id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn expired_sessions_are_not_served_before_dynamodb_deletes_them() {
        let Some(store) = store("expired_sessions_are_not_served_before_dynamodb_deletes_them").await else { return };
        let id = crate::protocol::mint_id().unwrap();
        store.create(&session(&id, now_secs() - 1)).await.unwrap();
        assert!(store.load(&id).await.unwrap().is_none());
    }
}
