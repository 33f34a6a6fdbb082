//! Rate-limit counters in the gateway's table: item `rl#<key>#<window start>`, attribute `count`, TTL
//! `expires_at`. One `UpdateItem` per hit: `ADD count 1` conditioned on `count < max`. DynamoDB applies it
//! atomically, so concurrent instances can never count past the limit, and there is no read.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::{types::AttributeValue, Client};

use super::{Hit, RateLimitStore};
use crate::store::StoreError;

#[derive(Clone)]
pub struct DynamoRateLimitStore {
    client: Client,
    table: String,
}

impl DynamoRateLimitStore {
    /// Short timeouts and no retries beyond one: a limiter that hangs is worse than one that fails.
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::from_builder(aws_sdk_dynamodb::config::Builder::from(sdk), table)
    }

    /// As [`Self::new`], from a client configuration the caller prepared (e.g. with an interceptor).
    pub fn from_builder(builder: aws_sdk_dynamodb::config::Builder, table: impl Into<String>) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(500))
            .operation_attempt_timeout(Duration::from_millis(700))
            .operation_timeout(Duration::from_millis(1400))
            .build();
        let retries = aws_config::retry::RetryConfig::standard().with_max_attempts(2);
        let config = builder.timeout_config(timeouts).retry_config(retries).build();
        Self { client: Client::from_conf(config), table: table.into() }
    }
}

#[async_trait]
impl RateLimitStore for DynamoRateLimitStore {
    async fn hit(&self, key: &str, window_start: u64, max: u64, expires_at: u64) -> Result<Hit, StoreError> {
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("rl#{key}#{window_start}")))
            .update_expression("ADD #count :one SET #exp = if_not_exists(#exp, :exp)")
            .condition_expression("attribute_not_exists(#count) OR #count < :max")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":max", AttributeValue::N(max.to_string()))
            .expression_attribute_values(":exp", AttributeValue::N(expires_at.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match outcome {
            Ok(output) => {
                let count = output
                    .attributes
                    .and_then(|a| a.get("count").and_then(|c| c.as_n().ok()).and_then(|n| n.parse().ok()))
                    .ok_or_else(|| StoreError::Corrupt("UpdateItem returned no count".into()))?;
                Ok(Hit::Counted(count))
            }
            Err(error) if error.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(Hit::Full)
            }
            Err(error) => Err(StoreError::unavailable(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Against moto (the local stack sets `AWS_ENDPOINT_URL`; `make test` starts it first).
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn concurrent_hits_never_count_past_the_limit() {
        let Some(sdk) = crate::testing::moto("concurrent_hits_never_count_past_the_limit").await else { return };
        let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "mcp-gateway".into());
        let store = Arc::new(DynamoRateLimitStore::new(&sdk, table));
        let key = format!("adapter-test-{}", crate::protocol::mint_id().unwrap());
        let hits = (0..40).map(|_| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move { store.hit(&key, 0, 10, 1).await })
        });
        let mut counted = 0;
        for hit in futures_util::future::join_all(hits).await {
            if let Hit::Counted(_) = hit.unwrap().unwrap() {
                counted += 1;
            }
        }
        assert_eq!(counted, 10);
    }
}
