//! Sessions live in the store: any instance continues one, and a deleted one is gone everywhere.

use ::http::Method;
use serde_json::json;
use shared::{store::SessionStore, testing::TestClient};

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

#[tokio::test]
async fn a_warm_session_is_not_read_from_the_store_again() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    client.call_tool("fake_echo", json!({"text": "one"})).await;
    let reads = d.stores.sessions.loads();
    for _ in 0..5 {
        assert_eq!(client.call_tool("fake_echo", json!({"text": "warm"})).await.tool_text(), "warm");
    }
    assert_eq!(d.stores.sessions.loads(), reads, "the instance's copy answered");
    // Another instance reads it once, then uses its own copy.
    let b = d.instance();
    let other = client.on(&b);
    other.rpc("ping", json!({})).await;
    other.rpc("ping", json!({})).await;
    assert_eq!(d.stores.sessions.loads(), reads + 1);
}

#[tokio::test]
async fn a_delete_is_honoured_at_once_where_it_ran_and_everywhere_within_the_cache_ttl() {
    let d = Deployment::new(&[("GATEWAY_SESSION_CACHE_SECS", "1")]).await;
    let (a, b) = (d.instance(), d.instance());
    let mut client = TestClient::with_key(&a, &d.keys.all);
    client.initialize().await;
    let on_b = client.on(&b);
    assert_eq!(on_b.rpc("ping", json!({})).await.status, 200, "b now holds a copy");
    assert_eq!(client.send_with(Method::DELETE, "/mcp", None, &[]).await.status, 204);
    assert_eq!(client.rpc("ping", json!({})).await.status, 404, "refused at once by the deleting instance");
    // b may still serve its copy to the (re-authenticated) owner, but never past the bound.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(on_b.rpc("ping", json!({})).await.status, 404);
    assert_eq!(on_b.call_tool("fake_echo", json!({"text": "x"})).await.status, 404);
}

#[tokio::test]
async fn a_cached_session_is_still_refused_to_anyone_but_its_owner() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut owner = TestClient::with_key(&app, &d.keys.all);
    owner.initialize().await;
    owner.rpc("ping", json!({})).await;
    let mut intruder = TestClient::with_key(&app, &d.keys.adder);
    intruder.session = owner.session.clone();
    intruder.protocol_version = owner.protocol_version.clone();
    assert_eq!(intruder.rpc("ping", json!({})).await.status, 404);
    assert_eq!(owner.rpc("ping", json!({})).await.status, 200);
}

#[tokio::test]
async fn a_session_cache_of_zero_reads_the_store_on_every_request() {
    let d = Deployment::new(&[("GATEWAY_SESSION_CACHE_SECS", "0")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let reads = d.stores.sessions.loads();
    for _ in 0..3 {
        client.rpc("ping", json!({})).await;
    }
    assert_eq!(d.stores.sessions.loads(), reads + 3);
}

#[tokio::test]
async fn the_expiry_slides_at_most_once_per_half_ttl() {
    let d = Deployment::new(&[("GATEWAY_SESSION_TTL_SECS", "600")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let id = client.session.clone().unwrap();
    let created = d.stores.sessions.load(&id).await.unwrap().unwrap().expires_at;
    for _ in 0..5 {
        client.rpc("ping", json!({})).await;
    }
    let after = d.stores.sessions.load(&id).await.unwrap().unwrap().expires_at;
    assert_eq!(after, created, "a session younger than half its TTL is not written again");
}
