//! Tools, resources, prompts and completions routed to the backend that owns them.

use std::sync::Arc;

use serde_json::json;
use shared::{
    protocol::Era,
    testing::{FakeBackend, TestClient},
};

use crate::{tool_names, Deployment};

#[tokio::test]
async fn tools_are_listed_with_the_backend_prefix_and_called_by_their_own_name() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let names = tool_names(client.rpc("tools/list", json!({})).await.result());
    assert!(names.contains(&"fake_echo".into()) && names.contains(&"fake_add".into()), "{names:?}");
    assert_eq!(client.call_tool("fake_echo", json!({"text": "hello"})).await.tool_text(), "hello");
    assert_eq!(d.backend.calls_of("echo")[0]["name"], "echo");
}

#[tokio::test]
async fn invalid_arguments_never_reach_the_backend_and_the_value_is_not_echoed() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let reply = client.call_tool("fake_add", json!({"a": "s3cret-value", "b": 1})).await;
    assert_eq!(reply.result()["isError"], true);
    assert!(reply.tool_text().contains("/a"), "{reply:?}");
    assert!(!reply.text.contains("s3cret-value"));
    assert!(d.backend.calls_of("add").is_empty());
    let not_an_object = client.rpc("tools/call", json!({"name": "fake_add", "arguments": [1, 2]})).await;
    assert_eq!(not_an_object.error_code(), Some(-32602));
}

#[tokio::test]
async fn backend_errors_and_error_results_reach_the_caller_as_the_backend_gave_them() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let failed = client.call_tool("fake_fail", json!({})).await;
    assert_eq!((failed.result()["isError"].as_bool(), failed.tool_text()), (Some(true), "it failed"));
    let error = client.call_tool("fake_boom", json!({"text": "bang"})).await;
    assert_eq!(error.error_code(), Some(-32000));
}

#[tokio::test]
async fn a_dead_backend_is_an_error_result_naming_it_not_a_protocol_error() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    client.rpc("tools/list", json!({})).await;
    let dead = FakeBackend::start().await;
    drop(dead);
    // The backend's calls now time out: the slow tool beyond the backend timeout.
    let d2 = Deployment::with_backend(
        d.backend.clone(),
        &[(
            "GATEWAY_BACKENDS_JSON",
            r#"{"backends":[{"id":"fake","url":"http://127.0.0.1:9/mcp","connectTimeoutMs":200,"timeoutMs":500}]}"#,
        )],
    );
    let app2 = d2.instance();
    let mut client2 = TestClient::with_key(&app2, &d2.keys.all);
    assert_eq!(client2.initialize().await.status, 200);
    let reply = client2.call_tool("fake_echo", json!({"text": "x"})).await;
    assert_eq!(reply.result()["isError"], true, "{reply:?}");
    assert!(reply.tool_text().contains("Backend 'fake' is unavailable"), "{reply:?}");
}

#[tokio::test]
async fn resources_are_read_from_their_owner_and_unknown_ones_are_not_found() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let listed = client.rpc("resources/list", json!({})).await;
    assert_eq!(listed.result()["resources"][0]["uri"], "fake://doc/1");
    let read = client.rpc("resources/read", json!({"uri": "fake://doc/1"})).await;
    assert_eq!(read.result()["contents"][0]["text"], "contents of fake://doc/1");
    let missing = client.rpc("resources/read", json!({"uri": "nowhere://x"})).await;
    assert_eq!(missing.error_code(), Some(-32002));
}

#[tokio::test]
async fn prompts_and_completions_are_renamed_both_ways() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    let prompts = client.rpc("prompts/list", json!({})).await;
    assert_eq!(prompts.result()["prompts"][0]["name"], "fake_greet");
    let got = client.rpc("prompts/get", json!({"name": "fake_greet", "arguments": {"who": "Ada"}})).await;
    assert_eq!(got.result()["messages"][0]["content"]["text"], "Say hello to Ada");
    assert_eq!(d.backend.received("prompts/get")[0]["params"]["name"], "greet");
    let completed = client
        .rpc(
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "fake_greet"}, "argument": {"name": "who", "value": "a"}}),
        )
        .await;
    assert_eq!(completed.result()["completion"]["values"][0], "alpha");
    let bad_ref = client.rpc("completion/complete", json!({"ref": {"type": "ref/other"}})).await;
    assert_eq!(bad_ref.error_code(), Some(-32602));
}

#[tokio::test]
async fn log_levels_are_checked_and_passed_to_the_backends() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    assert_eq!(client.rpc("logging/setLevel", json!({"level": "loud"})).await.error_code(), Some(-32602));
    assert_eq!(client.rpc("logging/setLevel", json!({"level": "warning"})).await.status, 200);
    assert_eq!(d.backend.received("logging/setLevel")[0]["params"]["level"], "warning");
}

#[tokio::test]
async fn code_on_the_api_route_calls_tools_with_the_caller_s_scopes() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.coder);
    let body = json!({"code": "const r = await fake_add({a: 2, b: 5}); return r.structuredContent.result"});
    let reply = client.send_with(::http::Method::POST, "/api/code/execute", Some(&body), &[]).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json["returnValue"], 7.0);
    assert_eq!(reply.json["success"], true);
    let refused = TestClient::with_key(&app, &d.keys.adder)
        .send_with(::http::Method::POST, "/api/code/execute", Some(&body), &[])
        .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn a_warm_list_is_built_once_filtered_per_caller_and_built_again_when_a_listing_changes() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let latest = || app.tools.latest("tools", Era::Legacy).expect("an index");
    let mut all = TestClient::with_key(&app, &d.keys.all);
    all.initialize().await;
    let listed = tool_names(all.rpc("tools/list", json!({})).await.result());
    let built = latest();
    assert_eq!(tool_names(all.rpc("tools/list", json!({})).await.result()), listed);
    assert!(Arc::ptr_eq(&built, &latest()), "the same cached pages: the list is not built again");
    // The same built list, filtered by each caller's scopes.
    let mut adder = TestClient::with_key(&app, &d.keys.adder);
    adder.initialize().await;
    assert_eq!(tool_names(adder.rpc("tools/list", json!({})).await.result()), ["fake_add"]);
    assert!(Arc::ptr_eq(&built, &latest()));
    // The backend says its tools changed: its pages are fetched again and the list is built again.
    let asked = d.backend.received("tools/list").len();
    app.client.lists().observe("fake", "notifications/tools/list_changed");
    assert_eq!(tool_names(all.rpc("tools/list", json!({})).await.result()), listed);
    assert_eq!(d.backend.received("tools/list").len(), asked + 1);
    assert!(!Arc::ptr_eq(&built, &latest()), "new pages: a new list");
}
