//! DynamoDB adapter of [`StreamStore`], in the gateway's one table. Items:
//! `pending#<id>` → `data` (the pending request as JSON), `session`, `owner`, `expires_at`;
//! `event#<session>#<stream>#<seq>` → `data` (the stored event as JSON), `expires_at`.
//! A pending request is taken by one conditional `DeleteItem` (owner, session and expiry checked in the
//! condition, the old item returned), so of two instances racing for it exactly one gets it.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::{
    now_secs,
    streams::{PendingRequest, StoredEvent, StreamStore},
    DynamoStore, StoreError,
};

fn pending_key(id: &str) -> AttributeValue {
    AttributeValue::S(format!("pending#{id}"))
}

fn event_key(session: &str, stream: &str, seq: u64) -> AttributeValue {
    AttributeValue::S(format!("event#{session}#{stream}#{seq}"))
}

fn data<T: serde::de::DeserializeOwned>(
    item: &std::collections::HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    let text = item.get("data").and_then(|v| v.as_s().ok()).ok_or_else(|| StoreError::Corrupt("no data".into()))?;
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl StreamStore for DynamoStore {
    async fn put_pending(&self, request: &PendingRequest) -> Result<(), StoreError> {
        let text = serde_json::to_string(request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client()
            .put_item()
            .table_name(self.table())
            .item("pk", pending_key(&request.id))
            .item("data", AttributeValue::S(text))
            .item("session", AttributeValue::S(request.session.clone()))
            .item("owner", AttributeValue::S(request.owner.clone()))
            .item("expires_at", AttributeValue::N(request.expires_at.to_string()))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn is_pending(&self, id: &str) -> Result<bool, StoreError> {
        let output = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", pending_key(id))
            .projection_expression("expires_at")
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let expires = output.item.as_ref().and_then(|i| i.get("expires_at")).and_then(|v| v.as_n().ok());
        Ok(expires.and_then(|n| n.parse::<u64>().ok()).is_some_and(|at| at > now_secs()))
    }

    async fn take_pending(&self, id: &str, session: &str, owner: &str) -> Result<Option<PendingRequest>, StoreError> {
        let outcome = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key("pk", pending_key(id))
            .condition_expression("#s = :s AND #o = :o AND expires_at > :now")
            .expression_attribute_names("#s", "session")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":s", AttributeValue::S(session.to_owned()))
            .expression_attribute_values(":o", AttributeValue::S(owner.to_owned()))
            .expression_attribute_values(":now", AttributeValue::N(now_secs().to_string()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match outcome {
            Ok(output) => output.attributes.as_ref().map(data).transpose(),
            // Missing, expired, or another session's: the same answer for all three.
            Err(error) if error.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(None)
            }
            Err(error) => Err(StoreError::unavailable(error)),
        }
    }

    async fn withdraw_pending(&self, id: &str) -> Result<Option<PendingRequest>, StoreError> {
        let outcome = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key("pk", pending_key(id))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        outcome.attributes.as_ref().map(data).transpose()
    }

    async fn put_event(&self, session: &str, stream: &str, seq: u64, event: &StoredEvent) -> Result<(), StoreError> {
        let text = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client()
            .put_item()
            .table_name(self.table())
            .item("pk", event_key(session, stream, seq))
            .item("data", AttributeValue::S(text))
            .item("expires_at", AttributeValue::N(event.expires_at.to_string()))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn event(&self, session: &str, stream: &str, seq: u64) -> Result<Option<StoredEvent>, StoreError> {
        let output = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", event_key(session, stream, seq))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let Some(item) = output.item else { return Ok(None) };
        let event: StoredEvent = data(&item)?;
        // DynamoDB deletes expired items lazily: expiry is enforced here.
        Ok((event.expires_at > now_secs()).then_some(event))
    }
}

#[cfg(test)]
mod tests {
    //! Against moto (`make test` starts it; a plain `cargo test` skips with a message).
    use super::*;
    use serde_json::json;

    async fn store(test: &str) -> Option<DynamoStore> {
        let sdk = crate::testing::moto(test).await?;
        Some(DynamoStore::new(&sdk, std::env::var("TABLE_NAME").unwrap_or_else(|_| "mcp-gateway".into())))
    }

    fn pending(id: &str, expires_at: u64) -> PendingRequest {
        PendingRequest {
            id: id.into(),
            session: "s1".into(),
            owner: "k1".into(),
            backend: "demo".into(),
            backend_request_id: json!("b-7"),
            backend_session: Some("bs".into()),
            backend_version: "2025-11-25".into(),
            method: "sampling/createMessage".into(),
            expires_at,
        }
    }

    #[tokio::test]
    async fn pending_requests_are_taken_once_by_their_own_session_only() {
        let Some(store) = store("pending_requests_are_taken_once_by_their_own_session_only").await else { return };
        let id = crate::protocol::mint_id().unwrap();
        store.put_pending(&pending(&id, now_secs() + 60)).await.unwrap();
        assert!(store.is_pending(&id).await.unwrap());
        assert!(store.take_pending(&id, "s2", "k1").await.unwrap().is_none());
        assert!(store.take_pending(&id, "s1", "k2").await.unwrap().is_none());
        let taken = store.take_pending(&id, "s1", "k1").await.unwrap().expect("its own session takes it");
        assert_eq!(taken, pending(&id, taken.expires_at));
        assert!(store.take_pending(&id, "s1", "k1").await.unwrap().is_none(), "at most once");
        assert!(!store.is_pending(&id).await.unwrap());
        let expired = crate::protocol::mint_id().unwrap();
        store.put_pending(&pending(&expired, now_secs() - 1)).await.unwrap();
        assert!(store.take_pending(&expired, "s1", "k1").await.unwrap().is_none());
        assert!(store.withdraw_pending(&expired).await.unwrap().is_some(), "its relay still withdraws it");
        assert!(store.withdraw_pending(&expired).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn events_round_trip_per_session_and_stream() {
        let Some(store) = store("events_round_trip_per_session_and_stream").await else { return };
        let session = crate::protocol::mint_id().unwrap();
        let event = StoredEvent {
            data: r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#.into(),
            backends: [("demo".to_owned(), "e-9".to_owned())].into(),
            expires_at: now_secs() + 60,
        };
        store.put_event(&session, "t1", 1, &event).await.unwrap();
        assert_eq!(store.event(&session, "t1", 1).await.unwrap(), Some(event));
        assert_eq!(store.event(&session, "t1", 2).await.unwrap(), None);
        assert_eq!(store.event("another-session", "t1", 1).await.unwrap(), None);
    }
}
