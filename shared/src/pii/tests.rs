//! Behaviour of the PII service over the in-memory vault store: tokens, restoring, scopes, policy, races.

use std::sync::Arc;

use serde_json::{json, Value};

use super::*;

const SECRET: &str = "pii-test-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL";

fn service(store: &Arc<MemoryVaultStore>, vars: &[(&str, &str)]) -> Pii {
    let config = PiiConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    Pii::new(config, store.clone(), VaultKey::derive(SECRET).unwrap()).unwrap()
}

fn setup() -> (Arc<MemoryVaultStore>, Pii) {
    let store = Arc::new(MemoryVaultStore::new());
    let pii = service(&store, &[]);
    (store, pii)
}

fn text_result(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

#[tokio::test]
async fn results_get_stable_tokens_and_arguments_get_the_values_back() {
    let (_, pii) = setup();
    let mut result =
        text_result("Mail jane@example.com or john@example.com, again jane@example.com, call 415-555-2671");
    let stats = pii.tokenize("s1", "demo", Some("demo_echo"), &mut result).await.unwrap();
    assert_eq!(result["content"][0]["text"], "Mail [EMAIL_1] or [EMAIL_2], again [EMAIL_1], call [PHONE_1]");
    assert_eq!((stats.replaced, stats.minted, stats.redacted), (4, 3, 0));
    assert!(stats.kinds.contains(PiiKind::Email) && stats.kinds.contains(PiiKind::Phone));

    // A later result with the same value gets the same token; a new value the next number.
    let mut later = json!({"structuredContent": {"owner": "john@example.com", "cc": ["ann@example.com"]}});
    pii.tokenize("s1", "demo", None, &mut later).await.unwrap();
    assert_eq!(later, json!({"structuredContent": {"owner": "[EMAIL_2]", "cc": ["[EMAIL_3]"]}}));

    let mut args = json!({"to": "[EMAIL_2]", "body": "cc [EMAIL_3], not [EMAIL_9] nor [FOO_1]", "n": 3});
    assert_eq!(pii.detokenize("s1", &mut args).await.unwrap(), 2);
    assert_eq!(
        args,
        json!({"to": "john@example.com", "body": "cc ann@example.com, not [EMAIL_9] nor [FOO_1]", "n": 3})
    );
}

#[tokio::test]
async fn another_scope_never_resolves_the_tokens() {
    let (store, pii) = setup();
    let mut result = text_result("jane@example.com");
    pii.tokenize("session-a", "demo", None, &mut result).await.unwrap();
    let mut args = json!({"to": "[EMAIL_1]"});
    assert_eq!(pii.detokenize("session-b", &mut args).await.unwrap(), 0);
    assert_eq!(args["to"], "[EMAIL_1]");

    // Copying a's sealed vault into b's item does not help: the blob is bound to its scope.
    store.put("session-b", store.get("session-a").unwrap());
    assert!(matches!(pii.detokenize("session-b", &mut args).await, Err(PiiError::Undecryptable)));
}

#[tokio::test]
async fn a_second_instance_resolves_tokens_minted_by_the_first() {
    let store = Arc::new(MemoryVaultStore::new());
    let (first, second) = (service(&store, &[]), service(&store, &[]));
    let mut result = text_result("card 4111 1111 1111 1111");
    first.tokenize("s", "demo", None, &mut result).await.unwrap();
    let mut args = json!({"card": "[CREDIT_CARD_1]"});
    second.detokenize("s", &mut args).await.unwrap();
    assert_eq!(args["card"], "4111 1111 1111 1111");
}

#[tokio::test]
async fn one_request_loads_once_and_writes_at_most_once() {
    let (store, pii) = setup();
    let mut plain = text_result("nothing personal here");
    pii.tokenize("s", "demo", None, &mut plain).await.unwrap();
    assert_eq!((store.loads(), store.saves()), (0, 0), "no PII: no I/O");

    let mut seeded = text_result("a@example.com");
    pii.tokenize("s", "demo", None, &mut seeded).await.unwrap();
    assert_eq!((store.loads(), store.saves()), (1, 1));

    let mut request = pii.request("s");
    let mut args = json!({"to": "[EMAIL_1]"});
    request.detokenize(&mut args).await.unwrap();
    let mut result = text_result("to a@example.com from b@example.com and c@example.com");
    request.tokenize("demo", Some("demo_echo"), &mut result).await.unwrap();
    assert_eq!((store.loads(), store.saves()), (2, 2), "one load and one write for the whole request");

    let mut known = text_result("a@example.com again");
    pii.tokenize("s", "demo", None, &mut known).await.unwrap();
    assert_eq!(store.saves(), 2, "nothing new: nothing written");
}

#[tokio::test]
async fn concurrent_minting_loses_no_token() {
    let store = Arc::new(MemoryVaultStore::new());
    let (a, b) = (service(&store, &[]), service(&store, &[]));
    let mut seed = text_result("seed@example.com");
    a.tokenize("s", "demo", None, &mut seed).await.unwrap();

    // Both instances hold version 1; b writes first, so a's write conflicts and a must re-mint.
    let (mut req_a, mut req_b) = (a.request("s"), b.request("s"));
    req_a.detokenize(&mut json!("[EMAIL_1]")).await.unwrap();
    req_b.detokenize(&mut json!("[EMAIL_1]")).await.unwrap();
    let mut from_b = text_result("bob@example.com");
    req_b.tokenize("demo", None, &mut from_b).await.unwrap();
    let mut from_a = text_result("alice@example.com");
    req_a.tokenize("demo", None, &mut from_a).await.unwrap();
    assert_eq!(from_b["content"][0]["text"], "[EMAIL_2]");
    assert_eq!(from_a["content"][0]["text"], "[EMAIL_3]");

    let mut args = json!(["[EMAIL_1]", "[EMAIL_2]", "[EMAIL_3]"]);
    b.detokenize("s", &mut args).await.unwrap();
    assert_eq!(args, json!(["seed@example.com", "bob@example.com", "alice@example.com"]));
}

#[tokio::test]
async fn policy_picks_backends_tools_and_kinds() {
    let store = Arc::new(MemoryVaultStore::new());
    let policy = r#"{"backends":{"trusted":{"enabled":false}},"tools":{"demo_echo":{"types":["EMAIL"]}}}"#;
    let pii = service(&store, &[("PII_POLICY", policy)]);
    let text = "jane@example.com 415-555-2671";
    let mut trusted = text_result(text);
    pii.tokenize("s", "trusted", Some("trusted_x"), &mut trusted).await.unwrap();
    assert_eq!(trusted["content"][0]["text"], text);
    let mut echo = text_result(text);
    pii.tokenize("s", "demo", Some("demo_echo"), &mut echo).await.unwrap();
    assert_eq!(echo["content"][0]["text"], "[EMAIL_1] 415-555-2671");
    let mut other = text_result(text);
    pii.tokenize("s", "demo", Some("demo_add"), &mut other).await.unwrap();
    assert_eq!(other["content"][0]["text"], "[EMAIL_1] [PHONE_1]");
}

#[tokio::test]
async fn mcp_results_are_tokenized_everywhere_but_binary_blobs() {
    let (_, pii) = setup();
    let nested = r#"{"user":{"email":"jane@example.com","ip":"203.0.113.7"}}"#;
    let mut result = json!({
        "content": [
            {"type": "text", "text": nested},
            {"type": "resource", "resource": {"uri": "file:///a", "text": "ssn 123-45-6789"}},
            {"type": "resource", "resource": {"uri": "file:///b", "blob": "amFuZUBleGFtcGxlLmNvbQ=="}}
        ],
        "structuredContent": {"jane@example.com": {"phone": "+44 20 7946 0958"}},
        "_meta": {"n": 1}
    });
    pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    let text = result["content"][0]["text"].as_str().unwrap();
    assert_eq!(text, r#"{"user":{"email":"[EMAIL_1]","ip":"[IP_ADDRESS_1]"}}"#);
    assert!(serde_json::from_str::<Value>(text).is_ok(), "nested JSON stays valid");
    assert_eq!(result["content"][1]["resource"]["text"], "ssn [SSN_1]");
    assert_eq!(result["content"][2]["resource"]["blob"], "amFuZUBleGFtcGxlLmNvbQ==");
    assert_eq!(result["structuredContent"], json!({"[EMAIL_1]": {"phone": "[PHONE_1]"}}));
}

#[tokio::test]
async fn text_that_looks_like_a_token_survives_the_round_trip() {
    let (_, pii) = setup();
    let mut first = text_result("jane@example.com");
    pii.tokenize("s", "demo", None, &mut first).await.unwrap();
    // A backend writes "[EMAIL_1]" literally: it must not come back as jane's address.
    let original = text_result("literal [EMAIL_1] and [EMAIL_01]");
    let mut result = original.clone();
    pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    assert_eq!(result["content"][0]["text"], "literal [EMAIL_2] and [EMAIL_3]");
    pii.detokenize("s", &mut result).await.unwrap();
    assert_eq!(result, original);
}

#[tokio::test]
async fn an_expired_vault_resolves_nothing_and_never_reuses_a_number() {
    let (store, pii) = setup();
    let mut result = text_result("jane@example.com");
    pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    let mut sealed = store.get("s").unwrap();
    sealed.expires_at = crate::store::now_secs() - 1;
    store.put("s", sealed);
    let mut args = json!("[EMAIL_1]");
    assert_eq!(pii.detokenize("s", &mut args).await.unwrap(), 0);
    let mut next = text_result("john@example.com");
    pii.tokenize("s", "demo", None, &mut next).await.unwrap();
    assert_eq!(next["content"][0]["text"], "[EMAIL_2]");
    assert!(store.get("s").unwrap().expires_at > crate::store::now_secs() + 3600, "TTL renewed");
}

#[tokio::test]
async fn store_failures_are_errors_and_redact_is_the_offline_fallback() {
    let (store, pii) = setup();
    store.set_failing(true);
    let mut result = text_result("jane@example.com, key AKIAIOSFODNN7EXAMPLE");
    let err = pii.tokenize("s", "demo", None, &mut result).await.unwrap_err();
    assert!(matches!(err, PiiError::Store(_)), "{err}");
    assert_eq!(result, text_result("jane@example.com, key AKIAIOSFODNN7EXAMPLE"), "left untouched on error");
    let stats = pii.redact("demo", None, &mut result).unwrap();
    assert_eq!(result["content"][0]["text"], "[EMAIL_REDACTED], key [AWS_ACCESS_KEY_REDACTED]");
    assert_eq!(stats.redacted, 2);
}

#[tokio::test]
async fn errors_and_debug_output_never_carry_values() {
    let (store, pii) = setup();
    let mut result = text_result("jane@example.com");
    pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    let mut sealed = store.get("s").unwrap();
    sealed.blob[5] ^= 1;
    store.put("s", sealed);
    let err = pii.detokenize("s", &mut json!("[EMAIL_1]")).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("jane"), "{shown}");
    assert!(!format!("{:?}", VaultKey::derive(SECRET).unwrap()).contains("pii-test"));
}

#[tokio::test]
async fn disabled_pii_touches_nothing_and_reads_no_vault() {
    let store = Arc::new(MemoryVaultStore::new());
    let pii = service(&store, &[("PII_ENABLED", "0")]);
    let mut result = text_result("jane@example.com");
    let stats = pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    assert_eq!((stats, store.loads()), (TokenizeStats::default(), 0));
    assert_eq!(result, text_result("jane@example.com"));
    let mut args = json!({"to": "[EMAIL_1]"});
    assert_eq!(pii.detokenize("s", &mut args).await.unwrap(), 0);
    assert_eq!((args["to"].as_str(), store.loads()), (Some("[EMAIL_1]"), 0));
}
