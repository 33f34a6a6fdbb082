//! Rate-limit counters in the gateway's table: item `rl#<key>#<window start>`, attribute `count`, TTL
//! `expires_at`. One `UpdateItem` per charge: `ADD count n` conditioned on `count <= max - n` (n = 1 in
//! exact mode, a slice in leased mode). DynamoDB applies it atomically, so concurrent instances can never
//! count past the limit, and there is no read.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    operation::update_item::UpdateItemError,
    types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure},
    Client,
};

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
        let config = builder.timeout_config(timeouts).retry_config(retries).interceptor(crate::aws::CountCalls).build();
        Self { client: Client::from_conf(config), table: table.into() }
    }
}

/// What one conditional write did.
enum Added {
    Counted(u64),
    /// The condition failed; the count it saw (absent if the item had none).
    Refused(Option<u64>),
}

impl DynamoRateLimitStore {
    /// `ADD count :n` if the count stays at most `max`. On a refusal DynamoDB returns the item as it was
    /// (`ReturnValuesOnConditionCheckFailure`), so a slice that did not fit can be cut to what is left.
    async fn add(&self, key: &str, window_start: u64, max: u64, n: u64, expires_at: u64) -> Result<Added, StoreError> {
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("rl#{key}#{window_start}")))
            .update_expression("ADD #count :n SET #exp = if_not_exists(#exp, :exp)")
            .condition_expression("attribute_not_exists(#count) OR #count <= :room")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .expression_attribute_values(":room", AttributeValue::N((max - n).to_string()))
            .expression_attribute_values(":exp", AttributeValue::N(expires_at.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match outcome {
            Ok(output) => output
                .attributes
                .as_ref()
                .and_then(count_of)
                .map(Added::Counted)
                .ok_or_else(|| StoreError::Corrupt("UpdateItem returned no count".into())),
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    Ok(Added::Refused(refused.item().and_then(count_of)))
                }
                _ => Err(StoreError::unavailable(error)),
            },
        }
    }
}

fn count_of(item: &std::collections::HashMap<String, AttributeValue>) -> Option<u64> {
    item.get("count")?.as_n().ok()?.parse().ok()
}

#[async_trait]
impl RateLimitStore for DynamoRateLimitStore {
    async fn hit(&self, key: &str, window_start: u64, max: u64, want: u64, expires_at: u64) -> Result<Hit, StoreError> {
        let mut want = want.clamp(1, max.max(1));
        loop {
            match self.add(key, window_start, max, want, expires_at).await? {
                Added::Counted(count) => return Ok(Hit::Counted { granted: want, count }),
                // A slice larger than what is left: ask again for exactly what is left. Each retry asks for
                // less than the one before, so this ends; one unit refused means the window is full.
                // (A refusal means `count > max - want`, so `max - count < want`.)
                Added::Refused(Some(count)) if want > 1 && count < max => want = max - count,
                Added::Refused(None) if want > 1 => want = 1,
                Added::Refused(_) => return Ok(Hit::Full),
            }
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
            tokio::spawn(async move { store.hit(&key, 0, 10, 1, 1).await })
        });
        let mut counted = 0;
        for hit in futures_util::future::join_all(hits).await {
            if let Hit::Counted { granted, .. } = hit.unwrap().unwrap() {
                counted += granted;
            }
        }
        assert_eq!(counted, 10);
    }

    #[tokio::test]
    async fn slices_that_do_not_fit_are_cut_to_what_is_left() {
        let Some(sdk) = crate::testing::moto("slices_that_do_not_fit_are_cut_to_what_is_left").await else { return };
        let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "mcp-gateway".into());
        let store = Arc::new(DynamoRateLimitStore::new(&sdk, table));
        let key = format!("adapter-test-{}", crate::protocol::mint_id().unwrap());
        assert_eq!(store.hit(&key, 0, 10, 4, 1).await.unwrap(), Hit::Counted { granted: 4, count: 4 });
        assert_eq!(store.hit(&key, 0, 10, 4, 1).await.unwrap(), Hit::Counted { granted: 4, count: 8 });
        assert_eq!(store.hit(&key, 0, 10, 4, 1).await.unwrap(), Hit::Counted { granted: 2, count: 10 });
        assert_eq!(store.hit(&key, 0, 10, 4, 1).await.unwrap(), Hit::Full);
        // Concurrent slices over a fresh window never grant more than the limit in total.
        let hits = (0..20).map(|_| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move { store.hit(&key, 60, 25, 3, 1).await })
        });
        let mut granted = 0;
        for hit in futures_util::future::join_all(hits).await {
            if let Hit::Counted { granted: n, .. } = hit.unwrap().unwrap() {
                granted += n;
            }
        }
        assert_eq!(granted, 25);
    }
}
