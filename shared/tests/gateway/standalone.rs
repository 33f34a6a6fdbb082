//! What streams outside any request, and what each protocol era is offered: the session's `GET /mcp`
//! stream (relayed from the backend session's own, resumable on another instance with `Last-Event-ID`,
//! never into another session's events), resource subscriptions, the capabilities advertised only where
//! they are delivered, and a catalog per era.

use ::http::Method;
use serde_json::{json, Value};
use shared::testing::{backends_json, FakeBackend, TestClient};

use crate::{tool_names, Deployment};

const ON: (&str, &str) = ("GATEWAY_STREAMING", "on");
const SSE: (&str, &str) = ("accept", "text/event-stream");

#[tokio::test]
async fn the_standalone_stream_relays_the_backends_and_resumes_on_another_instance() {
    let d = Deployment::new(&[ON, ("GATEWAY_STREAM_KEEPALIVE_SECS", "1")]).await;
    let (a, b) = (d.instance(), d.instance());
    let mut client = TestClient::with_key(&a, &d.keys.all);
    client.initialize().await;
    let subscribed = client.rpc("resources/subscribe", json!({ "uri": "fake://doc/1" })).await;
    assert_eq!(subscribed.result(), &json!({}));
    assert_eq!(d.backend.subscriptions().len(), 1, "the subscription reached the owning backend");

    let mut stream = client.open(Method::GET, "/mcp", None, &[SSE]).await;
    assert_eq!((stream.status, stream.headers["content-type"].to_str().unwrap()), (200, "text/event-stream"));
    let (priming, data) = stream.next_event().await.unwrap();
    let priming = priming.expect("the first event gives an id to resume from");
    assert!(data.is_none() && priming.ends_with(".0"), "{priming}");
    let changed = json!({ "jsonrpc": "2.0", "method": "notifications/tools/list_changed" });
    for _ in 0..100 {
        if d.backend.push(&changed) > 0 {
            break; // the gateway's stream to the backend is open
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (id, data) = stream.next_event().await.unwrap();
    let first = id.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&data.unwrap()).unwrap(), changed);
    drop(stream);

    // Once the gateway noticed the client left (its next keep-alive fails), no stream is open: the backend
    // keeps what it sends, and resuming on instance B asks it for what came after the last event relayed.
    let updated =
        json!({ "jsonrpc": "2.0", "method": "notifications/resources/updated", "params": { "uri": "fake://doc/1" } });
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(d.backend.push(&updated), 0, "the gateway closed its backend stream with the client's");
    let resumed = client.on(&b);
    let mut stream = resumed.open(Method::GET, "/mcp", None, &[SSE, ("last-event-id", &first)]).await;
    assert_eq!(stream.status, 200);
    let got = loop {
        let message = stream.next_message().await.unwrap();
        if message["method"] == "notifications/resources/updated" {
            break message;
        }
    };
    assert_eq!(got, updated);
    assert_eq!(
        d.backend.resumed_from().last().unwrap().as_deref(),
        Some("1"),
        "the backend stream resumed after its event 1"
    );
}

#[tokio::test]
async fn a_last_event_id_of_another_session_replays_nothing() {
    let d = Deployment::new(&[ON]).await;
    let app = d.instance();
    let mut owner = TestClient::with_key(&app, &d.keys.all);
    owner.initialize().await;
    let mut stream = owner.open(Method::GET, "/mcp", None, &[SSE]).await;
    let (id, _) = stream.next_event().await.unwrap();
    let id = id.unwrap();
    let mut intruder = TestClient::with_key(&app, &d.keys.all);
    intruder.initialize().await;
    let refused = intruder.send_with(Method::GET, "/mcp", None, &[SSE, ("last-event-id", &id)]).await;
    assert_eq!(refused.status, 400, "{refused:?}");
    assert!(refused.text.contains("no event of this session"), "{}", refused.text);
    for forged in ["garbage", "x.y", "../../etc.1"] {
        let reply = intruder.send_with(Method::GET, "/mcp", None, &[SSE, ("last-event-id", forged)]).await;
        assert_eq!(reply.status, 400, "{forged}");
    }
}

#[tokio::test]
async fn without_standalone_streams_get_is_405_and_nothing_needing_them_is_advertised() {
    for mode in ["off", "replies"] {
        let d = Deployment::new(&[("GATEWAY_STREAMING", mode)]).await;
        let app = d.instance();
        let mut client = TestClient::with_key(&app, &d.keys.all);
        let init = client.initialize().await;
        let capabilities = &init.result()["capabilities"];
        assert_eq!(
            (capabilities["tools"].clone(), capabilities["resources"].clone()),
            (json!({}), json!({})),
            "{mode}"
        );
        assert_eq!(client.send_with(Method::GET, "/mcp", None, &[SSE]).await.status, 405, "{mode}");
        let subscribe = client.rpc("resources/subscribe", json!({ "uri": "fake://doc/1" })).await;
        assert_eq!(subscribe.error_code(), Some(-32601), "{mode}");
    }
    let d = Deployment::new(&[ON]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    let capabilities = client.initialize().await.result()["capabilities"].clone();
    assert_eq!(capabilities["tools"], json!({ "listChanged": true }));
    assert_eq!(capabilities["resources"], json!({ "listChanged": true, "subscribe": true }));
    assert_eq!(capabilities["prompts"], json!({}), "the backend does not announce prompt changes");
}

#[tokio::test]
async fn each_era_is_listed_and_may_call_only_its_own_catalog() {
    let d = Deployment::with_backend(FakeBackend::start_modern().await, &[]);
    let app = d.instance();
    let mut legacy = TestClient::with_key(&app, &d.keys.all);
    legacy.initialize().await;
    let modern = TestClient::with_key(&app, &d.keys.all);
    for _ in 0..2 {
        // Twice: the second time from the caches of both eras, which must not mix.
        let legacy_names = tool_names(legacy.rpc("tools/list", json!({})).await.result());
        let modern_names = tool_names(modern.modern("tools/list", json!({})).await.result());
        assert!(!legacy_names.contains(&"fake_modern_only".into()), "{legacy_names:?}");
        assert!(modern_names.contains(&"fake_modern_only".into()), "{modern_names:?}");
    }
    assert_eq!(
        modern.modern("tools/call", json!({ "name": "fake_modern_only", "arguments": {} })).await.tool_text(),
        "a 2026-07-28 tool"
    );
    let refused = legacy.call_tool("fake_modern_only", json!({})).await;
    assert_eq!(refused.error_code(), Some(-32602), "{refused:?}");
    assert!(
        d.backend.calls_of("modern_only").iter().all(|c| c["_meta"].is_object()),
        "only the modern call reached it"
    );
}

#[tokio::test]
async fn unlisted_tools_reach_a_backend_only_if_it_asks_for_them() {
    let backend = FakeBackend::start().await;
    let mut config: Value = serde_json::from_str(&backends_json(&[("fake", &backend.url())])).unwrap();
    let plain = Deployment::with_backend(backend.clone(), &[]);
    let app = plain.instance();
    let mut client = TestClient::with_key(&app, &plain.keys.all);
    client.initialize().await;
    assert_eq!(client.call_tool("fake_hook", json!({})).await.error_code(), Some(-32602));
    assert!(backend.calls_of("hook").is_empty(), "an unlisted name never reaches a backend that did not ask");

    config["backends"][0]["forwardUnlistedTools"] = json!(true);
    let forwarding = Deployment::with_backend(backend.clone(), &[("GATEWAY_BACKENDS_JSON", &config.to_string())]);
    let app = forwarding.instance();
    let mut client = TestClient::with_key(&app, &forwarding.keys.all);
    client.initialize().await;
    let reply = client.call_tool("fake_hook", json!({})).await;
    assert_eq!(reply.json["error"]["message"], "Unknown tool: hook", "the backend's own answer: {reply:?}");
    assert_eq!(backend.calls_of("hook").len(), 1);
    let mut adder = TestClient::with_key(&app, &forwarding.keys.adder);
    adder.initialize().await;
    assert_eq!(adder.call_tool("fake_hook", json!({})).await.error_code(), Some(-32602), "scopes still apply");
    assert_eq!(backend.calls_of("hook").len(), 1);
}
