//! The production wiring (`Pii::from_sdk`: key from Secrets Manager, vaults in DynamoDB) against moto.
//! The local stack sets `AWS_ENDPOINT_URL`; `make test` starts it before `cargo test`. Refuses to run
//! without an endpoint override, so it can never touch a real account.

use serde_json::json;

use super::*;

const SECRET_ID: &str = "mcp-gateway/pii-key-adapter-test";

async fn instance(test: &str) -> Option<Pii> {
    let sdk = crate::testing::moto(test).await?;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = "moto-adapter-test-secret-0123456789abcdefghijklmnopqrstuvwxyzABCD";
    if client.describe_secret().secret_id(SECRET_ID).send().await.is_err() {
        // Two tests may race to create it: losing that race is fine.
        let _ = client.create_secret().name(SECRET_ID).secret_string(secret).send().await;
    }
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "mcp-gateway".into());
    let config = PiiConfig::from_lookup(|k| match k {
        "PII_KEY_SECRET_ID" => Some(SECRET_ID.to_owned()),
        "TABLE_NAME" => Some(table.clone()),
        _ => None,
    })
    .unwrap();
    Some(Pii::from_sdk(config, &sdk).await.unwrap())
}

fn scope() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).unwrap();
    format!("moto-test-{}", hex_id(&bytes))
}

fn hex_id(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_second_instance_resolves_tokens_through_dynamodb_and_other_scopes_do_not() {
    let (Some(first), Some(second)) = (
        instance("a_second_instance_resolves_tokens_through_dynamodb_and_other_scopes_do_not").await,
        instance("a_second_instance_resolves_tokens_through_dynamodb_and_other_scopes_do_not").await,
    ) else {
        return;
    };
    let (scope, other) = (scope(), scope());
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
}

#[tokio::test]
async fn instances_minting_at_the_same_time_lose_no_token() {
    let (Some(a), Some(b)) = (
        instance("instances_minting_at_the_same_time_lose_no_token").await,
        instance("instances_minting_at_the_same_time_lose_no_token").await,
    ) else {
        return;
    };
    let scope = scope();
    let values: Vec<String> = (0..6).map(|i| format!("user{i}@example.com")).collect();
    let calls = values.iter().enumerate().map(|(i, v)| {
        let pii = if i % 2 == 0 { &a } else { &b };
        let scope = scope.clone();
        let mut result = json!({"text": v});
        async move {
            pii.tokenize(&scope, "demo", None, &mut result).await.unwrap();
            result["text"].as_str().unwrap().to_owned()
        }
    });
    let tokens = futures_util::future::join_all(calls).await;
    let mut distinct = tokens.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), values.len(), "every value got its own token: {tokens:?}");
    let mut args = serde_json::Value::from(tokens);
    a.detokenize(&scope, &mut args).await.unwrap();
    assert_eq!(args, serde_json::Value::from(values));
}
