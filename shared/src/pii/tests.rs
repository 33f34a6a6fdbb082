//! Behaviour of the PII service over the in-memory vault store: tokens, restoring, scopes, policy, races,
//! the appendable vault (bounded I/O, cap, forget, expiry, tampering).

use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::pii::vault::ScopeItems;

pub(super) const SECRET: &str = "pii-test-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL";

pub(super) fn service(store: &Arc<MemoryVaultStore>, vars: &[(&str, &str)]) -> Pii {
    let config = PiiConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    Pii::new(config, store.clone(), VaultKey::derive(SECRET).unwrap()).unwrap()
}

pub(super) fn setup() -> (Arc<MemoryVaultStore>, Pii) {
    let store = Arc::new(MemoryVaultStore::new());
    let pii = service(&store, &[]);
    (store, pii)
}

pub(super) fn text_result(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

pub(super) fn text_of(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap()
}

fn key() -> VaultKey {
    VaultKey::derive(SECRET).unwrap()
}

#[tokio::test]
async fn results_get_stable_tokens_and_arguments_get_the_values_back() {
    let (_, pii) = setup();
    let mut result =
        text_result("Mail jane@example.com or john@example.com, again jane@example.com, call 415-555-2671");
    let stats = pii.tokenize("s1", "demo", Some("demo_echo"), &mut result).await.unwrap();
    assert_eq!(text_of(&result), "Mail [EMAIL_1] or [EMAIL_2], again [EMAIL_1], call [PHONE_1]");
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
async fn another_scope_never_resolves_the_tokens_even_with_the_items_copied() {
    let (store, pii) = setup();
    let mut result = text_result("jane@example.com");
    pii.tokenize("session-a", "demo", None, &mut result).await.unwrap();
    let mut args = json!({"to": "[EMAIL_1]"});
    assert_eq!(pii.detokenize("session-b", &mut args).await.unwrap(), 0);
    assert_eq!(args["to"], "[EMAIL_1]");

    // Copying a's items under b's keys does not help: each item is bound to its scope.
    let key = key();
    let (a, b) = (ScopeItems::new(&key, "session-a"), ScopeItems::new(&key, "session-b"));
    store.put_meta(&b.meta_key(), store.meta(&a.meta_key()).unwrap());
    let token = store.entry(&a.token_key(PiiKind::Email, 1)).unwrap();
    store.put_entry(VaultEntry { key: b.token_key(PiiKind::Email, 1), ..token });
    assert!(matches!(pii.detokenize("session-b", &mut args).await, Err(PiiError::Undecryptable)));
}

#[tokio::test]
async fn swapped_items_within_a_scope_are_refused_not_resolved() {
    let (store, pii) = setup();
    let mut result = text_result("jane@example.com john@example.com");
    pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    let key = key();
    let s = ScopeItems::new(&key, "s");
    // Token 2's item replaced by token 1's: [EMAIL_2] must not resolve to jane.
    let first = store.entry(&s.token_key(PiiKind::Email, 1)).unwrap();
    store.put_entry(VaultEntry { key: s.token_key(PiiKind::Email, 2), ..first });
    assert!(matches!(pii.detokenize("s", &mut json!("[EMAIL_2]")).await, Err(PiiError::Undecryptable)));
    // john's fingerprint made to hold jane's number: john is never given [EMAIL_1]; the result is redacted.
    let jane = store.entry(&s.fingerprint_key(PiiKind::Email, "jane@example.com")).unwrap();
    store.put_entry(VaultEntry { key: s.fingerprint_key(PiiKind::Email, "john@example.com"), ..jane });
    let mut again = text_result("john@example.com");
    let stats = pii.tokenize("s", "demo", None, &mut again).await.unwrap();
    assert_eq!((text_of(&again), stats.vault_unavailable), ("[EMAIL_REDACTED]", true));
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
async fn vault_calls_are_only_made_when_needed_and_minting_is_three_calls() {
    let (store, pii) = setup();
    let mut plain = text_result("nothing personal here, 42 items");
    pii.tokenize("s", "demo", None, &mut plain).await.unwrap();
    let mut no_tokens = json!({"text": "plain arguments [not a token]"});
    pii.detokenize("s", &mut no_tokens).await.unwrap();
    assert_eq!(store.calls().total(), 0, "no token, no PII: no vault call");

    let mut seeded = text_result("a@example.com and b@example.com");
    pii.tokenize("s", "demo", None, &mut seeded).await.unwrap();
    let calls = store.calls();
    assert_eq!(
        (calls.reads, calls.reserves, calls.inserts, calls.refreshes),
        (1, 1, 1, 0),
        "one read, one reservation, one insert"
    );

    let mut request = pii.request("s");
    let mut args = json!({"to": "[EMAIL_1]"});
    request.detokenize(&mut args).await.unwrap();
    let mut echoed = text_result("sent to a@example.com");
    request.tokenize("demo", Some("demo_echo"), &mut echoed).await.unwrap();
    assert_eq!(text_of(&echoed), "sent to [EMAIL_1]");
    assert_eq!(store.calls().reads, 2, "the echoed value is known: no second read");

    let mut known = text_result("b@example.com again");
    pii.tokenize("s", "demo", None, &mut known).await.unwrap();
    assert_eq!((store.calls().reads, store.calls().writes()), (3, 2), "a known value: one read, no write");
}

#[tokio::test]
async fn minting_costs_the_same_in_a_vault_of_one_or_of_a_thousand_tokens() {
    let (store, pii) = setup();
    let mut one = text_result("first@example.com");
    pii.tokenize("small", "demo", None, &mut one).await.unwrap();
    let many: Vec<String> = (0..1000).map(|i| format!("user{i}@example.com")).collect();
    let mut big = text_result(&many.join(" "));
    let stats = pii.tokenize("big", "demo", None, &mut big).await.unwrap();
    assert_eq!(stats.minted, 1000);

    for scope in ["small", "big"] {
        let before = store.calls();
        let items_before = store.len();
        let mut next = text_result("newcomer@example.com");
        let stats = pii.tokenize(scope, "demo", None, &mut next).await.unwrap();
        let after = store.calls();
        assert_eq!(stats.minted, 1);
        assert_eq!(
            (after.reads - before.reads, after.reserves - before.reserves, after.inserts - before.inserts),
            (1, 1, 1),
            "{scope}"
        );
        assert_eq!(store.len() - items_before, 2, "{scope}: one token and one fingerprint item appended");
    }
}

#[tokio::test]
async fn concurrent_minting_of_one_value_converges_on_one_token() {
    let store = Arc::new(MemoryVaultStore::new());
    let yielding: Arc<dyn VaultStore> = Arc::new(Yielding(store.clone()));
    let key = || VaultKey::derive(SECRET).unwrap();
    let config = || PiiConfig::from_lookup(|_| None).unwrap();
    let (a, b) = (Pii::new(config(), yielding.clone(), key()).unwrap(), Pii::new(config(), yielding, key()).unwrap());
    let (mut from_a, mut from_b) = (text_result("same@example.com"), text_result("same@example.com other@x.io"));
    let (ra, rb) = tokio::join!(a.tokenize("s", "demo", None, &mut from_a), b.tokenize("s", "demo", None, &mut from_b));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let token_a = text_of(&from_a).to_owned();
    let token_b = text_of(&from_b).split(' ').next().unwrap().to_owned();
    assert_eq!(token_a, token_b, "one value, one token");
    assert_eq!(ra.minted + rb.minted, 2, "same@ once, other@ once");
    let mut args = json!([token_a, text_of(&from_b).split(' ').nth(1).unwrap()]);
    b.detokenize("s", &mut args).await.unwrap();
    assert_eq!(args, json!(["same@example.com", "other@x.io"]));
}

/// Lets the other future run before every store call, so two tokenizes interleave at each step.
struct Yielding(Arc<MemoryVaultStore>);

#[async_trait::async_trait]
impl VaultStore for Yielding {
    async fn read(
        &self,
        m: &str,
        k: &[String],
    ) -> Result<(Option<VaultMeta>, Vec<VaultEntry>), crate::store::StoreError> {
        tokio::task::yield_now().await;
        self.0.read(m, k).await
    }
    async fn reserve(&self, m: &str, r: &Reservation) -> Result<Reserved, crate::store::StoreError> {
        tokio::task::yield_now().await;
        self.0.reserve(m, r).await
    }
    async fn insert(
        &self,
        p: &[(VaultEntry, VaultEntry)],
        now: u64,
    ) -> Result<Vec<Inserted>, crate::store::StoreError> {
        tokio::task::yield_now().await;
        self.0.insert(p, now).await
    }
    async fn refresh(&self, m: &str, k: &[String], e: u64, now: u64) -> Result<(), crate::store::StoreError> {
        self.0.refresh(m, k, e, now).await
    }
    async fn forget(&self, m: &str, e: u64) -> Result<(), crate::store::StoreError> {
        self.0.forget(m, e).await
    }
}

#[tokio::test]
async fn policy_picks_backends_tools_and_kinds() {
    let store = Arc::new(MemoryVaultStore::new());
    let policy = r#"{"backends":{"trusted":{"enabled":false}},"tools":{"demo_echo":{"types":["EMAIL"]}}}"#;
    let pii = service(&store, &[("PII_POLICY", policy)]);
    let text = "jane@example.com 415-555-2671";
    let mut trusted = text_result(text);
    pii.tokenize("s", "trusted", Some("trusted_x"), &mut trusted).await.unwrap();
    assert_eq!(text_of(&trusted), text);
    let mut echo = text_result(text);
    pii.tokenize("s", "demo", Some("demo_echo"), &mut echo).await.unwrap();
    assert_eq!(text_of(&echo), "[EMAIL_1] 415-555-2671");
    let mut other = text_result(text);
    pii.tokenize("s", "demo", Some("demo_add"), &mut other).await.unwrap();
    assert_eq!(text_of(&other), "[EMAIL_1] [PHONE_1]");
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
        "structuredContent": {"jane@example.com": {"phone": "+44 20 7946 0958", "card": 4111111111111111u64}},
        "_meta": {"n": 1}
    });
    pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    let text = result["content"][0]["text"].as_str().unwrap();
    assert_eq!(text, r#"{"user":{"email":"[EMAIL_1]","ip":"[IP_ADDRESS_1]"}}"#);
    assert!(serde_json::from_str::<Value>(text).is_ok(), "nested JSON stays valid");
    assert_eq!(result["content"][1]["resource"]["text"], "ssn [SSN_1]");
    assert_eq!(result["content"][2]["resource"]["blob"], "amFuZUBleGFtcGxlLmNvbQ==");
    assert_eq!(
        result["structuredContent"],
        json!({"[EMAIL_1]": {"phone": "[PHONE_1]", "card": "[CREDIT_CARD_1]"}}),
        "keys and numbers too"
    );
    assert_eq!(result["_meta"]["n"], 1, "numbers that are not PII stay numbers");
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
    assert_eq!(text_of(&result), "literal [EMAIL_2] and [EMAIL_3]");
    pii.detokenize("s", &mut result).await.unwrap();
    assert_eq!(result, original);
}

#[tokio::test]
async fn an_expired_vault_resolves_nothing_and_never_reuses_a_number() {
    let (store, pii) = setup();
    let mut result = text_result("jane@example.com");
    pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    store.expire_all();
    let mut args = json!("[EMAIL_1]");
    assert_eq!(pii.detokenize("s", &mut args).await.unwrap(), 0);
    let mut next = text_result("john@example.com jane@example.com");
    pii.tokenize("s", "demo", None, &mut next).await.unwrap();
    assert_eq!(text_of(&next), "[EMAIL_2] [EMAIL_3]", "numbering goes on; the expired value is new again");
    let meta = store.meta(&ScopeItems::new(&key(), "s").meta_key()).unwrap();
    assert!(meta.expires_at > crate::store::now_secs() + 3600, "TTL renewed");
    assert_eq!(meta.total, 2, "the cap counts the live generation only");
}

#[tokio::test]
async fn tokens_in_use_are_refreshed_in_the_second_half_of_their_life() {
    let (store, pii) = setup();
    let mut result = text_result("jane@example.com");
    pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    let key = key();
    let s = ScopeItems::new(&key, "s");
    let soon = crate::store::now_secs() + 600;
    for key in [s.token_key(PiiKind::Email, 1), s.fingerprint_key(PiiKind::Email, "jane@example.com")] {
        let entry = store.entry(&key).unwrap();
        store.put_entry(VaultEntry { expires_at: soon, ..entry });
    }
    let mut meta = store.meta(&s.meta_key()).unwrap();
    meta.expires_at = soon;
    store.put_meta(&s.meta_key(), meta);
    assert_eq!(pii.detokenize("s", &mut json!("[EMAIL_1]")).await.unwrap(), 1);
    assert_eq!(store.calls().refreshes, 1);
    let later = crate::store::now_secs() + 80_000;
    assert!(store.entry(&s.token_key(PiiKind::Email, 1)).unwrap().expires_at > later);
    assert!(store.entry(&s.fingerprint_key(PiiKind::Email, "jane@example.com")).unwrap().expires_at > later);
    assert!(store.meta(&s.meta_key()).unwrap().expires_at > later, "the meta item outlives its tokens");
}

#[tokio::test]
async fn a_forgotten_scope_resolves_nothing_and_takes_no_new_token() {
    let (store, pii) = setup();
    let mut result = text_result("jane@example.com");
    pii.tokenize("session:s", "demo", None, &mut result).await.unwrap();
    // A request already in flight when the session is deleted.
    let mut in_flight = pii.request("session:s");
    pii.forget("session:s").await.unwrap();
    assert_eq!(store.calls().forgets, 1);
    assert_eq!(pii.detokenize("session:s", &mut json!("[EMAIL_1]")).await.unwrap(), 0);
    let mut late = text_result("new@example.com");
    let stats = in_flight.tokenize("demo", None, &mut late).await.unwrap();
    assert_eq!((text_of(&late), stats.minted), ("[EMAIL_REDACTED]", 0), "not minted into a deleted vault");
}

#[tokio::test]
async fn a_vault_at_its_cap_keeps_its_tokens_and_redacts_new_values() {
    let store = Arc::new(MemoryVaultStore::new());
    let pii = service(&store, &[("PII_VAULT_MAX_TOKENS", "3")]);
    let mut fill = text_result("a@x.io b@x.io");
    pii.tokenize("victim", "demo", None, &mut fill).await.unwrap();
    // A caller fills its own scope to the cap and beyond.
    let mut flood = text_result("f1@x.io f2@x.io f3@x.io f4@x.io f5@x.io");
    let stats = pii.tokenize("filler", "demo", None, &mut flood).await.unwrap();
    assert_eq!(text_of(&flood), "[EMAIL_1] [EMAIL_2] [EMAIL_3] [EMAIL_REDACTED] [EMAIL_REDACTED]");
    assert_eq!((stats.minted, stats.redacted, stats.vault_full), (3, 2, true));
    // Known values keep their tokens; tokens keep resolving.
    let mut again = text_result("f2@x.io f9@x.io");
    let stats = pii.tokenize("filler", "demo", None, &mut again).await.unwrap();
    assert_eq!((text_of(&again), stats.vault_full), ("[EMAIL_2] [EMAIL_REDACTED]", true));
    let mut args = json!("[EMAIL_3]");
    pii.detokenize("filler", &mut args).await.unwrap();
    assert_eq!(args, "f3@x.io");
    // Another scope is not affected.
    let mut victim = text_result("c@x.io");
    let stats = pii.tokenize("victim", "demo", None, &mut victim).await.unwrap();
    assert_eq!((text_of(&victim), stats.vault_full), ("[EMAIL_3]", false));
}

#[tokio::test]
async fn too_many_or_too_long_values_at_once_are_redacted_not_stored() {
    let (store, pii) = setup();
    let many: Vec<String> = (0..mint::MAX_VALUES_PER_CALL + 5).map(|i| format!("u{i}@x.io")).collect();
    let mut flood = text_result(&many.join(" "));
    let stats = pii.tokenize("s", "demo", None, &mut flood).await.unwrap();
    assert_eq!((stats.minted, stats.redacted), (mint::MAX_VALUES_PER_CALL, 5));
    assert!(text_of(&flood).ends_with("[EMAIL_REDACTED]"));
    let body = "A".repeat(mint::MAX_VALUE_BYTES);
    let mut key = text_result(&format!("-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"));
    let before = store.len();
    let stats = pii.tokenize("s", "demo", None, &mut key).await.unwrap();
    assert_eq!((text_of(&key), stats.minted, store.len()), ("[PRIVATE_KEY_REDACTED]", 0, before));
}

#[tokio::test]
async fn store_failures_redact_and_known_values_keep_their_tokens() {
    let (store, pii) = setup();
    let mut first = text_result("jane@example.com");
    pii.tokenize("s", "demo", None, &mut first).await.unwrap();
    let mut request = pii.request("s");
    request.detokenize(&mut json!("[EMAIL_1]")).await.unwrap();
    store.set_failing(true);
    let mut result = text_result("jane@example.com, key AKIAIOSFODNN7EXAMPLE");
    let stats = request.tokenize("demo", None, &mut result).await.unwrap();
    assert_eq!(text_of(&result), "[EMAIL_1], key [AWS_ACCESS_KEY_REDACTED]");
    assert_eq!((stats.redacted, stats.vault_unavailable), (1, true));
    assert!(pii.detokenize("s", &mut json!("[EMAIL_1]")).await.is_err(), "restoring fails loudly");
    let mut offline = text_result("john@example.com");
    let stats = pii.redact("demo", None, &mut offline).unwrap();
    assert_eq!((text_of(&offline), stats.redacted), ("[EMAIL_REDACTED]", 1));
}

#[tokio::test]
async fn errors_and_debug_output_never_carry_values() {
    let (store, pii) = setup();
    let mut result = text_result("jane@example.com");
    pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    let key = key();
    let s = ScopeItems::new(&key, "s");
    let mut entry = store.entry(&s.token_key(PiiKind::Email, 1)).unwrap();
    entry.sealed[5] ^= 1;
    store.put_entry(entry);
    let err = pii.detokenize("s", &mut json!("[EMAIL_1]")).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("jane"), "{shown}");
    assert!(!format!("{:?}", VaultKey::derive(SECRET).unwrap()).contains("pii-test"));
    let keys = store.keys().join(" ");
    assert!(!keys.contains("jane") && !keys.contains(":s"), "no value or scope id in any item key: {keys}");
}

#[tokio::test]
async fn disabled_pii_touches_nothing_and_reads_no_vault() {
    let store = Arc::new(MemoryVaultStore::new());
    let pii = service(&store, &[("PII_ENABLED", "0")]);
    let mut result = text_result("jane@example.com");
    let stats = pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    assert_eq!((stats, store.calls().total()), (TokenizeStats::default(), 0));
    assert_eq!(result, text_result("jane@example.com"));
    let mut args = json!({"to": "[EMAIL_1]"});
    assert_eq!(pii.detokenize("s", &mut args).await.unwrap(), 0);
    assert_eq!((args["to"].as_str(), store.calls().total()), (Some("[EMAIL_1]"), 0));
}
