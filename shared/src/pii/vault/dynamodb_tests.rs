//! The DynamoDB adapter against moto: every condition holds, and minting costs a small, fixed number of
//! requests and write units whatever the vault size — counted by an SDK interceptor on the real client
//! (operations from `X-Amz-Target`; write units from the sizes of the items written, by DynamoDB's rules:
//! one unit per started KB per item written). moto's own `ConsumedCapacity` is a constant, so sizes are the
//! honest measure here. Skipped, with a message, without the local stack.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use aws_sdk_dynamodb::config::{
    interceptors::{BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef},
    ConfigBag, Intercept, RuntimeComponents,
};
use base64::Engine;
use serde_json::{json, Value};

use super::*;
use crate::pii::{
    moto_tests::{moto, random_scope, table},
    Pii, PiiConfig,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One DynamoDB request as sent.
#[derive(Debug, Clone, Default)]
struct Call {
    operation: String,
    /// Keys asked for (`BatchGetItem`).
    keys_read: usize,
    /// Write units of the items written.
    write_units: u64,
}

#[derive(Debug, Clone, Default)]
struct Meter(Arc<Mutex<Vec<Call>>>);

impl Meter {
    fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// DynamoDB's item size: attribute names plus values (strings and binaries by length, numbers by digits).
fn item_size(item: &serde_json::Map<String, Value>) -> u64 {
    let value_size = |v: &Value| -> u64 {
        let (kind, inner) = v.as_object().and_then(|o| o.iter().next()).unwrap();
        match (kind.as_str(), inner) {
            ("S", Value::String(s)) => s.len() as u64,
            ("N", Value::String(n)) => (n.trim_start_matches('-').len() as u64).div_ceil(2) + 1,
            ("B", Value::String(b)) => base64::engine::general_purpose::STANDARD.decode(b).unwrap().len() as u64,
            ("BOOL" | "NULL", _) => 1,
            other => panic!("unexpected attribute {other:?}"),
        }
    };
    item.iter().map(|(name, value)| name.len() as u64 + value_size(value)).sum()
}

fn units(item: &serde_json::Map<String, Value>) -> u64 {
    item_size(item).div_ceil(1024).max(1)
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "VaultWriteMeter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let operation =
            request.headers().get("x-amz-target").unwrap_or_default().rsplit('.').next().unwrap_or_default();
        let body: Value = serde_json::from_slice(request.body().bytes().unwrap_or(b"{}"))?;
        let mut call = Call { operation: operation.to_owned(), ..Call::default() };
        match operation {
            "BatchGetItem" => {
                call.keys_read = body["RequestItems"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|t| t["Keys"].as_array().unwrap().len())
                    .sum()
            }
            "PutItem" => call.write_units = units(body["Item"].as_object().unwrap()),
            "TransactWriteItems" => {
                call.write_units = body["TransactItems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| 2 * units(t["Put"]["Item"].as_object().unwrap()))
                    .sum()
            }
            // UpdateItem: counted from the item it returns (below), or 1 unit for a small item.
            _ => {}
        }
        self.0.lock().unwrap().push(call);
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body: Value =
            serde_json::from_slice(context.response().body().bytes().unwrap_or(b"{}")).unwrap_or_default();
        let mut calls = self.0.lock().unwrap();
        if let Some(last) = calls.last_mut().filter(|c| c.operation == "UpdateItem") {
            last.write_units = body["Attributes"].as_object().map_or(1, units);
        }
        Ok(())
    }
}

async fn metered_store(sdk: &aws_config::SdkConfig) -> (DynamoVaultStore, Meter) {
    let meter = Meter::default();
    let config = aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(meter.clone()).build();
    (DynamoVaultStore::from_client(aws_sdk_dynamodb::Client::from_conf(config), table()), meter)
}

fn service(store: DynamoVaultStore) -> Pii {
    let key = VaultKey::derive(SECRET).unwrap();
    Pii::new(PiiConfig::from_lookup(|_| None).unwrap(), Arc::new(store), key).unwrap()
}

const SECRET: &str = "dynamodb-adapter-test-secret-0123456789abcdefghijklmnop";

/// A vault of `n` tokens (`userN@example.com` → `[EMAIL_N]`), sealed and keyed exactly as minting does, written
/// in small paced batches: the emulator applies one request at a time, and filling it token by token (or in
/// big bursts) would hold it long enough to time out the other adapter tests running alongside.
async fn seed(sdk: &aws_config::SdkConfig, scope: &str, n: u32) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

    let key = VaultKey::derive(SECRET).unwrap();
    let items = ScopeItems::new(&key, scope);
    let expires_at = crate::store::now_secs() + 86_400;
    let mut writes = Vec::new();
    for i in 1..=n {
        let value = format!("user{i}@example.com");
        let fingerprint = items.fingerprint_key(PiiKind::Email, &value);
        let number = items.seal_number(&fingerprint, i).unwrap();
        for (pk, sealed) in [
            (items.token_key(PiiKind::Email, i), items.seal_value(PiiKind::Email, i, &value).unwrap()),
            (fingerprint, number),
        ] {
            let put = PutRequest::builder()
                .item("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk))
                .item("v", aws_sdk_dynamodb::types::AttributeValue::B(sealed.into()))
                .item("expires_at", aws_sdk_dynamodb::types::AttributeValue::N(expires_at.to_string()))
                .build()
                .unwrap();
            writes.push(WriteRequest::builder().put_request(put).build());
        }
    }
    let client = crate::aws::dynamodb(sdk);
    for chunk in writes.chunks(10) {
        let output = client.batch_write_item().request_items(table(), chunk.to_vec()).send().await.unwrap();
        assert!(output.unprocessed_items.unwrap_or_default().is_empty());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let store = DynamoVaultStore::new(sdk, table());
    let reservation = Reservation { counts: vec![(PiiKind::Email, n)], cap: 10_000, expires_at, restart_from: None };
    assert!(matches!(store.reserve(&items.meta_key(), &reservation).await.unwrap(), Reserved::Granted(_)));
}

fn summary(calls: &[Call]) -> (BTreeMap<String, usize>, u64) {
    let mut ops = BTreeMap::new();
    for call in calls {
        *ops.entry(call.operation.clone()).or_default() += 1;
    }
    (ops, calls.iter().map(|c| c.write_units).sum())
}

#[tokio::test]
async fn minting_costs_the_same_small_writes_in_a_vault_of_one_or_a_thousand_tokens() {
    let Some(sdk) = moto("minting_costs_the_same_small_writes").await else { return };
    let (store, meter) = metered_store(&sdk).await;
    let pii = service(store);
    let (small, big) = (random_scope("capacity-small"), random_scope("capacity-big"));
    pii.tokenize(&small, "demo", None, &mut json!("first@example.com")).await.unwrap();
    seed(&sdk, &big, 1000).await;
    // The seeded vault is a real one: its tokens resolve, and its values have their tokens.
    let mut args = json!("[EMAIL_500]");
    pii.detokenize(&big, &mut args).await.unwrap();
    assert_eq!(args, "user500@example.com");
    let mut known = json!("again user999@example.com");
    pii.tokenize(&big, "demo", None, &mut known).await.unwrap();
    assert_eq!(known, "again [EMAIL_999]");
    meter.take();

    let mut costs = Vec::new();
    for scope in [&small, &big] {
        let mut result = json!({"text": "mail newcomer@example.com"});
        let stats = pii.tokenize(scope, "demo", None, &mut result).await.unwrap();
        assert_eq!(stats.minted, 1);
        let calls = meter.take();
        let (ops, write_units) = summary(&calls);
        let expected: BTreeMap<String, usize> =
            [("BatchGetItem", 1), ("PutItem", 2), ("UpdateItem", 1)].map(|(o, n)| (o.to_owned(), n)).into();
        assert_eq!(ops, expected, "{calls:?}");
        assert_eq!(calls[0].keys_read, 2, "the meta item and the value's own fingerprint, nothing else");
        // Meta item, token item, fingerprint item: one unit each (each well under 1 KB).
        assert_eq!(write_units, 3, "{calls:?}");
        costs.push((ops, write_units));
    }
    assert_eq!(costs[0], costs[1], "the same cost at 1 and at 1000 tokens");

    // Restoring one token of the big vault reads two items and writes nothing.
    pii.detokenize(&big, &mut json!("[EMAIL_500]")).await.unwrap();
    let calls = meter.take();
    assert_eq!((calls.len(), calls[0].keys_read, summary(&calls).1), (1, 2, 0), "{calls:?}");
    // Nothing to tokenize, nothing to restore: no call at all.
    pii.tokenize(&big, "demo", None, &mut json!({"text": "no personal data", "n": 7})).await.unwrap();
    pii.detokenize(&big, &mut json!({"q": "plain"})).await.unwrap();
    assert!(meter.take().is_empty());
}

fn entry(key: &str, byte: u8, expires_at: u64) -> VaultEntry {
    VaultEntry { key: key.to_owned(), sealed: vec![2, byte, byte], expires_at }
}

#[tokio::test]
async fn items_are_written_only_under_their_conditions() {
    let Some(sdk) = moto("items_are_written_only_under_their_conditions").await else { return };
    let (store, _) = metered_store(&sdk).await;
    let scope = random_scope("pii#adapter-test");
    let (meta_key, now) = (scope.clone(), crate::store::now_secs());
    let later = now + 3600;
    let reservation =
        |counts: Vec<(PiiKind, u32)>, cap, restart_from| Reservation { counts, cap, expires_at: later, restart_from };

    // Reservations add up per kind and stop at the cap.
    let Reserved::Granted(meta) =
        store.reserve(&meta_key, &reservation(vec![(PiiKind::Email, 2)], 3, None)).await.unwrap()
    else {
        panic!("first reservation refused")
    };
    assert_eq!((meta.counters[PiiKind::Email as usize], meta.total, meta.expires_at), (2, 2, later));
    let over = reservation(vec![(PiiKind::Email, 1), (PiiKind::Phone, 1)], 3, None);
    assert_eq!(store.reserve(&meta_key, &over).await.unwrap(), Reserved::Refused, "2 + 2 > 3");
    let Reserved::Granted(meta) =
        store.reserve(&meta_key, &reservation(vec![(PiiKind::Phone, 1)], 3, None)).await.unwrap()
    else {
        panic!("a reservation within the cap was refused")
    };
    assert_eq!((meta.counters[PiiKind::Phone as usize], meta.total), (1, 3));
    // A restart only over the expiry as read.
    let stale = reservation(vec![(PiiKind::Email, 1)], 3, Some(now - 5));
    assert_eq!(store.reserve(&meta_key, &stale).await.unwrap(), Reserved::Refused);
    let Reserved::Granted(meta) =
        store.reserve(&meta_key, &reservation(vec![(PiiKind::Email, 1)], 3, Some(later))).await.unwrap()
    else {
        panic!("a restart over the current expiry was refused")
    };
    assert_eq!((meta.counters[PiiKind::Email as usize], meta.total), (3, 1), "counters go on, the total restarts");

    // A pair goes in once; a live fingerprint or token is never replaced; an expired one is.
    let (token, fingerprint) = (format!("{scope}#t#EMAIL_1"), format!("{scope}#f#aa"));
    let pair = (entry(&token, 1, later), entry(&fingerprint, 1, later));
    assert_eq!(store.insert(std::slice::from_ref(&pair), now).await.unwrap(), vec![Inserted::Inserted]);
    let rival = (entry(&format!("{scope}#t#EMAIL_2"), 2, later), entry(&fingerprint, 2, later));
    let fresh = (entry(&format!("{scope}#t#EMAIL_3"), 3, later), entry(&format!("{scope}#f#bb"), 3, later));
    assert_eq!(store.insert(&[rival, fresh], now).await.unwrap(), vec![Inserted::Taken, Inserted::Inserted]);
    let (_, found) = store.read(&meta_key, &[token.clone(), fingerprint.clone()]).await.unwrap();
    assert!(found.contains(&pair.0) && found.contains(&pair.1), "the first pair stands: {found:?}");
    let reused = (entry(&token, 9, later + 10), entry(&fingerprint, 9, later + 10));
    assert_eq!(
        store.insert(std::slice::from_ref(&reused), later + 1).await.unwrap(),
        vec![Inserted::Inserted],
        "expired: replaced"
    );

    // Refresh moves live items forward only; the tombstone stops everything.
    store.refresh(&meta_key, std::slice::from_ref(&token), later + 500, now).await.unwrap();
    let (meta, found) = store.read(&meta_key, std::slice::from_ref(&token)).await.unwrap();
    assert_eq!((meta.unwrap().expires_at, found[0].expires_at), (later + 500, later + 500));
    store.forget(&meta_key, later + 9000).await.unwrap();
    let (meta, _) = store.read(&meta_key, &[]).await.unwrap();
    let meta = meta.unwrap();
    assert!(meta.deleted && meta.expires_at == later + 9000);
    assert_eq!(meta.counters[PiiKind::Email as usize], 3, "the tombstone keeps the counters");
    let after = reservation(vec![(PiiKind::Email, 1)], 100, None);
    assert_eq!(store.reserve(&meta_key, &after).await.unwrap(), Reserved::Refused, "no minting after forget");
    store.refresh(&meta_key, &[], later + 99_999, now).await.unwrap();
    assert_eq!(
        store.read(&meta_key, &[]).await.unwrap().0.unwrap().expires_at,
        later + 9000,
        "forgotten: not refreshed"
    );
}

#[tokio::test]
async fn reads_of_many_keys_come_back_complete() {
    let Some(sdk) = moto("reads_of_many_keys_come_back_complete").await else { return };
    let (store, meter) = metered_store(&sdk).await;
    let scope = random_scope("pii#adapter-read");
    let later = crate::store::now_secs() + 3600;
    // A few pairs through `insert`, the rest straight in (batches of 25: one request per item would flood
    // the shared emulator): what is read does not depend on how it was written.
    let pairs: Vec<_> = (0..120)
        .map(|i| (entry(&format!("{scope}#t#EMAIL_{i}"), 1, later), entry(&format!("{scope}#f#{i:04}"), 1, later)))
        .collect();
    assert!(store.insert(&pairs[..5], later - 3600).await.unwrap().iter().all(|o| *o == Inserted::Inserted));
    let client = crate::aws::dynamodb(&sdk);
    for chunk in pairs[5..].chunks(25) {
        use aws_sdk_dynamodb::types::{AttributeValue as A, PutRequest, WriteRequest};
        let writes: Vec<WriteRequest> = chunk
            .iter()
            .map(|(token, _)| {
                let put = PutRequest::builder()
                    .item("pk", A::S(token.key.clone()))
                    .item("v", A::B(token.sealed.clone().into()))
                    .item("expires_at", A::N(token.expires_at.to_string()))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        client.batch_write_item().request_items(table(), writes).send().await.unwrap();
    }
    // Names repeated (and the meta key among them) are read once: DynamoDB refuses a batch with duplicates.
    let keys: Vec<String> = pairs
        .iter()
        .map(|(t, _)| t.key.clone())
        .chain([format!("{scope}#t#missing"), pairs[0].0.key.clone(), scope.clone()])
        .collect();
    meter.take();
    let (meta, found) = store.read(&scope, &keys).await.unwrap();
    assert_eq!((meta, found.len()), (None, 120));
    let calls = meter.take();
    assert_eq!(calls.iter().map(|c| c.keys_read).sum::<usize>(), 122, "meta + 121 keys, in batches of at most 100");
    assert!(calls.iter().all(|c| c.operation == "BatchGetItem" && c.keys_read <= 100));
}
