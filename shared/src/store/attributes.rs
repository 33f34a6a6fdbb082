//! DynamoDB attribute values as every adapter of the gateway's one table writes and reads them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::StoreError;

/// A string attribute.
pub(crate) fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

/// A number attribute.
pub(crate) fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// The non-negative integer under `name`; 0 when the item has no such attribute.
pub(crate) fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Result<u64, StoreError> {
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
