//! Streamed exchanges against a loopback HTTP server: what the listener hears, how a stream that ends
//! early is resumed, the size bounds, and the long-lived streams.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::{
    backend::{
        testing::{HttpStub, Recorded, Reply as StubReply},
        Backend, BackendError, Listener, McpHttpClient, Reply,
    },
    Config,
};

fn config(url: &str, extra: Value) -> Config {
    let mut backend = json!({ "id": "a", "url": url });
    backend.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let json = json!({ "backends": [backend] }).to_string();
    Config::from_lookup(move |k| match k {
        "GATEWAY_BACKENDS_JSON" => Some(json.clone()),
        "GATEWAY_ALLOW_LOOPBACK_BACKENDS" => Some("1".into()),
        _ => None,
    })
    .expect("valid test configuration")
}

fn backend(config: &Config) -> Arc<Backend> {
    config.backends.iter().next().expect("one backend").clone()
}

fn id_of(r: &Recorded) -> Value {
    serde_json::from_str::<Value>(&r.body).unwrap_or_default()["id"].clone()
}

/// Remembers everything, answers requests with `answer`.
#[derive(Default)]
struct Heard {
    notifications: Mutex<Vec<Value>>,
    requests: Mutex<Vec<Value>>,
}

#[async_trait]
impl Listener for Heard {
    async fn notification(&self, message: Value) {
        self.notifications.lock().unwrap().push(message);
    }

    async fn request(&self, message: Value) -> Option<Value> {
        self.requests.lock().unwrap().push(message.clone());
        Some(json!({ "jsonrpc": "2.0", "id": message["id"], "result": { "action": "decline" } }))
    }
}

#[tokio::test]
async fn the_listener_hears_everything_before_the_response_and_immediate_answers_are_posted() {
    let stub = HttpStub::start(|r: &Recorded| {
        let body: Value = serde_json::from_str(&r.body).unwrap_or_default();
        if body.get("method").is_none() {
            return StubReply::Full(202, "application/json", String::new()); // the answer to our request
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let progress = json!({ "jsonrpc": "2.0", "method": "notifications/progress", "params": { "progressToken": 1, "progress": 1 } });
        let ask = json!({ "jsonrpc": "2.0", "id": "s-1", "method": "elicitation/create", "params": {} });
        let result = json!({ "jsonrpc": "2.0", "id": id_of(r), "result": { "ok": true } });
        let _ = tx.send(format!("id: 1\ndata: \n\ndata: {progress}\n\ndata: {ask}\n\ndata: {result}\n\n"));
        StubReply::Stream(200, "text/event-stream", rx)
    })
    .await;
    let cfg = config(stub.url("/mcp").as_str(), json!({}));
    let client = McpHttpClient::new(&cfg).unwrap();
    let (heard, b) = (Heard::default(), backend(&cfg));
    let reply = client.request_streamed(&b, Some("s"), "2025-11-25", "tools/call", json!({}), &heard).await;
    assert_eq!(reply.unwrap(), Reply::Result(json!({ "ok": true })));
    assert_eq!(heard.notifications.lock().unwrap()[0]["method"], "notifications/progress");
    assert_eq!(heard.requests.lock().unwrap()[0]["id"], "s-1");
    let answer = stub.requests().into_iter().find(|r| r.body.contains("decline")).expect("the answer was posted");
    assert_eq!(answer.header("mcp-session-id"), Some("s"));
}

#[tokio::test]
async fn a_stream_that_ends_after_its_priming_event_is_resumed_at_once_from_that_event() {
    let posted: Arc<Mutex<Value>> = Arc::default();
    let seen = posted.clone();
    let stub = HttpStub::start(move |r: &Recorded| match r.method.as_str() {
        "POST" => {
            *seen.lock().unwrap() = id_of(r);
            let (tx, rx) = mpsc::unbounded_channel();
            let _ = tx.send("id: e-1\nretry: 60000\ndata: \n\n".to_owned());
            StubReply::Stream(200, "text/event-stream", rx) // closes after the priming event
        }
        _ => {
            let (tx, rx) = mpsc::unbounded_channel();
            let id = seen.lock().unwrap().clone();
            let result = json!({ "jsonrpc": "2.0", "id": id, "result": { "resumed": r.header("last-event-id") } });
            let _ = tx.send(format!("id: e-2\ndata: {result}\n\n"));
            StubReply::Stream(200, "text/event-stream", rx)
        }
    })
    .await;
    let cfg = config(stub.url("/mcp").as_str(), json!({}));
    let client = McpHttpClient::new(&cfg).unwrap();
    let started = std::time::Instant::now();
    let (heard, b) = (Heard::default(), backend(&cfg));
    let reply = client.request_streamed(&b, Some("s"), "2025-11-25", "x", json!({}), &heard).await;
    assert_eq!(reply.unwrap(), Reply::Result(json!({ "resumed": "e-1" })));
    assert!(started.elapsed() < std::time::Duration::from_millis(1500), "at once, not after the retry hint");
    let get = stub.requests().into_iter().find(|r| r.method == "GET").unwrap();
    assert_eq!((get.header("mcp-session-id"), get.header("accept")), (Some("s"), Some("text/event-stream")));
}

#[tokio::test]
async fn one_event_over_the_bound_ends_the_exchange_as_too_large() {
    let stub = HttpStub::start(|_: &Recorded| {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(format!("data: {}", "x".repeat(4000)));
        let _ = tx.send("y".repeat(4000));
        StubReply::Stream(200, "text/event-stream", rx)
    })
    .await;
    let cfg = config(stub.url("/mcp").as_str(), json!({ "maxResponseBytes": 4096 }));
    let client = McpHttpClient::new(&cfg).unwrap();
    let (heard, b) = (Heard::default(), backend(&cfg));
    let err = client.request_streamed(&b, None, "2025-11-25", "x", json!({}), &heard).await;
    assert!(matches!(err.unwrap_err(), BackendError::TooLarge(4096)));
}

#[tokio::test]
async fn a_listen_stream_may_be_newline_delimited_json() {
    let stub = HttpStub::start(|_: &Recorded| {
        let (tx, rx) = mpsc::unbounded_channel();
        let ack = json!({ "jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged", "params": {} });
        let _ = tx.send(format!("{ack}\n{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/"));
        let _ = tx.send("list_changed\"}\n".to_owned());
        StubReply::Stream(200, "application/json", rx)
    })
    .await;
    let cfg = config(stub.url("/mcp").as_str(), json!({}));
    let client = McpHttpClient::new(&cfg).unwrap();
    let mut stream = client.listen(&backend(&cfg), json!({})).await.unwrap().expect("a stream");
    assert_eq!(stream.next().await.unwrap().unwrap()["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(stream.next().await.unwrap().unwrap()["method"], "notifications/tools/list_changed");
    assert!(stream.next().await.unwrap().is_none());
}

#[tokio::test]
async fn a_backend_without_a_standalone_stream_offers_none() {
    let stub = HttpStub::start(|_: &Recorded| StubReply::Full(405, "text/plain", String::new())).await;
    let cfg = config(stub.url("/mcp").as_str(), json!({}));
    let client = McpHttpClient::new(&cfg).unwrap();
    assert!(client.open_stream(&backend(&cfg), "s", "2025-11-25", None).await.unwrap().is_none());
}
