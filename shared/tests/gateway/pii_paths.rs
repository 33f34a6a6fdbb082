//! PII on every path a backend's data takes to the client, not only tool results: values the request
//! restored that come back verbatim or inside other text, JSON-RPC errors, validation messages, list
//! metadata, prompts and completions. A caller without `pii:raw` never sees a raw value.

use serde_json::{json, Value};
use shared::{
    testing::{TestClient, OWNER},
    App,
};

use crate::Deployment;

const EMAIL: &str = "alice@example.com";

/// A client of `app` holding `*`, whose session has minted `[EMAIL_1]` for [`EMAIL`].
async fn minted<'a>(d: &Deployment, app: &'a std::sync::Arc<App>) -> TestClient<'a> {
    let mut client = TestClient::with_key(app, &d.keys.all);
    client.initialize().await;
    assert_eq!(client.call_tool("fake_echo", json!({"text": EMAIL})).await.tool_text(), "[EMAIL_1]");
    client
}

fn assert_no_raw(reply: &Value) {
    let text = reply.to_string();
    assert!(!text.contains(EMAIL), "a raw value reached the client: {text}");
}

#[tokio::test]
async fn a_restored_value_echoed_inside_other_text_comes_back_as_its_token() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = minted(&d, &app).await;
    let reply = client.call_tool("fake_echo", json!({"text": "[EMAIL_1].png"})).await;
    assert_eq!(d.backend.calls_of("echo")[1]["arguments"]["text"], format!("{EMAIL}.png"));
    assert_no_raw(&reply.json);
    assert_eq!(reply.tool_text(), "[EMAIL_1].png");
}

#[tokio::test]
async fn a_backend_error_echoing_a_restored_value_is_tokenized() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = minted(&d, &app).await;
    let reply = client.call_tool("fake_boom", json!({"text": "[EMAIL_1]"})).await;
    assert_eq!(d.backend.calls_of("boom")[0]["arguments"]["text"], EMAIL, "the backend got the value");
    assert_no_raw(&reply.json);
    let error = &reply.json["error"];
    assert!(error["message"].as_str().unwrap_or_default().contains("[EMAIL_1]"), "{error}");
    assert_eq!(error["data"]["echo"], "[EMAIL_1]");
}

#[tokio::test]
async fn a_backend_error_with_new_personal_data_is_tokenized() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let reply = client.call_tool("fake_boom", json!({"text": EMAIL})).await;
    assert_no_raw(&reply.json);
    assert!(reply.json["error"]["message"].as_str().unwrap_or_default().contains("[EMAIL_"), "{}", reply.text);
}

#[tokio::test]
async fn a_validation_message_never_names_a_restored_property() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = minted(&d, &app).await;
    let reply = client.call_tool("fake_add", json!({"a": 1, "b": 2, "[EMAIL_1]": 3})).await;
    assert_no_raw(&reply.json);
    assert!(d.backend.calls_of("add").is_empty(), "invalid arguments never reach the backend");
    let refused = reply.error_code() == Some(-32602) || reply.result()["isError"] == true;
    assert!(refused, "an undeclared property is refused: {}", reply.text);
}

#[tokio::test]
async fn a_completion_value_carrying_a_restored_value_comes_back_as_its_token() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = minted(&d, &app).await;
    let params =
        json!({"ref": {"type": "ref/prompt", "name": "fake_greet"}, "argument": {"name": "who", "value": "[EMAIL_1]"}});
    let reply = client.rpc("completion/complete", params).await;
    assert_eq!(d.backend.received("completion/complete")[0]["params"]["argument"]["value"], EMAIL);
    assert_no_raw(&reply.json);
    assert_eq!(reply.result()["completion"]["values"], json!(["alpha", "beta", "[EMAIL_1]"]));
}

#[tokio::test]
async fn a_prompt_built_from_a_restored_argument_is_tokenized() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = minted(&d, &app).await;
    let reply = client.rpc("prompts/get", json!({"name": "fake_greet", "arguments": {"who": "[EMAIL_1]"}})).await;
    assert_eq!(d.backend.received("prompts/get")[0]["params"]["arguments"]["who"], EMAIL);
    assert_no_raw(&reply.json);
    assert_eq!(reply.result()["messages"][0]["content"]["text"], "Say hello to [EMAIL_1]");
}

#[tokio::test]
async fn list_metadata_is_tokenized_and_names_stay_usable() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let listed = client.rpc("resources/list", json!({})).await;
    assert!(!listed.text.contains(OWNER), "{}", listed.text);
    let resource = &listed.result()["resources"][0];
    assert!(resource["description"].as_str().unwrap_or_default().starts_with("Kept by [EMAIL_"), "{resource}");
    let read = client.rpc("resources/read", json!({"uri": resource["uri"]})).await;
    assert!(read.json.get("result").is_some(), "the listed URI still reads: {}", read.text);
}

#[tokio::test]
async fn a_raw_caller_gets_what_the_backend_sent() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut raw = TestClient::with_key(&app, &d.keys.raw);
    raw.initialize().await;
    let params = json!({"name": "fake_boom", "arguments": {"text": EMAIL}, "_meta": {"mcp-gateway/pii": "raw"}});
    let reply = raw.rpc("tools/call", params).await;
    assert!(reply.text.contains(EMAIL), "pii:raw with the opt-out sees the raw error: {}", reply.text);
}
