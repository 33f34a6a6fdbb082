//! DynamoDB adapter of [`ConfigStore`](super::ConfigStore): the items described in `config.rs`, in the
//! gateway's one table.

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    types::{Put, TransactWriteItem, Update},
    Client,
};

use super::{
    config::{ConfigStore, ConfigVersion, StoredDocument, AUDIT_RING, AUDIT_TTL_SECS},
    now_secs,
    table::{self, n, number, s, Item},
    StoreError,
};

const VERSION: &str = "config#version";
const DOCUMENT: &str = "config#document";
const AUDIT_SEQ: &str = "audit#seq";

/// The stored configuration in DynamoDB, built once per cold start.
#[derive(Clone)]
pub struct DynamoConfigStore {
    client: Client,
    table: String,
}

impl DynamoConfigStore {
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self { client: crate::aws::dynamodb(sdk), table: table.into() }
    }

    async fn get(&self, pk: &str, consistent: bool) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(output.item)
    }
}

/// The versions item read back (all zero when nothing was ever stored).
fn versions(item: Option<Item>) -> Result<ConfigVersion, StoreError> {
    let Some(item) = item else { return Ok(ConfigVersion::default()) };
    Ok(ConfigVersion { config: number(&item, "version")?, keys: number(&item, "keys")? })
}

/// The document item read back (empty, version 0, when nothing was ever stored).
fn document(item: Option<Item>) -> Result<StoredDocument, StoreError> {
    let Some(item) = item else { return Ok(StoredDocument::default()) };
    let text = item.get("data").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    Ok(StoredDocument { version: number(&item, "version")?, text })
}

fn audit_key(seq: u64) -> String {
    format!("audit#{}", seq % AUDIT_RING)
}

#[async_trait]
impl ConfigStore for DynamoConfigStore {
    async fn version(&self) -> Result<ConfigVersion, StoreError> {
        // Eventually consistent (half the cost): a change shows up at the next poll at the latest.
        versions(self.get(VERSION, false).await?)
    }

    async fn load(&self) -> Result<StoredDocument, StoreError> {
        document(self.get(DOCUMENT, true).await?)
    }

    /// Both items in one `BatchGetItem`: one round trip at cold start instead of two in a row.
    async fn snapshot(&self) -> Result<(ConfigVersion, StoredDocument), StoreError> {
        let mut items = table::batch_get(&self.client, &self.table, &[VERSION.into(), DOCUMENT.into()], true).await?;
        Ok((versions(table::take(&mut items, VERSION))?, document(table::take(&mut items, DOCUMENT))?))
    }

    async fn save(&self, expected: u64, text: &str) -> Result<Option<u64>, StoreError> {
        let version = expected + 1;
        let mut put = Put::builder()
            .table_name(&self.table)
            .item("pk", s(DOCUMENT))
            .item("version", n(version))
            .item("data", s(text));
        put = if expected == 0 {
            put.condition_expression("attribute_not_exists(pk)")
        } else {
            put.condition_expression("version = :expected").expression_attribute_values(":expected", n(expected))
        };
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(VERSION))
            .update_expression("SET version = :v")
            .expression_attribute_values(":v", n(version));
        let outcome = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put.build().map_err(StoreError::unavailable)?).build())
            .transact_items(
                TransactWriteItem::builder().update(update.build().map_err(StoreError::unavailable)?).build(),
            )
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(Some(version)),
            // The only condition is the document's version: a cancelled transaction is a conflict.
            Err(error) if error.as_service_error().is_some_and(|e| e.is_transaction_canceled_exception()) => Ok(None),
            Err(error) => Err(StoreError::unavailable(error)),
        }
    }

    async fn touch_keys(&self) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(VERSION))
            .update_expression("ADD #k :one")
            .expression_attribute_names("#k", "keys")
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn append_audit(&self, event: &str) -> Result<u64, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(AUDIT_SEQ))
            .update_expression("ADD seq :one")
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let seq = number(&output.attributes.unwrap_or_default(), "seq")?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(audit_key(seq)))
            .item("seq", n(seq))
            .item("data", s(event))
            .item("expires_at", n(now_secs() + AUDIT_TTL_SECS))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(seq)
    }

    async fn recent_audit(&self, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let Some(item) = self.get(AUDIT_SEQ, true).await? else { return Ok(Vec::new()) };
        let last = number(&item, "seq")?;
        let wanted: Vec<u64> = (1..=last).rev().take(limit.min(AUDIT_RING as usize)).collect();
        let keys: Vec<String> = wanted.iter().map(|seq| audit_key(*seq)).collect();
        let mut events = Vec::new();
        for item in table::batch_get(&self.client, &self.table, &keys, false).await? {
            let seq = number(&item, "seq")?;
            // DynamoDB deletes expired items lazily: expiry is enforced here.
            let live = number(&item, "expires_at")? > now_secs();
            if live && wanted.contains(&seq) {
                events.push((seq, item.get("data").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()));
            }
        }
        events.sort_by_key(|e| std::cmp::Reverse(e.0));
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    //! Adapter tests against moto (`make test` starts it; skipped with a message without it).
    use super::*;

    async fn store(test: &str) -> Option<DynamoConfigStore> {
        let sdk = crate::testing::moto(test).await?;
        // A table of its own per run would need creating; the shared one is fine: the test only
        // asserts relative changes.
        Some(DynamoConfigStore::new(&sdk, std::env::var("TABLE_NAME").unwrap_or_else(|_| "mcp-gateway".into())))
    }

    #[tokio::test]
    async fn a_stale_save_is_refused_and_the_version_follows_the_document() {
        let Some(store) = store("a_stale_save_is_refused_and_the_version_follows_the_document").await else { return };
        let before = store.load().await.unwrap();
        let saved = store.save(before.version, r#"{"backends":[]}"#).await.unwrap().expect("first save wins");
        assert_eq!(saved, before.version + 1);
        // Someone who read the old version cannot overwrite the change they never saw.
        assert_eq!(store.save(before.version, r#"{"lost":true}"#).await.unwrap(), None);
        let after = store.load().await.unwrap();
        assert_eq!((after.version, after.text.as_str()), (saved, r#"{"backends":[]}"#));
        assert_eq!(store.version().await.unwrap().config, saved);
        // The cold start's one-round-trip read gives what the two reads give.
        let (versions, document) = store.snapshot().await.unwrap();
        assert_eq!((versions.config, document.version, document.text.as_str()), (saved, saved, r#"{"backends":[]}"#));
        assert_eq!(versions.keys, store.version().await.unwrap().keys);
        let keys = store.version().await.unwrap().keys;
        store.touch_keys().await.unwrap();
        assert_eq!(store.version().await.unwrap().keys, keys + 1);
    }

    #[tokio::test]
    async fn audit_events_come_back_newest_first_with_their_ttl() {
        let Some(store) = store("audit_events_come_back_newest_first_with_their_ttl").await else { return };
        let a = store.append_audit(r#"{"n":1}"#).await.unwrap();
        let b = store.append_audit(r#"{"n":2}"#).await.unwrap();
        assert_eq!(b, a + 1);
        let recent = store.recent_audit(2).await.unwrap();
        assert_eq!(recent, vec![(b, r#"{"n":2}"#.to_owned()), (a, r#"{"n":1}"#.to_owned())]);
        let item = store.get(&audit_key(b), true).await.unwrap().unwrap();
        let ttl = number(&item, "expires_at").unwrap();
        assert!(ttl > now_secs() + AUDIT_TTL_SECS - 60 && ttl <= now_secs() + AUDIT_TTL_SECS, "{ttl}");
    }
}
