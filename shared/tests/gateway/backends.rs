//! Backends replaced while an instance runs (what the admin API does): new ones are listed and callable
//! at once, removed ones disappear, unchanged ones keep their state.

use serde_json::json;
use shared::{
    backend::BackendSet,
    testing::{backends_json, FakeBackend, TestClient},
    App,
};

use crate::{tool_names, Deployment};

fn set(app: &App, backends: &[(&str, &str)]) -> BackendSet {
    BackendSet::parse(&backends_json(backends), &app.config.backend_defaults()).expect("a valid backends document")
}

#[tokio::test]
async fn a_backend_added_at_runtime_is_listed_and_callable_without_a_restart() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    assert!(!tool_names(client.modern("tools/list", json!({})).await.result()).contains(&"extra_echo".into()));
    let extra = FakeBackend::start().await;
    let changed = app.replace_backends(set(&app, &[("fake", &d.backend.url()), ("extra", &extra.url())])).unwrap();
    assert_eq!(changed, ["extra"]);
    assert!(tool_names(client.modern("tools/list", json!({})).await.result()).contains(&"extra_echo".into()));
    let reply = client.modern("tools/call", json!({"name": "extra_echo", "arguments": {"text": "new"}})).await;
    assert_eq!(reply.tool_text(), "new");
    assert_eq!(extra.calls_of("echo").len(), 1);
}

#[tokio::test]
async fn a_removed_backend_is_gone_from_lists_and_calls() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    assert_eq!(
        client.modern("tools/call", json!({"name": "fake_echo", "arguments": {"text": "a"}})).await.tool_text(),
        "a"
    );
    assert_eq!(app.replace_backends(set(&app, &[])).unwrap(), ["fake"]);
    let names = tool_names(client.modern("tools/list", json!({})).await.result());
    assert!(names.iter().all(|n| !n.starts_with("fake_")), "{names:?}");
    let gone = client.modern("tools/call", json!({"name": "fake_echo", "arguments": {"text": "b"}})).await;
    assert_eq!(gone.error_code(), Some(-32602));
    assert_eq!(d.backend.calls_of("echo").len(), 1);
}

#[tokio::test]
async fn replacing_with_the_same_backends_changes_nothing() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    assert!(app.replace_backends(set(&app, &[("fake", &d.backend.url())])).unwrap().is_empty());
}
