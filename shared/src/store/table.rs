//! What every adapter of the gateway's one DynamoDB table shares: attribute values as they are written
//! and read, and the batched read of items by key.

use std::collections::HashMap;

use aws_sdk_dynamodb::{
    types::{AttributeValue, KeysAndAttributes},
    Client,
};

use super::StoreError;

/// An item as DynamoDB hands it back.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// Keys per `BatchGetItem` call (DynamoDB's limit).
const BATCH_KEYS: usize = 100;
/// Calls per batch while DynamoDB keeps handing keys back unprocessed (throttling).
const ATTEMPTS: u32 = 5;

/// A string attribute.
pub(crate) fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

/// A number attribute.
pub(crate) fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// The items of the keys `pks` (partition key `pk`) that exist, in no particular order: `BatchGetItem` by
/// up to 100 keys, asking again after a pause for the keys DynamoDB hands back unprocessed.
pub(crate) async fn batch_get(
    client: &Client,
    table: &str,
    pks: &[String],
    consistent: bool,
) -> Result<Vec<Item>, StoreError> {
    let mut found = Vec::new();
    for chunk in pks.chunks(BATCH_KEYS) {
        let mut pending: Vec<Item> = chunk.iter().map(|k| HashMap::from([("pk".to_owned(), s(k.as_str()))])).collect();
        let mut attempt = 0;
        while !pending.is_empty() {
            if attempt == ATTEMPTS {
                return Err(StoreError::Unavailable("reads kept coming back unprocessed (throttled)".into()));
            }
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
            }
            attempt += 1;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(consistent)
                .build()
                .map_err(StoreError::unavailable)?;
            let output =
                client.batch_get_item().request_items(table, request).send().await.map_err(StoreError::unavailable)?;
            found.extend(output.responses.and_then(|mut r| r.remove(table)).unwrap_or_default());
            pending = output.unprocessed_keys.and_then(|mut u| u.remove(table)).map(|k| k.keys).unwrap_or_default();
        }
    }
    Ok(found)
}

/// Takes the item whose `pk` is `pk` out of `items`.
pub(crate) fn take(items: &mut Vec<Item>, pk: &str) -> Option<Item> {
    let at = items.iter().position(|item| item.get("pk").and_then(|v| v.as_s().ok()).is_some_and(|k| k == pk))?;
    Some(items.swap_remove(at))
}

/// The non-negative integer under `name`; 0 when the item has no such attribute.
pub(crate) fn number(item: &Item, name: &str) -> Result<u64, StoreError> {
    match item.get(name) {
        None => Ok(0),
        Some(value) => value
            .as_n()
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} is not a non-negative integer"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_back_absent_as_zero_and_refuse_what_is_not_one() {
        let item = HashMap::from([
            ("a".to_owned(), n(42u64)),
            ("b".to_owned(), s("42")),
            ("c".to_owned(), AttributeValue::N("-1".into())),
        ]);
        assert_eq!(number(&item, "a").unwrap(), 42);
        assert_eq!(number(&item, "missing").unwrap(), 0);
        for name in ["b", "c"] {
            let error = number(&item, name).unwrap_err().to_string();
            assert!(error.contains(&format!("attribute {name} ")), "{error}");
        }
    }
}
