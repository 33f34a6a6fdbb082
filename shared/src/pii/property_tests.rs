//! Property: tokenize→detokenize is the identity on arbitrary JSON, including text that already holds
//! token-shaped strings, values minted by earlier documents, keys full of PII and nested JSON — up to one
//! change by design: a JSON number holding PII (a card number) comes back as its text, a string.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, OnceLock,
};

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{detect::Scanner, KindSet, MemoryVaultStore, Pii, PiiConfig, VaultKey};

/// Pieces that exercise the detectors and the token grammar; glued to arbitrary text by `fragment`.
const PIECES: &[&str] = &[
    "jane@example.com",
    "j@x.io",
    "+1 415 555 2671",
    "415-555-2671",
    "123-45-6789",
    "4111 1111 1111 1111",
    "DE89 3704 0044 0532 0130 00",
    "10.0.0.1",
    "2001:db8::1:2",
    "AKIAIOSFODNN7EXAMPLE",
    "Bearer abcdef0123456789abcdef",
    "Dr. Jane Smith",
    "221 Baker Street",
    "[EMAIL_1]",
    "[EMAIL_2]",
    "[PHONE_1]",
    "[EMAIL_01]",
    "[CREDIT_CARD_1",
    "[EMAIL_REDACTED]",
    "[",
    "]",
    "_1]",
    " ",
    "\n",
    "\"",
    "é",
    "😀",
];

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(PIECES).prop_map(str::to_owned),
        2 => "\\PC{0,12}",
        1 => "[0-9 .:@+-]{0,16}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(fragment(), 0..6).prop_map(|parts| parts.concat())
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Card numbers as numbers (Luhn-valid Visa test numbers and neighbours that are not).
        (4_111_111_111_111_100u64..4_111_111_111_111_200).prop_map(Value::from),
        text().prop_map(Value::String),
        // JSON nested inside a text.
        text().prop_map(|t| Value::String(serde_json::json!({ "inner": t }).to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((text(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// Built once: compiling the detectors dominates a case otherwise (debug builds).
fn service() -> &'static Pii {
    static PII: OnceLock<Pii> = OnceLock::new();
    PII.get_or_init(|| {
        // Every kind, names and addresses included.
        let config = PiiConfig::from_lookup(|k| (k == "PII_TYPES").then(|| "all".to_owned())).unwrap();
        let key = VaultKey::derive("property-test-secret-0123456789abcdefghijklmnopqrstuvwxyz").unwrap();
        Pii::new(config, Arc::new(MemoryVaultStore::new()), key).unwrap()
    })
}

/// `value` as tokenize→detokenize gives it back: numbers in which a detector fires become their text.
fn expected(value: &Value) -> Value {
    static SCANNER: OnceLock<Scanner> = OnceLock::new();
    let scanner = SCANNER.get_or_init(|| Scanner::new(KindSet::all()).unwrap());
    match value {
        Value::Number(n) => {
            let mut hits = Vec::new();
            scanner.scan(&n.to_string(), &mut hits);
            if hits.is_empty() {
                value.clone()
            } else {
                Value::String(n.to_string())
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(expected).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), expected(v))).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn tokenize_then_detokenize_is_the_identity(documents in proptest::collection::vec(json(), 1..4)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        static CASE: AtomicU64 = AtomicU64::new(0);
        let (pii, scope) = (service(), format!("case-{}", CASE.fetch_add(1, Ordering::Relaxed)));
        // Several documents through one scope: later ones meet values and numbers minted by earlier ones.
        for original in documents {
            let mut value = original.clone();
            runtime.block_on(pii.tokenize(&scope, "demo", Some("demo_tool"), &mut value)).unwrap();
            runtime.block_on(pii.detokenize(&scope, &mut value)).unwrap();
            prop_assert_eq!(value, expected(&original));
        }
    }
}
