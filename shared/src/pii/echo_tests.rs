//! A restored value never comes back raw: an echoing backend returns it in every shape a JSON document
//! can hold it (inside text, as a whole string, as a key, as a number, escaped inside JSON text, in an error
//! message), and each time the client sees the token again.

use std::sync::Arc;

use serde_json::{json, Value};

use super::tests::{service, setup, text_of, text_result};
use super::*;

/// Mints tokens for `values` in scope `s` (as an earlier result would have) and returns them.
async fn minted(pii: &Pii, values: &str) -> Vec<String> {
    let mut result = text_result(values);
    pii.tokenize("s", "demo", None, &mut result).await.unwrap();
    text_of(&result).split(' ').map(str::to_owned).collect()
}

/// One request: restore `args`, hand the backend's answer (built from the restored arguments) back.
async fn echo(pii: &Pii, args: Value, answer: impl FnOnce(&Value) -> Value) -> (Value, Value, TokenizeStats) {
    let mut request = pii.request("s");
    let mut restored = args;
    request.detokenize(&mut restored).await.unwrap();
    let mut result = answer(&restored);
    let stats = request.tokenize("demo", Some("demo_echo"), &mut result).await.unwrap();
    (restored, result, stats)
}

#[tokio::test]
async fn an_echo_glued_to_other_text_comes_back_as_the_token() {
    let (_, pii) = setup();
    assert_eq!(minted(&pii, "alice@example.com").await, ["[EMAIL_1]"]);
    let (restored, result, stats) =
        echo(&pii, json!({"text": "[EMAIL_1].png"}), |args| text_result(args["text"].as_str().unwrap())).await;
    assert_eq!(restored["text"], "alice@example.com.png", "the backend got the value");
    assert_eq!(text_of(&result), "[EMAIL_1].png");
    assert_eq!((stats.replaced, stats.minted), (1, 0));
    for glued in ["xalice@example.comx", "alice@example.com_backup", "«alice@example.com»", "ALICE alice@example.com1"]
    {
        let (_, result, _) = echo(&pii, json!({"text": glued.replace("alice@example.com", "[EMAIL_1]")}), |args| {
            text_result(args["text"].as_str().unwrap())
        })
        .await;
        // Either the token, or a longer address's own token (`xalice@example.comx`): never the value.
        assert!(!text_of(&result).contains("alice@example.com"), "{glued} → {}", text_of(&result));
        assert!(text_of(&result).contains("[EMAIL_"), "{glued} → {}", text_of(&result));
    }
}

#[tokio::test]
async fn an_echo_as_a_whole_string_a_key_or_inside_json_text() {
    let (_, pii) = setup();
    minted(&pii, "alice@example.com 415-555-2671").await;
    let args = json!({"to": "[EMAIL_1]", "doc": "{\"phone\": \"[PHONE_1]\"}"});
    let (_, result, _) = echo(&pii, args, |args| {
        let to = args["to"].as_str().unwrap();
        json!({
            "structuredContent": { to: {"again": to}, "doc": args["doc"] },
            "content": [{"type": "text", "text": format!("{{\"to\":\"{to}\"}}")}],
        })
    })
    .await;
    assert_eq!(
        result,
        json!({
            "structuredContent": {"[EMAIL_1]": {"again": "[EMAIL_1]"}, "doc": "{\"phone\": \"[PHONE_1]\"}"},
            "content": [{"type": "text", "text": "{\"to\":\"[EMAIL_1]\"}"}],
        })
    );
}

#[tokio::test]
async fn an_echo_as_a_json_number_becomes_the_token() {
    let (_, pii) = setup();
    minted(&pii, "4111111111111111 +14155550142").await;
    let args = json!({"card": "[CREDIT_CARD_1]", "phone": "[PHONE_1]"});
    let (_, result, _) = echo(&pii, args, |args| {
        let number = |field: &str| args[field].as_str().unwrap().trim_start_matches('+').parse::<u64>().unwrap();
        json!({"card": number("card"), "digits": number("phone"), "count": 2})
    })
    .await;
    // `14155550142` is not the restored `+14155550142`, and bare digits are no phone: it stays a number.
    assert_eq!(result, json!({"card": "[CREDIT_CARD_1]", "digits": 14155550142u64, "count": 2}));
}

#[tokio::test]
async fn an_echo_of_a_number_shaped_value_as_a_number() {
    let (store, pii) = setup();
    // A value minted from a text (here a lookalike written by a backend) that is all digits when restored.
    let key = VaultKey::derive(super::tests::SECRET).unwrap();
    let s = vault::ScopeItems::new(&key, "s");
    let now = crate::store::now_secs();
    store.put_meta(&s.meta_key(), VaultMeta { expires_at: now + 3600, total: 1, ..VaultMeta::default() });
    let fingerprint = s.fingerprint_key(PiiKind::Phone, "14155550142");
    store.put_entry(VaultEntry {
        key: s.token_key(PiiKind::Phone, 1),
        sealed: s.seal_value(PiiKind::Phone, 1, "14155550142").unwrap(),
        expires_at: now + 3600,
    });
    store.put_entry(VaultEntry {
        sealed: s.seal_number(&fingerprint, 1).unwrap(),
        key: fingerprint,
        expires_at: now + 3600,
    });
    let (_, result, _) = echo(
        &pii,
        json!({"phone": "[PHONE_1]"}),
        |args| json!({"phone": args["phone"].as_str().unwrap().parse::<u64>().unwrap(), "id": 14155550143u64}),
    )
    .await;
    assert_eq!(result, json!({"phone": "[PHONE_1]", "id": 14155550143u64}));
}

#[tokio::test]
async fn an_escaped_echo_inside_json_text_is_found() {
    let (_, pii) = setup();
    let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
    let mut first = text_result(pem);
    pii.tokenize("s", "demo", None, &mut first).await.unwrap();
    assert_eq!(text_of(&first), "[PRIVATE_KEY_1]");
    let (_, result, _) = echo(&pii, json!({"key": "[PRIVATE_KEY_1]"}), |args| {
        // The backend nests the value in JSON text: its newlines are escaped there.
        text_result(&json!({"stored": args["key"]}).to_string())
    })
    .await;
    assert_eq!(text_of(&result), r#"{"stored":"[PRIVATE_KEY_1]"}"#);
}

#[tokio::test]
async fn errors_and_validation_messages_built_from_restored_arguments_are_tokenized() {
    let (_, pii) = setup();
    minted(&pii, "alice@example.com").await;
    let mut request = pii.request("s");
    let mut args = json!({"[EMAIL_1].png": true});
    request.detokenize(&mut args).await.unwrap();
    assert!(args.get("alice@example.com.png").is_some(), "keys are restored too");
    let mut message = "unexpected property 'alice@example.com.png'".to_owned();
    request.tokenize_text("demo", Some("demo_echo"), &mut message).await.unwrap();
    assert_eq!(message, "unexpected property '[EMAIL_1].png'");
    let mut rpc_error =
        json!({"code": -32602, "message": "bad input alice@example.com.png", "data": {"alice@example.com.png": 1}});
    request.tokenize("demo", None, &mut rpc_error).await.unwrap();
    assert_eq!(rpc_error, json!({"code": -32602, "message": "bad input [EMAIL_1].png", "data": {"[EMAIL_1].png": 1}}));
}

#[tokio::test]
async fn a_backend_with_pii_off_still_gets_restored_values_back_as_tokens() {
    let store = Arc::new(MemoryVaultStore::new());
    let pii = service(&store, &[("PII_POLICY", r#"{"backends":{"trusted":{"enabled":false}}}"#)]);
    minted(&pii, "alice@example.com").await;
    let mut request = pii.request("s");
    let mut args = json!({"text": "[EMAIL_1] bob@example.com"});
    request.detokenize(&mut args).await.unwrap();
    let mut result = text_result("alice@example.com.png bob@example.com");
    request.tokenize("trusted", Some("trusted_echo"), &mut result).await.unwrap();
    assert_eq!(text_of(&result), "[EMAIL_1].png bob@example.com", "detection is off there, echo protection is not");
}

#[tokio::test]
async fn echo_protection_needs_no_vault_call_and_holds_offline() {
    let (store, pii) = setup();
    minted(&pii, "alice@example.com").await;
    let mut request = pii.request("s");
    request.detokenize(&mut json!("[EMAIL_1]")).await.unwrap();
    let calls = store.calls();
    let mut result = text_result("alice@example.com.png");
    request.tokenize("demo", None, &mut result).await.unwrap();
    assert_eq!((text_of(&result), store.calls()), ("[EMAIL_1].png", calls), "no vault call");
    store.set_failing(true);
    let mut offline = text_result("alice@example.com.png and carol@example.com");
    request.redact("demo", None, &mut offline).unwrap();
    assert_eq!(text_of(&offline), "[EMAIL_1].png and [EMAIL_REDACTED]");
}

#[tokio::test]
async fn a_restored_lookalike_is_restored_once_and_tokenized_back() {
    let (_, pii) = setup();
    // A backend wrote "[EMAIL_1]" literally: it got a token of its own.
    assert_eq!(minted(&pii, "[EMAIL_1]").await, ["[EMAIL_1]"], "the first token stands for the literal text");
    minted(&pii, "alice@example.com").await;
    let (restored, result, _) =
        echo(&pii, json!(["[EMAIL_1]", "[EMAIL_2]"]), |args| text_result(&format!("{} {}", args[0], args[1]))).await;
    assert_eq!(restored, json!(["[EMAIL_1]", "alice@example.com"]));
    assert_eq!(text_of(&result), "\"[EMAIL_1]\" \"[EMAIL_2]\"");
}

#[tokio::test]
async fn code_output_keeps_the_scopes_tokens_and_tokenizes_the_rest() {
    let (_, pii) = setup();
    assert_eq!(minted(&pii, "alice@example.com").await, ["[EMAIL_1]"]);
    // Sandboxed code got `[EMAIL_1]` from a tool result and returns it with new PII of its own.
    let mut produced = json!({"returnValue": {"to": "[EMAIL_1]", "cc": "carol@example.com", "odd": "[EMAIL_01]"}});
    pii.request("s").keep_tokens().tokenize("gateway", Some("gateway_execute_code"), &mut produced).await.unwrap();
    assert_eq!(produced, json!({"returnValue": {"to": "[EMAIL_1]", "cc": "[EMAIL_2]", "odd": "[EMAIL_3]"}}));
    let mut args = json!("[EMAIL_1]");
    pii.detokenize("s", &mut args).await.unwrap();
    assert_eq!(args, "alice@example.com", "the token the code handed back still stands for the value");
}
