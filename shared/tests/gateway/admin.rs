//! The admin API over memory stores: who may use it, every operation, validation exactly like the
//! configuration file, optimistic concurrency, secrets never returned, and convergence across instances.

use std::time::Duration;

use ::http::Method;
use serde_json::{json, Value};
use shared::testing::{FakeBackend, TestClient, TestKey};

use crate::{tool_names, Deployment};

/// Instances check for stored changes every second here.
const POLL: &[(&str, &str)] = &[("GATEWAY_CONFIG_POLL_SECS", "1")];

fn admin_key() -> TestKey {
    TestKey::new("k_admin", &["gateway:admin"])
}

/// The deployment's keys plus an admin key and keys holding every grant that must not reach admin.
fn with_admin_keys(d: &Deployment) -> Vec<TestKey> {
    let mut keys =
        vec![d.keys.all.clone(), d.keys.adder.clone(), d.keys.raw.clone(), d.keys.coder.clone(), admin_key()];
    for (id, scope) in
        [("k_gwcall", "gateway:call"), ("k_gwall", "gateway:*"), ("k_mcpall", "mcp:*"), ("k_toolall", "tool:*")]
    {
        keys.push(TestKey::new(id, &[scope]));
    }
    d.stores.set_keys(&keys);
    keys
}

async fn wait_past_poll() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test]
async fn only_star_and_gateway_admin_reach_the_admin_api() {
    let d = Deployment::new(&[]).await;
    let keys = with_admin_keys(&d);
    let app = d.instance();
    let anonymous = TestClient::new(&app).admin(Method::GET, "/backends", None).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header("www-authenticate").is_some_and(|c| c.contains("resource_metadata")));
    assert!(anonymous.json["error"].is_string());
    for key in &keys {
        let reply = TestClient::with_key(&app, key).admin(Method::GET, "/backends", None).await;
        let expected = if key.scopes.contains(&"*") || key.scopes.contains(&"gateway:admin") { 200 } else { 403 };
        assert_eq!(reply.status, expected, "{:?}: {}", key.scopes, reply.text);
        if expected == 403 {
            assert!(reply.text.contains("gateway:admin"), "{}", reply.text);
        }
    }
    // An admin key is no tool key.
    let mut admin = TestClient::with_key(&app, &admin_key());
    admin.initialize().await;
    assert!(tool_names(admin.rpc("tools/list", json!({})).await.result()).is_empty());
}

#[tokio::test]
async fn auth_mode_none_refuses_the_admin_api() {
    let d = Deployment::new(&[("AUTH_MODE", "none"), ("ALLOW_INSECURE", "1")]).await;
    let app = d.instance();
    let reply = TestClient::new(&app).admin(Method::GET, "/backends", None).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert!(reply.text.contains("AUTH_MODE=api-key"), "{}", reply.text);
}

#[tokio::test]
async fn a_backend_created_on_one_instance_is_listed_and_called_on_another_then_disabled() {
    let d = Deployment::new(POLL).await;
    with_admin_keys(&d);
    let extra = FakeBackend::start().await;
    let (one, two) = (d.instance(), d.instance());
    let admin = TestClient::with_key(&one, &admin_key());
    let mut user = TestClient::with_key(&two, &d.keys.all);
    user.initialize().await;
    assert!(!tool_names(user.rpc("tools/list", json!({})).await.result()).contains(&"extra_add".to_owned()));

    let created = admin
        .admin(Method::POST, "/backends", Some(&json!({"id": "extra", "url": extra.url(), "timeoutMs": 5000})))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!((created.json["source"].as_str(), created.json["active"].as_bool()), (Some("stored"), Some(true)));
    let version = created.json["version"].as_u64().unwrap();
    assert!(version > 0);

    wait_past_poll().await;
    assert!(tool_names(user.rpc("tools/list", json!({})).await.result()).contains(&"extra_add".to_owned()));
    let called = user.call_tool("extra_add", json!({"a": 1, "b": 2})).await;
    assert_eq!(called.result()["structuredContent"]["result"], 3.0);
    assert_eq!(extra.calls_of("add").len(), 1);

    let mut entry = created.json.clone();
    entry["enabled"] = json!(false);
    let disabled = admin.admin(Method::PUT, "/backends/extra", Some(&entry)).await;
    assert_eq!(disabled.status, 200, "{}", disabled.text);
    assert_eq!(disabled.json["active"], false);
    wait_past_poll().await;
    assert!(!tool_names(user.rpc("tools/list", json!({})).await.result()).contains(&"extra_add".to_owned()));
    assert_eq!(user.call_tool("extra_add", json!({"a": 1, "b": 2})).await.error_code(), Some(-32602));

    // The stale writer loses: the version it read was replaced.
    let stale = admin.admin(Method::PUT, "/backends/extra", Some(&created.json)).await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert_eq!(stale.json["currentVersion"], disabled.json["version"]);

    let deleted = admin.admin(Method::DELETE, "/backends/extra", None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(admin.admin(Method::GET, "/backends/extra", None).await.status, 404);

    let audit = admin.admin(Method::GET, "/audit", None).await;
    let actions: Vec<&str> =
        audit.json["events"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["backend.delete", "backend.update", "backend.create"]);
    assert_eq!(audit.json["events"][0]["actor"], "key:k_admin");
}

#[tokio::test]
async fn every_change_is_validated_like_the_configuration_file() {
    let d = Deployment::new(&[]).await;
    with_admin_keys(&d);
    let app = d.instance();
    let admin = TestClient::with_key(&app, &admin_key());
    let cases = [
        (json!({"id": "meta", "url": "http://169.254.169.254/latest/meta-data/"}), "url", "never allowed"),
        (json!({"id": "private", "url": "http://10.0.0.8/mcp"}), "url", "GATEWAY_ALLOW_PRIVATE_BACKENDS"),
        (json!({"id": "bad id!", "url": "https://mcp.example.com/mcp"}), "id", "[A-Za-z0-9_-]"),
        (json!({"id": "t", "url": "https://mcp.example.com/mcp", "timeoutMs": 1}), "timeoutMs", "100"),
        (json!({"id": "t", "url": "https://mcp.example.com/mcp", "colour": "red"}), "colour", "unknown field"),
        (
            json!({"id": "t", "url": "https://mcp.example.com/mcp", "prefix": "fake"}),
            "prefix",
            "another enabled backend",
        ),
        (json!({"url": "https://mcp.example.com/mcp"}), "id", "required"),
        // A stored backend may not borrow the gateway's own secrets (or any outside the backend prefix).
        (
            json!({"id": "t", "url": "https://mcp.example.com/mcp",
            "auth": {"type": "bearer", "secret": "mcp-gateway/pii-key"}}),
            "auth.secret",
            "the gateway's own secrets",
        ),
        (
            json!({"id": "t", "url": "https://mcp.example.com/mcp",
            "auth": {"type": "bearer", "secret": "other-stack/backends/db"}}),
            "auth.secret",
            "GATEWAY_BACKEND_SECRETS_PREFIX",
        ),
        (
            json!({"id": "t", "url": "https://mcp.example.com/mcp",
            "auth": {"type": "oauth-client-credentials", "tokenUrl": "http://169.254.169.254/t", "clientId": "c", "secret": "s"}}),
            "auth.tokenUrl",
            "never allowed",
        ),
    ];
    for (entry, field, words) in cases {
        let reply = admin.admin(Method::POST, "/backends", Some(&entry)).await;
        assert_eq!(reply.status, 400, "{entry}: {}", reply.text);
        assert_eq!(reply.json["field"], field, "{entry}: {}", reply.text);
        assert!(reply.json["error"].as_str().unwrap().contains(words), "{entry}: {}", reply.text);
    }
    let duplicate =
        admin.admin(Method::POST, "/backends", Some(&json!({"id": "fake", "url": "https://x.example/mcp"}))).await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text);
    let from_document = admin.admin(Method::DELETE, "/backends/fake", None).await;
    assert_eq!(from_document.status, 409, "{}", from_document.text);
    let no_version = admin.admin(Method::PUT, "/backends/fake", Some(&json!({"url": "https://x.example/mcp"}))).await;
    assert_eq!((no_version.status, no_version.json["field"].as_str()), (400, Some("version")));
    let not_json = admin.send_with(Method::POST, "/admin/api/backends", None, &[]).await;
    assert_eq!((not_json.status, not_json.json["field"].as_str()), (400, Some("body")));
    for (body, field) in [(json!({"enabled": "no"}), "enabled"), (json!({"enabled": false, "x": 1}), "x")] {
        let reply = admin.admin(Method::PUT, "/tools/fake_add", Some(&body)).await;
        assert_eq!((reply.status, reply.json["field"].as_str()), (400, Some(field)), "{}", reply.text);
    }
    let bad_name = admin.admin(Method::PUT, "/tools/%3Cb%3E", Some(&json!({"enabled": false}))).await;
    assert_eq!(bad_name.json["field"], "name", "{}", bad_name.text);
    // The gateway's own tools are governed by scopes; a switch here would be silently ignored.
    let own = admin.admin(Method::PUT, "/tools/gateway_execute_code", Some(&json!({"enabled": false}))).await;
    assert_eq!((own.status, own.json["field"].as_str()), (400, Some("name")), "{}", own.text);
    // Nothing invalid was stored.
    let listed = admin.admin(Method::GET, "/backends", None).await;
    assert_eq!(listed.json["backends"].as_array().unwrap().len(), 1, "{}", listed.text);
}

#[tokio::test]
async fn secrets_are_never_returned_and_a_redacted_header_keeps_its_value() {
    let d = Deployment::new(&[]).await;
    with_admin_keys(&d);
    let app = d.instance();
    let admin = TestClient::with_key(&app, &admin_key());
    // A closed loopback port: listing it fails at once.
    let entry = json!({"id": "withauth", "url": "http://127.0.0.1:9/mcp", "headers": {"x-tenant": "s3cret-header"},
        "auth": {"type": "bearer", "secret": "mcp-gateway/backends/withauth"}});
    let created = admin.admin(Method::POST, "/backends", Some(&entry)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json["headers"]["x-tenant"], "[redacted]");
    assert_eq!(created.json["auth"]["secret"], "mcp-gateway/backends/withauth");
    let mut edited = admin.admin(Method::GET, "/backends/withauth", None).await.json;
    edited["timeoutMs"] = json!(5000);
    let saved = admin.admin(Method::PUT, "/backends/withauth", Some(&edited)).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    use shared::store::ConfigStore;
    let stored = d.stores.config.load().await.unwrap().text;
    assert!(stored.contains("s3cret-header") && !stored.contains("[redacted]"), "{stored}");
    for path in ["/backends", "/backends/withauth", "/audit", "/status"] {
        let reply = admin.admin(Method::GET, path, None).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert!(!reply.text.contains("s3cret"), "{path}: {}", reply.text);
    }
    let keys = admin.admin(Method::GET, "/keys", None).await;
    assert!(!keys.text.contains("sha256") && keys.json["keys"].as_array().unwrap().len() >= 5, "{}", keys.text);
}

#[tokio::test]
async fn a_disabled_tool_is_gone_for_everyone_on_every_instance() {
    let d = Deployment::new(POLL).await;
    with_admin_keys(&d);
    let (one, two) = (d.instance(), d.instance());
    let admin = TestClient::with_key(&one, &admin_key());
    let mut user = TestClient::with_key(&two, &d.keys.all);
    user.initialize().await;
    assert!(tool_names(user.rpc("tools/list", json!({})).await.result()).contains(&"fake_echo".to_owned()));
    let off = admin.admin(Method::PUT, "/tools/fake_echo", Some(&json!({"enabled": false}))).await;
    assert_eq!(off.status, 200, "{}", off.text);
    let listed = admin.admin(Method::GET, "/tools?query=echo", None).await;
    let echo: Vec<&Value> =
        listed.json["tools"].as_array().unwrap().iter().filter(|t| t["name"] == "fake_echo").collect();
    assert_eq!((echo[0]["enabled"].as_bool(), echo[0]["backend"].as_str()), (Some(false), Some("fake")));
    wait_past_poll().await;
    assert!(!tool_names(user.rpc("tools/list", json!({})).await.result()).contains(&"fake_echo".to_owned()));
    let refused = user.call_tool("fake_echo", json!({"text": "hi"})).await;
    assert_eq!(refused.json["error"]["message"], "invalid params: unknown tool: fake_echo");
    assert!(d.backend.calls_of("echo").is_empty());
    assert_eq!(admin.admin(Method::PUT, "/tools/fake_echo", Some(&json!({"enabled": true}))).await.status, 200);
    wait_past_poll().await;
    assert!(tool_names(user.rpc("tools/list", json!({})).await.result()).contains(&"fake_echo".to_owned()));
}

#[tokio::test]
async fn a_key_created_on_one_instance_works_on_another_and_stops_when_revoked() {
    let d = Deployment::new(POLL).await;
    with_admin_keys(&d);
    let (one, two) = (d.instance(), d.instance());
    let admin = TestClient::with_key(&one, &admin_key());
    // The second instance has loaded its keys already.
    let mut warm = TestClient::with_key(&two, &d.keys.all);
    assert_eq!(warm.initialize().await.status, 200);
    let created = admin
        .admin(Method::POST, "/keys", Some(&json!({"name": "ci", "scopes": ["tool:fake_add"], "expires": "1d"})))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let key = created.json["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("mcpgw_") && created.json["status"] == "active");
    let mut client = TestClient::new(&two);
    client.authorization = Some(format!("Bearer {key}"));
    wait_past_poll().await;
    assert_eq!(client.initialize().await.status, 200);
    assert_eq!(tool_names(client.rpc("tools/list", json!({})).await.result()), ["fake_add"]);
    let listed = admin.admin(Method::GET, "/keys", None).await;
    assert!(!listed.text.contains(&key), "the key is shown once only");
    let id = created.json["id"].as_str().unwrap();
    let revoked = admin.admin(Method::DELETE, &format!("/keys/{id}"), None).await;
    assert_eq!((revoked.status, revoked.json["status"].as_str()), (200, Some("revoked")));
    wait_past_poll().await;
    assert_eq!(client.initialize().await.status, 401);
    for (body, field) in [
        (json!({"scopes": ["*"]}), "name"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": ["tool:<b>"]}), "scopes[0]"),
        (json!({"name": "x", "scopes": ["*"], "expires": "yesterday"}), "expires"),
    ] {
        let reply = admin.admin(Method::POST, "/keys", Some(&body)).await;
        assert_eq!((reply.status, reply.json["field"].as_str()), (400, Some(field)), "{}", reply.text);
    }
    assert_eq!(admin.admin(Method::DELETE, "/keys/k_nope", None).await.status, 404);
}

#[tokio::test]
async fn an_unknown_key_reloads_the_keys_so_a_key_made_elsewhere_works_at_once() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut warm = TestClient::with_key(&app, &d.keys.all);
    assert_eq!(warm.initialize().await.status, 200);
    let loads = d.stores.keys.loads();
    // A key written straight into the secret (as infra/create-api-key.py does), no admin API involved.
    let newcomer = TestKey::new("k_new", &["*"]);
    let mut keys = with_admin_keys(&d);
    keys.push(newcomer.clone());
    d.stores.set_keys(&keys);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut client = TestClient::with_key(&app, &newcomer);
    assert_eq!(client.initialize().await.status, 200, "an unknown key triggers one reload");
    // Guessing does not turn into a read storm: at most one more reload per interval.
    for i in 0..10 {
        let guess = TestKey::new(Box::leak(format!("k_guess{i}").into_boxed_str()), &["*"]);
        assert_eq!(TestClient::with_key(&app, &guess).initialize().await.status, 401);
    }
    assert_eq!(d.stores.keys.loads(), loads + 1);
}

#[tokio::test]
async fn status_and_connection_tests_report_the_backends() {
    let d = Deployment::new(&[]).await;
    with_admin_keys(&d);
    let app = d.instance();
    let admin = TestClient::with_key(&app, &admin_key());
    let tested = admin.admin(Method::POST, "/backends/fake/test", None).await;
    assert_eq!(tested.status, 200, "{}", tested.text);
    assert_eq!(tested.json["status"], "up");
    assert!(tested.json["tools"].as_array().unwrap().iter().any(|t| t == "add"), "{}", tested.text);
    let status = admin.admin(Method::GET, "/status", None).await;
    assert_eq!(status.status, 200, "{}", status.text);
    assert!(status.json["instance"]["backends"]["fake"]["toolCount"].as_u64().unwrap() >= 2, "{}", status.text);
    assert_eq!(admin.admin(Method::POST, "/backends/nope/test", None).await.status, 404);
    assert_eq!(admin.admin(Method::PATCH, "/backends", None).await.status, 405);
    assert_eq!(admin.admin(Method::GET, "/nothing", None).await.status, 404);
    let page = TestClient::new(&app).send_with(Method::GET, "/admin/", None, &[]).await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.text.contains("/admin/app.js"));
}
