//! DynamoDB adapter of `VaultStore`. Same table as sessions (`pk` S, TTL `expires_at` N), items keyed as
//! `items.rs` says:
//! - meta: `n_<KIND>` (N) per kind used, `total` (N), `expires_at` (N), `deleted` (BOOL, when forgotten);
//! - token and fingerprint: `v` (B, sealed), `expires_at` (N).
//!
//! Reads are `BatchGetItem` (strongly consistent); a reservation is one conditional `UpdateItem`; a new pair
//! is two conditional `PutItem`s (no live item under its key), token before fingerprint; refreshes and the
//! tombstone are `UpdateItem`s. No operation reads or writes more than the items a request names. (Not a
//! transaction per pair: it would cost twice the write units for an atomicity the order already gives.)

use async_trait::async_trait;
use aws_sdk_dynamodb::{
    primitives::Blob,
    types::{AttributeValue, ReturnValue},
    Client,
};
use futures_util::{
    future::{join_all, try_join_all},
    StreamExt,
};

use super::{Inserted, Reservation, Reserved, VaultEntry, VaultMeta, VaultStore};
use crate::{
    pii::PiiKind,
    store::{
        table::{self, n, number, s, Item},
        StoreError,
    },
};

/// `BatchGetItem` takes at most 100 keys.
const READ_CHUNK: usize = 100;
/// Pairs written at the same time.
const INSERT_CONCURRENCY: usize = 16;

/// The DynamoDB-backed vault store, built once per cold start.
#[derive(Clone)]
pub struct DynamoVaultStore {
    client: Client,
    table: String,
}

impl DynamoVaultStore {
    /// A client with tight timeouts: a vault that does not answer must fail the request fast, not hang it.
    pub fn new(sdk: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::from_client(crate::aws::dynamodb(sdk), table)
    }

    /// With a client built elsewhere (tests add an interceptor that counts write units).
    pub(crate) fn from_client(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

fn counter_name(kind: PiiKind) -> String {
    format!("n_{}", kind.name())
}

fn parse_meta(item: &Item) -> Result<VaultMeta, StoreError> {
    let mut meta = VaultMeta {
        total: number(item, "total")?,
        expires_at: number(item, "expires_at")?,
        deleted: item.get("deleted").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
        ..VaultMeta::default()
    };
    for kind in PiiKind::ALL {
        let counter = number(item, &counter_name(kind))?;
        meta.counters[kind as usize] =
            u32::try_from(counter).map_err(|_| StoreError::Corrupt("PII vault counter out of range".into()))?;
    }
    Ok(meta)
}

fn parse_entry(key: String, item: &Item) -> Result<VaultEntry, StoreError> {
    let sealed = item
        .get("v")
        .and_then(|v| v.as_b().ok())
        .ok_or_else(|| StoreError::Corrupt("PII vault entry without a sealed value".into()))?;
    Ok(VaultEntry { key, sealed: sealed.as_ref().to_vec(), expires_at: number(item, "expires_at")? })
}

/// Conditional check failures are outcomes, not faults.
fn conditional<E>(result: Result<E, impl ConditionFailure>) -> Result<Option<E>, StoreError> {
    match result {
        Ok(output) => Ok(Some(output)),
        Err(e) if e.condition_failed() => Ok(None),
        Err(e) => Err(e.into_store_error()),
    }
}

trait ConditionFailure {
    fn condition_failed(&self) -> bool;
    fn into_store_error(self) -> StoreError;
}

impl<R: std::fmt::Debug + Send + Sync + 'static> ConditionFailure
    for aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>
{
    fn condition_failed(&self) -> bool {
        self.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception())
    }
    fn into_store_error(self) -> StoreError {
        StoreError::unavailable(self)
    }
}

impl DynamoVaultStore {
    /// Writes `entry` unless a live item has its key (a number or a fingerprint, once given, stays).
    /// `false`: one had.
    async fn put_new(&self, entry: &VaultEntry, now: u64) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&entry.key))
            .item("v", AttributeValue::B(Blob::new(entry.sealed.clone())))
            .item("expires_at", n(entry.expires_at))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    /// The token first, then the fingerprint: a fingerprint never points at a token that is not there. A
    /// token written for a fingerprint that lost is never handed out and expires with its TTL.
    async fn insert_pair(
        &self,
        index: usize,
        (token, fingerprint): &(VaultEntry, VaultEntry),
        now: u64,
    ) -> Result<(usize, Inserted), StoreError> {
        if !self.put_new(token, now).await? || !self.put_new(fingerprint, now).await? {
            return Ok((index, Inserted::Taken));
        }
        Ok((index, Inserted::Inserted))
    }

    async fn touch(&self, key: &str, condition: &str, expires_at: u64, now: u64) -> Result<(), StoreError> {
        let mut request = self.client.update_item();
        if condition.contains("#d") {
            request = request.expression_attribute_names("#d", "deleted");
        }
        let result = request
            .table_name(&self.table)
            .key("pk", s(key))
            .update_expression("SET expires_at = :e")
            .condition_expression(condition)
            .expression_attribute_values(":e", n(expires_at))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        conditional(result).map(drop)
    }
}

#[async_trait]
impl VaultStore for DynamoVaultStore {
    async fn read(&self, meta_key: &str, keys: &[String]) -> Result<(Option<VaultMeta>, Vec<VaultEntry>), StoreError> {
        // DynamoDB refuses a batch that names a key twice.
        let mut seen = std::collections::HashSet::with_capacity(keys.len() + 1);
        let all: Vec<String> = std::iter::once(meta_key)
            .chain(keys.iter().map(String::as_str))
            .filter(|k| seen.insert(*k))
            .map(str::to_owned)
            .collect();
        let chunks =
            try_join_all(all.chunks(READ_CHUNK).map(|chunk| table::batch_get(&self.client, &self.table, chunk, true)))
                .await?;
        let (mut meta, mut entries) = (None, Vec::with_capacity(keys.len()));
        for item in chunks.into_iter().flatten() {
            let key = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if key == meta_key {
                meta = Some(parse_meta(&item)?);
            } else {
                entries.push(parse_entry(key, &item)?);
            }
        }
        Ok((meta, entries))
    }

    async fn reserve(&self, meta_key: &str, reservation: &Reservation) -> Result<Reserved, StoreError> {
        let size = reservation.size();
        if size > reservation.cap || reservation.counts.is_empty() {
            return Ok(Reserved::Refused);
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(meta_key))
            .expression_attribute_values(":e", n(reservation.expires_at))
            .expression_attribute_values(":size", n(size))
            .return_values(ReturnValue::AllNew);
        let mut adds = Vec::new();
        for (i, (kind, count)) in reservation.counts.iter().enumerate() {
            adds.push(format!("#n{i} :n{i}"));
            request = request
                .expression_attribute_names(format!("#n{i}"), counter_name(*kind))
                .expression_attribute_values(format!(":n{i}"), n(count));
        }
        request = match reservation.restart_from {
            // The meta item had expired: the total restarts, the counters go on, and only over the item as read.
            Some(seen) => request
                .update_expression(format!("SET expires_at = :e, #total = :size ADD {}", adds.join(", ")))
                .condition_expression("attribute_not_exists(#d) AND expires_at = :seen")
                .expression_attribute_values(":seen", n(seen)),
            None => request
                .update_expression(format!("SET expires_at = :e ADD #total :size, {}", adds.join(", ")))
                .condition_expression("attribute_not_exists(#d) AND (attribute_not_exists(#total) OR #total <= :max)")
                .expression_attribute_values(":max", n(reservation.cap - size)),
        };
        // Placeholders for every name: `total` is one of DynamoDB's reserved words.
        let request = request.expression_attribute_names("#total", "total").expression_attribute_names("#d", "deleted");
        match conditional(request.send().await)? {
            None => Ok(Reserved::Refused),
            Some(output) => Ok(Reserved::Granted(parse_meta(&output.attributes.unwrap_or_default())?)),
        }
    }

    async fn insert(&self, pairs: &[(VaultEntry, VaultEntry)], now: u64) -> Result<Vec<Inserted>, StoreError> {
        // Pairs in parallel, a bounded number at a time; each pair's two writes in order.
        let writes: Vec<_> = pairs.iter().enumerate().map(|(i, pair)| self.insert_pair(i, pair, now)).collect();
        let outcomes: Vec<Result<(usize, Inserted), StoreError>> =
            futures_util::stream::iter(writes).buffer_unordered(INSERT_CONCURRENCY).collect().await;
        let mut ordered = vec![Inserted::Taken; pairs.len()];
        for outcome in outcomes {
            let (i, inserted) = outcome?;
            ordered[i] = inserted;
        }
        Ok(ordered)
    }

    async fn refresh(&self, meta_key: &str, keys: &[String], expires_at: u64, now: u64) -> Result<(), StoreError> {
        const META: &str =
            "attribute_exists(pk) AND attribute_not_exists(#d) AND expires_at > :now AND expires_at < :e";
        const ENTRY: &str = "attribute_exists(pk) AND expires_at > :now AND expires_at < :e";
        let meta = self.touch(meta_key, META, expires_at, now);
        let entries = join_all(keys.iter().map(|k| self.touch(k, ENTRY, expires_at, now)));
        let (meta, entries) = futures_util::future::join(meta, entries).await;
        meta?;
        entries.into_iter().collect()
    }

    async fn forget(&self, meta_key: &str, expires_at: u64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(meta_key))
            .update_expression("SET #d = :t, expires_at = :e")
            .expression_attribute_names("#d", "deleted")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":e", n(expires_at))
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}
