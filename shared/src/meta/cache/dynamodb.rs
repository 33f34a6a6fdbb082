//! DynamoDB adapter of the result store. Same table as sessions (`pk` S, TTL `expires_at` N); item
//! `result#<key>` → `data` (S, the result as JSON), `expires_at` (N). One `GetItem` per cacheable call
//! (eventually consistent: a second identical call within a second may miss, which costs only a backend
//! call), one `PutItem` per stored result.

use async_trait::async_trait;
use aws_sdk_dynamodb::{types::AttributeValue, Client};

use super::{CacheKey, ResultStore};
use crate::store::{now_secs, StoreError};

/// The DynamoDB-backed result store, built once per cold start.
#[derive(Clone)]
pub struct DynamoResultStore {
    client: Client,
    table: String,
}

impl DynamoResultStore {
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self { client: crate::aws::dynamodb(sdk), table: table.into() }
    }
}

fn item_key(key: &CacheKey) -> AttributeValue {
    AttributeValue::S(format!("result#{}", key.as_str()))
}

#[async_trait]
impl ResultStore for DynamoResultStore {
    async fn get(&self, key: &CacheKey) -> Result<Option<String>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", item_key(key))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let Some(item) = output.item else { return Ok(None) };
        let expires_at = item.get("expires_at").and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<u64>().ok());
        let data = item.get("data").and_then(|v| v.as_s().ok());
        match (data, expires_at) {
            // DynamoDB deletes expired items lazily (up to days later): expiry is enforced here.
            (Some(data), Some(expires_at)) => Ok((expires_at > now_secs()).then(|| data.clone())),
            _ => Err(StoreError::Corrupt("cached result without data or expiry".into())),
        }
    }

    async fn put(&self, key: &CacheKey, data: &str, expires_at: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", item_key(key))
            .item("data", AttributeValue::S(data.to_owned()))
            .item("expires_at", AttributeValue::N(expires_at.to_string()))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Adapter tests against moto (the local stack sets `AWS_ENDPOINT_URL`; `make test` starts it first).
    use serde_json::json;

    use super::*;

    async fn store(test: &str) -> Option<DynamoResultStore> {
        let sdk = crate::testing::moto(test).await?;
        Some(DynamoResultStore::new(&sdk, std::env::var("TABLE_NAME").unwrap_or_else(|_| "mcp-gateway".into())))
    }

    fn fresh_key(arguments: serde_json::Value) -> CacheKey {
        CacheKey::new(&crate::protocol::mint_id().unwrap(), "demo_lookup", &arguments)
    }

    #[tokio::test]
    async fn results_round_trip_with_their_ttl_and_no_argument_in_the_key() {
        let Some(store) = store("results_round_trip_with_their_ttl_and_no_argument_in_the_key").await else { return };
        let key = fresh_key(json!({"email": "alice@example.com"}));
        assert_eq!(store.get(&key).await.unwrap(), None);
        let expires_at = now_secs() + 300;
        store.put(&key, r#"{"content":[]}"#, expires_at).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap().as_deref(), Some(r#"{"content":[]}"#));
        let item = store.client.get_item().table_name(&store.table).key("pk", item_key(&key)).send().await.unwrap();
        let item = item.item.unwrap();
        assert_eq!(item["expires_at"].as_n().unwrap(), &expires_at.to_string());
        let pk = item["pk"].as_s().unwrap();
        assert!(pk.starts_with("result#") && !pk.contains("alice") && pk.len() == "result#".len() + 64, "{pk}");
    }

    #[tokio::test]
    async fn expired_results_are_not_served_before_dynamodb_deletes_them() {
        let Some(store) = store("expired_results_are_not_served_before_dynamodb_deletes_them").await else { return };
        let key = fresh_key(json!({}));
        store.put(&key, "{}", now_secs() - 1).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);
    }
}
