//! Authorization of every method that reaches a backend, by the backend each item belongs to: tools,
//! prompts, resources, resource templates, completions and log levels; a denied item answers like a
//! missing one, and a renamed collision never falls under another backend's grant.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use shared::testing::{self, FakeBackend, Stores, TestClient, TestKey};

use crate::tool_names;

/// Two fake backends (`fake`, prefix `fake`; `other`, prefix `other`, or unprefixed with `collide`) and
/// the given keys.
struct Two {
    fake: FakeBackend,
    other: FakeBackend,
    app: std::sync::Arc<shared::App>,
}

async fn two(keys: &[TestKey], other_prefix: Option<&str>, other_tools: &[&str]) -> Two {
    let (fake, other) = (FakeBackend::start().await, FakeBackend::start_with_tools(other_tools).await);
    let mut second = json!({ "id": "other", "url": other.url() });
    if let Some(prefix) = other_prefix {
        second["prefix"] = json!(prefix);
    }
    let doc = json!({ "backends": [{ "id": "fake", "url": fake.url() }, second] }).to_string();
    let stores = Stores::with_keys(keys);
    let app = std::sync::Arc::new(testing::app(&[("GATEWAY_BACKENDS_JSON", &doc), ("AUTH_MODE", "api-key")], &stores));
    Two { fake, other, app }
}

fn names(result: &Value, field: &str, key: &str) -> Vec<String> {
    result[field].as_array().into_iter().flatten().filter_map(|i| i[key].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn a_key_holding_only_tool_scopes_sees_and_reaches_no_resource_prompt_or_completion() {
    let adder = TestKey::new("k_adder", &["tool:fake_add", "tool:other_*"]);
    let t = two(std::slice::from_ref(&adder), None, &[]).await;
    let mut client = TestClient::with_key(&t.app, &adder);
    client.initialize().await;
    for (method, field) in [("resources/list", "resources"), ("resources/templates/list", "resourceTemplates")] {
        let listed = client.rpc(method, json!({})).await;
        assert_eq!(listed.result()[field], json!([]), "{method}: {listed:?}");
    }
    assert_eq!(client.rpc("prompts/list", json!({})).await.result()["prompts"], json!([]));
    // Denied looks exactly like missing.
    let denied = client.rpc("resources/read", json!({"uri": "fake://doc/1"})).await;
    let missing = client.rpc("resources/read", json!({"uri": "fake://nothing"})).await;
    assert_eq!(denied.error_code(), Some(-32002), "{denied:?}");
    assert_eq!(denied.json["error"]["message"], json!("resource not found: fake://doc/1"));
    assert_eq!(missing.error_code(), Some(-32002));
    let denied = client.rpc("prompts/get", json!({"name": "fake_greet", "arguments": {"who": "x"}})).await;
    let missing = client.rpc("prompts/get", json!({"name": "fake_nothing"})).await;
    assert_eq!(denied.error_code(), Some(-32602));
    assert_eq!(denied.json["error"]["message"], json!("invalid params: unknown prompt: fake_greet"));
    assert_eq!(missing.json["error"]["message"], json!("invalid params: unknown prompt: fake_nothing"));
    let by_prompt =
        json!({"ref": {"type": "ref/prompt", "name": "fake_greet"}, "argument": {"name": "who", "value": "a"}});
    assert_eq!(client.rpc("completion/complete", by_prompt).await.error_code(), Some(-32602));
    let by_resource =
        json!({"ref": {"type": "ref/resource", "uri": "fake://doc/{id}"}, "argument": {"name": "id", "value": "1"}});
    let empty = client.rpc("completion/complete", by_resource).await;
    assert_eq!(empty.result()["completion"]["values"], json!([]));
    // The tools it holds still work; nothing else ever reached a backend.
    assert_eq!(
        client.call_tool("fake_add", json!({"a": 1, "b": 2})).await.result()["structuredContent"]["result"],
        3.0
    );
    for backend in [&t.fake, &t.other] {
        for method in ["resources/read", "prompts/get", "completion/complete", "resources/list"] {
            assert!(backend.received(method).is_empty(), "{method} reached a backend");
        }
    }
}

#[tokio::test]
async fn a_backend_grant_covers_every_kind_of_that_backend_and_nothing_of_another() {
    let key = TestKey::new("k_fake", &["backend:fake"]);
    let t = two(std::slice::from_ref(&key), None, &[]).await;
    let mut client = TestClient::with_key(&t.app, &key);
    client.initialize().await;
    let tools = tool_names(client.rpc("tools/list", json!({})).await.result());
    assert!(tools.contains(&"fake_echo".to_owned()) && tools.iter().all(|n| n.starts_with("fake_")), "{tools:?}");
    let resources = client.rpc("resources/list", json!({})).await;
    assert_eq!(names(resources.result(), "resources", "uri"), ["fake://doc/1"]);
    // Both backends serve this URI: only the granted one is asked.
    let read = client.rpc("resources/read", json!({"uri": "fake://doc/1"})).await;
    assert_eq!(read.result()["contents"][0]["text"], "contents of fake://doc/1");
    assert_eq!(names(client.rpc("prompts/list", json!({})).await.result(), "prompts", "name"), ["fake_greet"]);
    let complete =
        json!({"ref": {"type": "ref/prompt", "name": "fake_greet"}, "argument": {"name": "who", "value": "a"}});
    assert_eq!(client.rpc("completion/complete", complete).await.result()["completion"]["values"][0], "alpha");
    assert_eq!(client.call_tool("other_echo", json!({"text": "x"})).await.error_code(), Some(-32602));
    assert_eq!(client.rpc("prompts/get", json!({"name": "other_greet"})).await.error_code(), Some(-32602));
    // The other backend is listed for the name index (the same for every caller), never used for this key.
    for method in ["tools/call", "prompts/get", "resources/read", "resources/list", "completion/complete"] {
        assert!(t.other.received(method).is_empty(), "{method} reached the other backend");
    }
}

#[tokio::test]
async fn a_prefix_wildcard_goes_by_backend_so_a_renamed_collision_is_not_under_it() {
    let (wild, all) = (TestKey::new("k_wild", &["tool:fake_*"]), TestKey::new("k_all", &["*"]));
    // `other` is unprefixed and lists a tool named `fake_echo`: it collides with fake's echo and is renamed.
    let t = two(&[wild.clone(), all.clone()], Some(""), &["fake_echo"]).await;
    let mut everyone = TestClient::with_key(&t.app, &all);
    everyone.initialize().await;
    let listed = tool_names(everyone.rpc("tools/list", json!({})).await.result());
    let renamed = listed.iter().find(|n| n.starts_with("fake_echo-")).expect("the collision was renamed").clone();
    assert_eq!(everyone.call_tool(&renamed, json!({})).await.tool_text(), "extra tool fake_echo");

    let mut client = TestClient::with_key(&t.app, &wild);
    client.initialize().await;
    let visible = tool_names(client.rpc("tools/list", json!({})).await.result());
    assert!(visible.contains(&"fake_echo".to_owned()) && !visible.contains(&renamed), "{visible:?}");
    assert!(
        visible.iter().all(|n| !n.starts_with("echo") && n != "add"),
        "no tool of the unprefixed backend: {visible:?}"
    );
    let refused = client.call_tool(&renamed, json!({})).await;
    let unknown = client.call_tool("fake_echo-00000000", json!({})).await;
    assert_eq!(refused.json["error"]["message"], json!(format!("invalid params: unknown tool: {renamed}")));
    assert_eq!(unknown.error_code(), refused.error_code());
    assert_eq!(t.other.calls_of("fake_echo").len(), 1, "only the `*` key's call reached it");
    // Its exact name grants it; the unprefixed backend's plain names need exact grants too.
    let exact = TestKey::new("k_exact", &[]);
    let exact = TestKey { scopes: vec![Box::leak(format!("tool:{renamed}").into_boxed_str())], ..exact };
    let t2 = two(std::slice::from_ref(&exact), Some(""), &["fake_echo"]).await;
    let mut client = TestClient::with_key(&t2.app, &exact);
    client.initialize().await;
    assert_eq!(client.call_tool(&renamed, json!({})).await.tool_text(), "extra tool fake_echo");
}

#[tokio::test]
async fn resource_and_prompt_scopes_grant_their_own_kind_only() {
    let key = TestKey::new("k_docs", &["resource:fake", "prompt:fake_*"]);
    let t = two(std::slice::from_ref(&key), None, &[]).await;
    let mut client = TestClient::with_key(&t.app, &key);
    client.initialize().await;
    assert!(tool_names(client.rpc("tools/list", json!({})).await.result()).is_empty());
    assert_eq!(
        names(client.rpc("resources/templates/list", json!({})).await.result(), "resourceTemplates", "uriTemplate"),
        ["fake://doc/{id}"]
    );
    let got = client.rpc("prompts/get", json!({"name": "fake_greet", "arguments": {"who": "Ada"}})).await;
    assert_eq!(got.result()["messages"][0]["content"]["text"], "Say hello to Ada");
    assert_eq!(client.call_tool("fake_echo", json!({"text": "x"})).await.error_code(), Some(-32602));
    assert_eq!(client.rpc("prompts/list", json!({})).await.result()["prompts"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_forged_cursor_naming_a_denied_backend_is_an_unknown_backend() {
    let key = TestKey::new("k_docs", &["resource:fake"]);
    let t = two(std::slice::from_ref(&key), None, &[]).await;
    let mut client = TestClient::with_key(&t.app, &key);
    client.initialize().await;
    let cursor = |backend: &str| {
        let raw = json!({"list": "resources", "next": { backend: "x" }}).to_string();
        URL_SAFE_NO_PAD.encode(raw)
    };
    let denied = client.rpc("resources/list", json!({"cursor": cursor("other")})).await;
    let missing = client.rpc("resources/list", json!({"cursor": cursor("nope")})).await;
    assert_eq!(denied.error_code(), Some(-32602));
    assert_eq!(denied.json["error"], missing.json["error"]);
    assert!(t.other.received("resources/list").is_empty());
}

#[tokio::test]
async fn initialize_and_log_levels_reach_only_the_backends_a_key_may_use() {
    let adder = TestKey::new("k_adder", &["tool:fake_add"]);
    let t = two(std::slice::from_ref(&adder), None, &[]).await;
    let mut client = TestClient::with_key(&t.app, &adder);
    let init = client.initialize().await;
    let instructions = init.result()["instructions"].as_str().unwrap_or_default().to_owned();
    assert!(instructions.contains("fake") && !instructions.contains("other"), "{instructions}");
    assert_eq!(client.rpc("logging/setLevel", json!({"level": "error"})).await.status, 200);
    assert_eq!(t.fake.received("logging/setLevel").len(), 1);
    assert!(t.other.received("initialize").is_empty() && t.other.received("logging/setLevel").is_empty());
}

#[tokio::test]
async fn tool_calls_from_code_take_the_same_backend_check() {
    let (coder, all) = (TestKey::new("k_coder", &["code:execute", "tool:fake_*"]), TestKey::new("k_all", &["*"]));
    let t = two(&[coder.clone(), all.clone()], Some(""), &["fake_echo"]).await;
    let mut everyone = TestClient::with_key(&t.app, &all);
    everyone.initialize().await;
    let listed = tool_names(everyone.rpc("tools/list", json!({})).await.result());
    let renamed = listed.iter().find(|n| n.starts_with("fake_echo-")).expect("renamed").clone();
    let code = format!(
        "try {{ await callTool('{renamed}', {{}}); return 'reached'; }} catch (e) {{ return e.name + ': ' + e.message }}"
    );
    let client = TestClient::with_key(&t.app, &coder);
    let reply = client.send_with(::http::Method::POST, "/api/code/execute", Some(&json!({ "code": code })), &[]).await;
    let returned = reply.json["returnValue"].as_str().unwrap_or_default().to_owned();
    assert!(returned.starts_with("ToolNotFoundError"), "{reply:?}");
    assert!(t.other.calls_of("fake_echo").is_empty());
}

#[tokio::test]
async fn what_a_restricted_caller_reads_never_decides_where_others_reads_go() {
    let (docs, all) = (TestKey::new("k_other_docs", &["resource:other"]), TestKey::new("k_all", &["*"]));
    let t = two(&[docs.clone(), all.clone()], None, &[]).await;
    // Both backends serve fake://doc/1; `fake` is listed first, so it owns the URI for everyone.
    let mut restricted = TestClient::with_key(&t.app, &docs);
    restricted.initialize().await;
    restricted.rpc("resources/list", json!({})).await;
    assert_eq!(restricted.rpc("resources/read", json!({"uri": "fake://doc/1"})).await.status, 200);
    assert_eq!(t.other.received("resources/read").len(), 1);
    let mut everyone = TestClient::with_key(&t.app, &all);
    everyone.initialize().await;
    everyone.rpc("resources/read", json!({"uri": "fake://doc/1"})).await;
    // Had the restricted read taught the instance that `other` owns the URI, only `other` would be asked.
    assert_eq!(t.fake.received("resources/read").len(), 1, "the first backend serves the unrestricted caller");
}
