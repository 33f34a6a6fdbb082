//! Sessions live in the store: any instance continues one, and a deleted one is gone everywhere.

use ::http::Method;
use serde_json::json;
use shared::testing::TestClient;

use crate::{tool_names, Deployment};

#[tokio::test]
async fn a_session_opened_on_one_instance_continues_on_another() {
    let d = Deployment::new(&[]).await;
    let (a, b) = (d.instance(), d.instance());
    let mut client = TestClient::with_key(&a, &d.keys.all);
    client.initialize().await;
    let other = client.on(&b);
    assert_eq!(other.call_tool("fake_add", json!({"a": 1, "b": 2})).await.result()["structuredContent"]["result"], 3.0);
    // The second instance reused the backend session opened at initialize.
    assert_eq!(d.backend.received("initialize").len(), 1);
}

#[tokio::test]
async fn a_session_deleted_on_one_instance_is_not_found_on_another() {
    let d = Deployment::new(&[]).await;
    let (a, b) = (d.instance(), d.instance());
    let mut client = TestClient::with_key(&a, &d.keys.all);
    client.initialize().await;
    assert_eq!(client.send_with(Method::DELETE, "/mcp", None, &[]).await.status, 204);
    assert_eq!(client.on(&b).rpc("ping", json!({})).await.status, 404);
}

#[tokio::test]
async fn a_backend_that_forgot_its_session_gets_a_new_one_and_the_call_succeeds() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    d.backend.forget_sessions();
    assert_eq!(client.call_tool("fake_echo", json!({"text": "again"})).await.tool_text(), "again");
    assert_eq!(d.backend.received("initialize").len(), 2);
}

#[tokio::test]
async fn sessions_are_independent() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut one = TestClient::with_key(&app, &d.keys.all);
    let mut two = TestClient::with_key(&app, &d.keys.all);
    one.initialize().await;
    two.initialize().await;
    assert_ne!(one.session, two.session);
    assert_eq!(one.send_with(Method::DELETE, "/mcp", None, &[]).await.status, 204);
    assert_eq!(two.rpc("ping", json!({})).await.status, 200);
}

#[tokio::test]
async fn modern_requests_keep_no_session_and_reach_the_same_tools() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    let listed = client.modern("tools/list", json!({})).await;
    assert!(tool_names(listed.result()).contains(&"fake_echo".into()));
    let called = client.modern("tools/call", json!({"name": "fake_echo", "arguments": {"text": "modern"}})).await;
    assert_eq!(called.tool_text(), "modern");
    assert_eq!(called.result()["resultType"], "complete");
    assert!(called.result()["_meta"]["io.modelcontextprotocol/serverInfo"]["name"].is_string());
    // Backend sessions opened for the principal are reused on the next request.
    client.modern("tools/call", json!({"name": "fake_echo", "arguments": {"text": "again"}})).await;
    assert_eq!(d.backend.received("initialize").len(), 1);
}
