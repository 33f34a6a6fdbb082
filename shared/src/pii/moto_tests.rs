//! The production wiring (`Pii::from_sdk`: key from Secrets Manager, vault items in DynamoDB) against moto.
//! The local stack sets `AWS_ENDPOINT_URL`; `make test` starts it before `cargo test` (with
//! `MOTO_REQUIRED=1`). Without an endpoint override, or when moto does not answer, these tests say so and
//! pass without running: they can never touch a real account, and `cargo test` works without the stack.

use serde_json::json;

use super::*;

const SECRET_ID: &str = "mcp-gateway/pii-key-adapter-test";

/// The local moto's SDK configuration, or `None` (skipped, with a message) without it: `crate::testing::moto`.
pub(crate) use crate::testing::moto;

pub(crate) fn table() -> String {
    std::env::var("TABLE_NAME").unwrap_or_else(|_| "mcp-gateway".into())
}

pub(crate) fn random_scope(label: &str) -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    format!("{label}-{}", hex::encode(bytes))
}

async fn instance(sdk: &aws_config::SdkConfig) -> Pii {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let secret = "moto-adapter-test-secret-0123456789abcdefghijklmnopqrstuvwxyzABCD";
    if client.describe_secret().secret_id(SECRET_ID).send().await.is_err() {
        // Two tests may race to create it: losing that race is fine.
        let _ = client.create_secret().name(SECRET_ID).secret_string(secret).send().await;
    }
    let table = table();
    let config = PiiConfig::from_lookup(|k| match k {
        "PII_KEY_SECRET_ID" => Some(SECRET_ID.to_owned()),
        "TABLE_NAME" => Some(table.clone()),
        _ => None,
    })
    .unwrap();
    Pii::from_sdk(config, sdk).await.unwrap()
}

#[tokio::test]
async fn a_second_instance_resolves_tokens_through_dynamodb_and_other_scopes_do_not() {
    let Some(sdk) = moto("a_second_instance_resolves_tokens_through_dynamodb").await else { return };
    let (first, second) = (instance(&sdk).await, instance(&sdk).await);
    let (scope, other) = (random_scope("moto-test"), random_scope("moto-test"));
    let mut result = json!({"content": [{"type": "text", "text": "jane@example.com, 415-555-2671"}]});
    first.tokenize(&scope, "demo", None, &mut result).await.unwrap();
    assert_eq!(result["content"][0]["text"], "[EMAIL_1], [PHONE_1]");

    let mut args = json!({"to": "[EMAIL_1]", "phone": "[PHONE_1]"});
    assert_eq!(second.detokenize(&scope, &mut args).await.unwrap(), 2);
    assert_eq!(args, json!({"to": "jane@example.com", "phone": "415-555-2671"}));

    let mut foreign = json!({"to": "[EMAIL_1]"});
    assert_eq!(second.detokenize(&other, &mut foreign).await.unwrap(), 0);
    assert_eq!(foreign["to"], "[EMAIL_1]");
    first.forget(&scope).await.unwrap();
    assert_eq!(second.detokenize(&scope, &mut json!("[EMAIL_1]")).await.unwrap(), 0);
    let mut late = json!("new@example.com");
    second.tokenize(&scope, "demo", None, &mut late).await.unwrap();
    assert_eq!(late, "[EMAIL_REDACTED]", "a forgotten scope takes no new token");
}

#[tokio::test]
async fn instances_minting_at_the_same_time_lose_no_token_and_agree_on_shared_values() {
    let Some(sdk) = moto("instances_minting_at_the_same_time_lose_no_token").await else { return };
    let (a, b) = (instance(&sdk).await, instance(&sdk).await);
    let scope = random_scope("moto-test");
    let values: Vec<String> = (0..6).map(|i| format!("user{i}@example.com")).collect();
    // Every call carries its own value and one value all of them share.
    let calls = values.iter().enumerate().map(|(i, v)| {
        let pii = if i % 2 == 0 { &a } else { &b };
        let scope = scope.clone();
        let mut result = json!({"text": format!("{v} shared@example.com")});
        async move {
            pii.tokenize(&scope, "demo", None, &mut result).await.unwrap();
            let text = result["text"].as_str().unwrap().to_owned();
            let (own, shared) = text.split_once(' ').unwrap();
            (own.to_owned(), shared.to_owned())
        }
    });
    let tokens = futures_util::future::join_all(calls).await;
    let mut own: Vec<String> = tokens.iter().map(|(o, _)| o.clone()).collect();
    own.sort();
    own.dedup();
    assert_eq!(own.len(), values.len(), "every value got its own token: {tokens:?}");
    assert!(tokens.iter().all(|(_, s)| *s == tokens[0].1), "one token for the shared value: {tokens:?}");
    let mut args = serde_json::Value::from(tokens.iter().map(|(o, _)| o.clone()).collect::<Vec<_>>());
    a.detokenize(&scope, &mut args).await.unwrap();
    assert_eq!(args, serde_json::Value::from(values));
}
