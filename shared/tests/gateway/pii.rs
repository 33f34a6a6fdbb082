//! PII: tokens in results, restored in arguments, scoped to the caller's vault.

use serde_json::json;
use shared::testing::TestClient;

use crate::Deployment;

const EMAIL: &str = "alice@example.com";

#[tokio::test]
async fn personal_data_in_a_result_becomes_a_token_the_backend_gets_back_restored() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let first = client.call_tool("fake_echo", json!({"text": format!("write to {EMAIL} today")})).await;
    assert_eq!(first.tool_text(), "write to [EMAIL_1] today");
    assert!(!first.text.contains(EMAIL), "{}", first.text);
    let second = client.call_tool("fake_echo", json!({"text": "[EMAIL_1]"})).await;
    assert!(!second.text.contains(EMAIL));
    let seen = d.backend.calls_of("echo");
    assert_eq!(seen[1]["arguments"]["text"], EMAIL, "the backend gets the value the token stands for");
}

#[tokio::test]
async fn a_token_of_another_session_does_not_resolve() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut alice = TestClient::with_key(&app, &d.keys.all);
    alice.initialize().await;
    alice.call_tool("fake_echo", json!({"text": EMAIL})).await;
    let mut mallory = TestClient::with_key(&app, &d.keys.all);
    mallory.initialize().await;
    mallory.call_tool("fake_echo", json!({"text": "[EMAIL_1]"})).await;
    let seen = d.backend.calls_of("echo");
    assert_eq!(seen[1]["arguments"]["text"], "[EMAIL_1]");
    assert!(!d.backend.calls_of("echo")[1].to_string().contains(EMAIL));
}

#[tokio::test]
async fn a_second_instance_resolves_the_session_s_tokens() {
    let d = Deployment::new(&[]).await;
    let (a, b) = (d.instance(), d.instance());
    let mut client = TestClient::with_key(&a, &d.keys.all);
    client.initialize().await;
    assert_eq!(client.call_tool("fake_echo", json!({"text": EMAIL})).await.tool_text(), "[EMAIL_1]");
    let other = client.on(&b);
    other.call_tool("fake_echo", json!({"text": "to [EMAIL_1]"})).await;
    assert_eq!(d.backend.calls_of("echo")[1]["arguments"]["text"], format!("to {EMAIL}"));
}

#[tokio::test]
async fn raw_results_need_both_the_scope_and_the_request() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let raw_meta = json!({"name": "fake_echo", "arguments": {"text": EMAIL}, "_meta": {"mcp-gateway/pii": "raw"}});
    let mut raw = TestClient::with_key(&app, &d.keys.raw);
    raw.initialize().await;
    assert_eq!(raw.rpc("tools/call", raw_meta.clone()).await.tool_text(), EMAIL);
    assert_eq!(raw.call_tool("fake_echo", json!({"text": EMAIL})).await.tool_text(), "[EMAIL_1]");
    let mut plain = TestClient::with_key(&app, &d.keys.all);
    plain.initialize().await;
    // `*` covers pii:raw too; a key with only tool scopes does not.
    let mut adder_only = TestClient::with_key(&app, &d.keys.coder);
    adder_only.initialize().await;
    assert_eq!(adder_only.rpc("tools/call", raw_meta).await.tool_text(), "[EMAIL_1]");
}

#[tokio::test]
async fn with_the_vault_down_values_are_redacted_never_returned_raw() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    d.stores.vault.set_failing(true);
    let reply = client.call_tool("fake_echo", json!({"text": format!("mail {EMAIL}")})).await;
    assert!(!reply.text.contains(EMAIL), "{}", reply.text);
    assert!(reply.tool_text().starts_with("mail "), "{reply:?}");
}
