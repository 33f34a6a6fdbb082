//! Transport and protocol rules of `/mcp`, both eras.

use ::http::Method;
use serde_json::json;
use shared::testing::TestClient;

use crate::Deployment;

#[tokio::test]
async fn a_body_that_is_not_json_is_a_parse_error_with_a_null_id() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    let reply = client.send_with(Method::POST, "/mcp", None, &[]).await;
    assert_eq!((reply.status, reply.error_code()), (400, Some(-32700)));
    assert_eq!(reply.json["id"], serde_json::Value::Null);
}

#[tokio::test]
async fn accept_must_name_json_and_sse_and_content_type_must_be_json() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let reply = client.send_with(Method::POST, "/mcp", Some(&ping), &[("accept", "application/json")]).await;
    assert_eq!(reply.status, 406);
    let reply = client.send_with(Method::POST, "/mcp", Some(&ping), &[("content-type", "text/plain")]).await;
    assert_eq!(reply.status, 415);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_before_it_is_parsed() {
    let d = Deployment::new(&[("GATEWAY_MAX_BODY_BYTES", "2048")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let reply = client.call_tool("fake_echo", json!({"text": "x".repeat(4096)})).await;
    assert_eq!(reply.status, 413);
    assert!(d.backend.calls_of("echo").is_empty());
}

#[tokio::test]
async fn requests_need_a_session_and_unknown_sessions_are_not_found() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    let reply = client.rpc("tools/list", json!({})).await;
    assert_eq!((reply.status, reply.error_code()), (400, Some(-32600)));
    client.session = Some("no-such-session".into());
    assert_eq!(client.rpc("tools/list", json!({})).await.status, 404);
}

#[tokio::test]
async fn initialize_counter_offers_an_unknown_version_and_a_session_id_is_minted() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    let reply = client.initialize_at("2024-01-01").await;
    assert_eq!(reply.result()["protocolVersion"], "2025-11-25");
    let session = reply.header("mcp-session-id").expect("a session id");
    assert_eq!(session.len(), 43);
    assert!(reply.result()["capabilities"]["tools"].is_object());
}

#[tokio::test]
async fn unknown_methods_are_method_not_found_and_notifications_are_accepted() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    assert_eq!(client.rpc("no/such", json!({})).await.error_code(), Some(-32601));
    let note = client.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    assert_eq!((note.status, note.text.as_str()), (202, ""));
}

#[tokio::test]
async fn batches_are_refused_after_2025_03_26() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let batch = json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]);
    assert_eq!(client.post(&batch).await.status, 400);
}

#[tokio::test]
async fn a_protocol_version_header_other_than_the_session_s_is_refused() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    client.protocol_version = Some("2025-06-18".into());
    assert_eq!(client.rpc("ping", json!({})).await.status, 400);
    client.protocol_version = Some("1999-01-01".into());
    let reply = client.rpc("ping", json!({})).await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn get_is_not_allowed_and_delete_ends_the_session_and_the_backend_sessions() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let get = client.send_with(Method::GET, "/mcp", None, &[]).await;
    assert_eq!(get.status, 405);
    assert!(get.header("allow").is_some_and(|a| a.contains("POST")));
    assert_eq!(client.send_with(Method::DELETE, "/mcp", None, &[]).await.status, 204);
    assert_eq!(d.backend.deleted_sessions().len(), 1);
    assert_eq!(client.rpc("ping", json!({})).await.status, 404);
}

#[tokio::test]
async fn modern_requests_need_the_envelope_and_matching_headers() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    let ok = client.modern("tools/list", json!({})).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.result()["resultType"], "complete");
    assert_eq!(ok.result()["cacheScope"], "private");
    assert!(ok.header("mcp-session-id").is_none());
    // The header names another tool than the body: -32020.
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "fake_echo",
        "arguments": {"text": "x"}, "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}}}});
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "fake_add")];
    let mismatch = client.send_with(Method::POST, "/mcp", Some(&body), &headers).await;
    assert_eq!((mismatch.status, mismatch.error_code()), (400, Some(-32020)));
    // Methods 2026-07-28 removed are unknown to a modern client.
    assert_eq!(client.modern("ping", json!({})).await.status, 404);
}

#[tokio::test]
async fn a_modern_request_without_its_envelope_is_invalid_params() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/list")];
    let reply = client.send_with(Method::POST, "/mcp", Some(&body), &headers).await;
    assert_eq!((reply.status, reply.error_code()), (400, Some(-32602)));
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_cors_only_for_an_allowed_origin() {
    let d = Deployment::new(&[("GATEWAY_ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    let reply = client.initialize().await;
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let allowed = client.send_with(Method::POST, "/mcp", Some(&ping), &[("origin", "https://app.example.com")]).await;
    assert_eq!(allowed.header("access-control-allow-origin"), Some("https://app.example.com"));
    let foreign = client.send_with(Method::POST, "/mcp", Some(&ping), &[("origin", "https://evil.example")]).await;
    assert_eq!(foreign.status, 403);
    assert!(foreign.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_backend_of_the_handshake_era_is_asked_server_discover_once_per_instance() {
    // The deployment's backend serves 2025-11-25 sessions only: it refuses a session-less request.
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    for key in [&d.keys.all, &d.keys.adder, &d.keys.browser] {
        let client = TestClient::with_key(&app, key);
        let reply = client.modern("tools/call", json!({"name": "fake_add", "arguments": {"a": 2, "b": 3}})).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.result()["content"][0]["text"], "5", "{reply:?}");
    }
    // Each caller opened its own backend session, but the era was asked once: the answer is remembered.
    assert_eq!(d.backend.received("initialize").len(), 3);
    assert_eq!(d.backend.received("server/discover").len(), 1);
    // Another instance learns it for itself.
    let other = d.instance();
    let client = TestClient::with_key(&other, &d.keys.all);
    assert_eq!(
        client.modern("tools/call", json!({"name": "fake_add", "arguments": {"a": 1, "b": 1}})).await.status,
        200
    );
    assert_eq!(d.backend.received("server/discover").len(), 2);
}

#[tokio::test]
async fn a_backend_serving_2026_07_28_is_reached_statelessly_by_every_caller() {
    let d = Deployment::with_backend(shared::testing::FakeBackend::start_modern().await, &[]);
    let app = d.instance();
    for key in [&d.keys.all, &d.keys.adder] {
        let client = TestClient::with_key(&app, key);
        let reply = client.modern("tools/call", json!({"name": "fake_add", "arguments": {"a": 2, "b": 3}})).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    // No handshake-era session was opened: the discover answer said 2026-07-28, so nothing is remembered
    // against it.
    assert!(d.backend.received("initialize").is_empty());
    assert_eq!(d.backend.received("server/discover").len(), 2);
}
