//! Authentication and scopes on every request.

use ::http::Method;
use serde_json::json;
use shared::testing::{TestClient, TestKey};

use crate::{tool_names, Deployment};

#[tokio::test]
async fn a_missing_credential_is_401_with_a_challenge_naming_the_metadata() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::new(&app);
    let reply = client.initialize().await;
    assert_eq!(reply.status, 401);
    let challenge = reply.header("www-authenticate").expect("a challenge");
    assert!(challenge.starts_with("Bearer ") && challenge.contains("resource_metadata="), "{challenge}");
    assert!(reply.header("mcp-session-id").is_none());
}

#[tokio::test]
async fn an_unknown_or_malformed_key_is_401_invalid_token() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    for key in [TestKey::new("k_unknown", &["*"]).bearer(), "Bearer not-a-key".to_owned()] {
        let mut client = TestClient::new(&app);
        client.authorization = Some(key);
        let reply = client.initialize().await;
        assert_eq!(reply.status, 401);
        assert!(reply.header("www-authenticate").is_some_and(|c| c.contains("invalid_token")));
    }
}

#[tokio::test]
async fn the_metadata_document_is_public() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::new(&app);
    let reply = client.send_with(Method::GET, "/.well-known/oauth-protected-resource", None, &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json["resource"], "https://gw.example.com/mcp");
}

#[tokio::test]
async fn a_scoped_key_lists_and_calls_only_its_tools_and_others_look_unknown() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.adder);
    client.initialize().await;
    assert_eq!(tool_names(client.rpc("tools/list", json!({})).await.result()), ["fake_add"]);
    let allowed = client.call_tool("fake_add", json!({"a": 2, "b": 3})).await;
    assert_eq!(allowed.result()["structuredContent"]["result"], 5.0);
    let forbidden = client.call_tool("fake_echo", json!({"text": "hi"})).await;
    let unknown = client.call_tool("fake_nope", json!({})).await;
    assert_eq!(forbidden.error_code(), Some(-32602));
    assert_eq!(forbidden.json["error"]["message"], "invalid params: unknown tool: fake_echo");
    assert_eq!(unknown.json["error"]["message"], "invalid params: unknown tool: fake_nope");
    assert!(d.backend.calls_of("echo").is_empty());
}

#[tokio::test]
async fn a_session_belongs_to_the_key_that_opened_it() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut owner = TestClient::with_key(&app, &d.keys.all);
    owner.initialize().await;
    let mut thief = TestClient::with_key(&app, &d.keys.adder);
    thief.session = owner.session.clone();
    thief.protocol_version = owner.protocol_version.clone();
    assert_eq!(thief.rpc("tools/list", json!({})).await.status, 404);
    assert_eq!(owner.rpc("tools/list", json!({})).await.status, 200);
}

#[tokio::test]
async fn the_code_tool_is_listed_and_callable_only_with_code_execute() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut coder = TestClient::with_key(&app, &d.keys.coder);
    coder.initialize().await;
    assert!(tool_names(coder.rpc("tools/list", json!({})).await.result()).contains(&"gateway_execute_code".into()));
    let mut adder = TestClient::with_key(&app, &d.keys.adder);
    adder.initialize().await;
    assert!(!tool_names(adder.rpc("tools/list", json!({})).await.result()).contains(&"gateway_execute_code".into()));
    let refused = adder.call_tool("gateway_execute_code", json!({"code": "return 1"})).await;
    assert_eq!(refused.json["error"]["message"], "invalid params: unknown tool: gateway_execute_code");
}

#[tokio::test]
async fn a_revoked_key_is_refused_once_the_instance_refreshes_its_keys() {
    let d = Deployment::new(&[("API_KEYS_REFRESH_SECS", "1")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.adder);
    assert_eq!(client.initialize().await.status, 200);
    d.stores.set_keys(std::slice::from_ref(&d.keys.all));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(client.initialize().await.status, 401);
}

#[tokio::test]
async fn repeated_failed_authentications_are_throttled_by_address() {
    let d = Deployment::new(&[("RATE_LIMIT_AUTH_FAILURES", "3")]).await;
    let app = d.instance();
    let mut client = TestClient::new(&app);
    client.authorization = Some(TestKey::new("k_guess", &[]).bearer());
    let statuses: Vec<u16> = futures_util_join(&mut client).await;
    assert_eq!(statuses, [401, 401, 401, 429]);
    // Another address is not affected.
    let mut other = TestClient::new(&app);
    other.ip = "203.0.113.50".parse().unwrap();
    other.authorization = client.authorization.clone();
    assert_eq!(other.initialize().await.status, 401);
}

async fn futures_util_join(client: &mut TestClient<'_>) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(client.initialize().await.status);
    }
    statuses
}
