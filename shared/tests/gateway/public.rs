//! Public routes and input that gets stored: liveness for anonymous callers, the detailed health view
//! behind `gateway:health`, shared backend probes, per-address limits on public routes, and 400s naming
//! the field for client input too large to store.

use ::http::Method;
use serde_json::{json, Value};
use shared::testing::{Stores, TestClient, TestKey};

use crate::Deployment;

async fn get(client: &TestClient<'_>, path: &str) -> shared::testing::Reply {
    client.send_with(Method::GET, path, None, &[]).await
}

#[tokio::test]
async fn without_a_credential_mcp_health_is_liveness_and_names_no_backend() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let reply = get(&TestClient::new(&app), "/mcp/health?probe=1").await;
    assert_eq!((reply.status, &reply.json), (200, &json!({"status": "ok"})), "{reply:?}");
    assert!(!reply.text.contains("fake"));
    assert!(d.backend.transcript().is_empty(), "an anonymous request contacted a backend");
}

#[tokio::test]
async fn the_detailed_view_needs_a_valid_credential_with_gateway_health() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let adder = get(&TestClient::with_key(&app, &d.keys.adder), "/mcp/health").await;
    assert_eq!(adder.status, 403, "{adder:?}");
    let challenge = adder.header("www-authenticate").unwrap_or_default();
    assert!(challenge.contains("insufficient_scope") && challenge.contains("gateway:health"), "{challenge}");
    assert!(!adder.text.contains("fake"));
    let guess = get(&TestClient::with_key(&app, &TestKey::new("k_guess", &["*"])), "/mcp/health").await;
    assert_eq!(guess.status, 401);
    let health = TestKey::new("k_health", &["gateway:health"]);
    let stores = Stores::with_keys(&[health.clone(), d.keys.all.clone()]);
    let app = std::sync::Arc::new(shared::testing::app(
        &[("GATEWAY_BACKENDS_JSON", &backends(&d)), ("AUTH_MODE", "api-key")],
        &stores,
    ));
    for key in [&d.keys.all, &health] {
        let detailed = get(&TestClient::with_key(&app, key), "/mcp/health").await;
        assert_eq!(detailed.status, 200, "{detailed:?}");
        assert!(detailed.json["backends"]["fake"]["breaker"].is_object(), "{detailed:?}");
        assert_eq!(detailed.json["principal"], format!("key:{}", key.id));
    }
}

fn backends(d: &Deployment) -> String {
    shared::testing::backends_json(&[("fake", &d.backend.url())])
}

#[tokio::test]
async fn probes_are_shared_however_many_callers_ask_at_once() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    let replies = futures_util::future::join_all((0..12).map(|_| get(&client, "/mcp/health?probe=1"))).await;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json["backends"]["fake"]["status"], "up", "{reply:?}");
        // echo, add, fail, boom, slow and the four streaming tools.
        assert_eq!(reply.json["backends"]["fake"]["toolCount"], 9);
    }
    assert_eq!(d.backend.received("initialize").len(), 1, "twelve views, one probe");
    get(&client, "/mcp/health?probe=1").await;
    assert_eq!(d.backend.received("initialize").len(), 1, "a fresh probe is reused");
}

#[tokio::test]
async fn public_routes_are_limited_per_client_address() {
    let d = Deployment::new(&[("RATE_LIMIT_PUBLIC", "3")]).await;
    let app = d.instance();
    let mut client = TestClient::new(&app);
    client.ip = "203.0.113.10".parse().unwrap();
    for path in ["/.well-known/oauth-protected-resource", "/mcp/health", "/.well-known/oauth-protected-resource/mcp"] {
        assert_eq!(get(&client, path).await.status, 200, "{path}");
    }
    let refused = get(&client, "/mcp/health").await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert!(refused.header("retry-after").is_some() && refused.header("x-ratelimit-limit") == Some("3"));
    client.ip = "203.0.113.11".parse().unwrap();
    assert_eq!(get(&client, "/.well-known/oauth-protected-resource").await.status, 200, "another address");
}

#[tokio::test]
async fn oversized_client_input_that_would_be_stored_gets_400_naming_the_field() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    let big = "x".repeat(450 * 1024);
    for (params, field) in [
        (
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": big, "version": "1"}}),
            "params.clientInfo",
        ),
        (
            json!({"protocolVersion": "2025-11-25", "capabilities": {"experimental": {"x": big}}, "clientInfo": {}}),
            "params.capabilities",
        ),
    ] {
        let reply = client.rpc("initialize", params).await;
        assert_eq!(reply.status, 400, "{field}: {}", &reply.text[..reply.text.len().min(300)]);
        assert_eq!(reply.json["error"]["data"]["field"], field);
        assert!(reply.header("mcp-session-id").is_none());
    }
    let mut long = TestClient::with_key(&app, &d.keys.all);
    long.session = Some("s".repeat(2048));
    let reply = long.rpc("tools/list", json!({})).await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert!(reply.json["error"]["message"].as_str().is_some_and(|m| m.contains("Mcp-Session-Id")), "{reply:?}");
    long.session = Some("not-a-session-of-ours".into());
    assert_eq!(long.rpc("tools/list", json!({})).await.status, 404);
}

#[tokio::test]
async fn principals_are_namespaced_by_how_they_authenticated() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let reply = get(&TestClient::with_key(&app, &d.keys.all), "/mcp/health").await;
    assert_eq!(reply.json["principal"], Value::from("key:k_all"));
}
