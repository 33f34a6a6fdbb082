//! DynamoDB adapter of `VaultStore`. Same table as sessions (`pk` S, TTL `expires_at` N); item
//! `pii#<scope-id>` → `blob` (B, the sealed map), `version` (N), `expires_at` (N).

use async_trait::async_trait;
use aws_sdk_dynamodb::{primitives::Blob, types::AttributeValue, Client};

use super::{SaveOutcome, SealedVault, VaultStore};
use crate::store::StoreError;

/// The DynamoDB-backed vault store, built once per cold start.
#[derive(Clone)]
pub struct DynamoVaultStore {
    client: Client,
    table: String,
}

impl DynamoVaultStore {
    /// A client with tight timeouts: a vault that does not answer must fail the request fast, not hang it.
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self { client: crate::aws::dynamodb(sdk), table: table.into() }
    }
}

fn key(scope_id: &str) -> AttributeValue {
    AttributeValue::S(format!("pii#{scope_id}"))
}

fn number(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> Result<u64, StoreError> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("PII vault item without a numeric {name}")))
}

#[async_trait]
impl VaultStore for DynamoVaultStore {
    async fn load(&self, scope_id: &str) -> Result<Option<SealedVault>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", key(scope_id))
            // A token minted a moment ago by another instance must resolve here.
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let blob = item
            .get("blob")
            .and_then(|v| v.as_b().ok())
            .ok_or_else(|| StoreError::Corrupt("PII vault item without a blob".into()))?;
        Ok(Some(SealedVault {
            blob: blob.as_ref().to_vec(),
            version: number(&item, "version")?,
            expires_at: number(&item, "expires_at")?,
        }))
    }

    async fn save(
        &self,
        scope_id: &str,
        vault: &SealedVault,
        expected: Option<u64>,
    ) -> Result<SaveOutcome, StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", key(scope_id))
            .item("blob", AttributeValue::B(Blob::new(vault.blob.clone())))
            .item("version", AttributeValue::N(vault.version.to_string()))
            .item("expires_at", AttributeValue::N(vault.expires_at.to_string()));
        let request = match expected {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(version) => request
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(version.to_string())),
        };
        match request.send().await {
            Ok(_) => Ok(SaveOutcome::Saved),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(SaveOutcome::Conflict)
            }
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn delete(&self, scope_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", key(scope_id))
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

    async fn store(test: &str) -> Option<DynamoVaultStore> {
        let sdk = crate::testing::moto(test).await?;
        Some(DynamoVaultStore::new(&sdk, std::env::var("TABLE_NAME").unwrap_or_else(|_| "mcp-gateway".into())))
    }

    fn unique_scope() -> String {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).unwrap();
        format!("adapter-test-{}", hex::encode(bytes))
    }

    fn sealed(version: u64) -> SealedVault {
        // A fixed expiry far ahead, so items compare equal however long the test takes.
        SealedVault { blob: vec![1, 2, 3, version as u8], version, expires_at: 4_102_444_800 }
    }

    #[tokio::test]
    async fn vault_items_are_written_only_over_the_expected_version() {
        let Some(store) = store("vault_items_are_written_only_over_the_expected_version").await else { return };
        let scope = unique_scope();
        assert_eq!(store.load(&scope).await.unwrap(), None);
        assert_eq!(store.save(&scope, &sealed(1), None).await.unwrap(), SaveOutcome::Saved);
        // A second creator, and a writer holding a stale version, both lose.
        assert_eq!(store.save(&scope, &sealed(1), None).await.unwrap(), SaveOutcome::Conflict);
        assert_eq!(store.save(&scope, &sealed(2), Some(1)).await.unwrap(), SaveOutcome::Saved);
        assert_eq!(store.save(&scope, &sealed(2), Some(1)).await.unwrap(), SaveOutcome::Conflict);
        assert_eq!(store.load(&scope).await.unwrap(), Some(sealed(2)));
        let item = store.client.get_item().table_name(&store.table).key("pk", key(&scope)).send().await.unwrap();
        assert!(item.item.unwrap()["expires_at"].as_n().is_ok(), "TTL attribute is a number");
        store.delete(&scope).await.unwrap();
        assert_eq!(store.load(&scope).await.unwrap(), None);
    }
}
