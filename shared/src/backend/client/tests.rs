//! The client against a real (loopback) HTTP server: what goes on the wire, and how each misbehaviour
//! of a backend ends.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::*;
use crate::backend::{
    credentials::{BackendCredentials, MemorySecretSource},
    testing::{HttpStub, Recorded, Reply as StubReply},
    BreakerState, NetworkPolicy,
};
use crate::{backend::guard::GuardedResolver, Config};

const LOOPBACK: NetworkPolicy = NetworkPolicy { allow_private: false, allow_loopback: true };

fn config(backends: Value) -> Config {
    let json = json!({ "backends": backends }).to_string();
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

/// A JSON-RPC result for the request in `body` (by its id).
fn result_for(body: &str, result: Value) -> String {
    let request: Value = serde_json::from_str(body).unwrap_or_default();
    json!({ "jsonrpc": "2.0", "id": request["id"], "result": result }).to_string()
}

fn initialize_result() -> Value {
    json!({ "protocolVersion": "2025-11-25", "capabilities": { "tools": {} }, "serverInfo": { "name": "stub", "version": "1" } })
}

/// A Streamable HTTP backend answering every request with JSON (`initialize` with its result, anything
/// else with an empty tool list) and notifications with 202.
fn streamable(r: &Recorded) -> StubReply {
    let request: Value = serde_json::from_str(&r.body).unwrap_or_default();
    match request["method"].as_str() {
        Some("initialize") => StubReply::Full(200, "application/json", result_for(&r.body, initialize_result())),
        _ if request.get("id").is_none() => StubReply::Full(202, "application/json", String::new()),
        _ => StubReply::Full(200, "application/json", result_for(&r.body, json!({ "tools": [] }))),
    }
}

#[tokio::test]
async fn only_the_backends_own_credential_is_sent() {
    let stub = HttpStub::start(streamable).await;
    let plain = config(json!([{ "id": "a", "url": stub.url("/mcp").as_str(), "headers": { "x-tenant": "t1" } }]));
    let client = McpHttpClient::new(&plain).unwrap();
    client.initialize(&backend(&plain), "2025-11-25").await.unwrap();
    for request in stub.requests() {
        assert_eq!(request.header("authorization"), None, "{request:?}");
        assert_eq!(request.header("x-tenant"), Some("t1"));
    }

    let with_auth = config(
        json!([{ "id": "a", "url": stub.url("/mcp").as_str(), "auth": { "type": "bearer", "secret": "mcp-gateway/backends/a" } }]),
    );
    let mut client = McpHttpClient::new(&with_auth).unwrap();
    let secrets = Arc::new(MemorySecretSource::new(&[("mcp-gateway/backends/a", "backend-token")]));
    client.set_credentials(Arc::new(
        BackendCredentials::new(secrets.clone(), LOOPBACK, Duration::from_secs(60)).unwrap(),
    ));
    let b = backend(&with_auth);
    client.request(&b, None, "2025-11-25", "tools/list", json!({})).await.unwrap();
    client.request(&b, None, "2025-11-25", "tools/list", json!({})).await.unwrap();
    let last = stub.requests().pop().unwrap();
    assert_eq!(last.header("authorization"), Some("Bearer backend-token"));
    assert_eq!(secrets.reads(), 1, "the secret is cached, not read per request");
}

#[tokio::test]
async fn failures_open_the_breaker_and_then_nothing_is_sent() {
    let stub = HttpStub::start(|_| (500, "text/plain", "boom".to_owned())).await;
    let cfg = config(
        json!([{ "id": "a", "url": stub.url("/mcp").as_str(), "circuitBreaker": { "failureThreshold": 2, "openMs": 60000 } }]),
    );
    let client = McpHttpClient::new(&cfg).unwrap();
    let b = backend(&cfg);
    for _ in 0..2 {
        let err = client.request(&b, None, "2025-11-25", "tools/list", json!({})).await.unwrap_err();
        assert!(matches!(err, BackendError::Status(500)), "{err}");
    }
    assert_eq!(client.breaker("a").unwrap().state, BreakerState::Open);
    let err = client.request(&b, None, "2025-11-25", "tools/list", json!({})).await.unwrap_err();
    assert!(matches!(err, BackendError::CircuitOpen(_)), "{err}");
    assert_eq!(stub.requests().len(), 2, "an open breaker sends nothing");
    // Health probes bypass breakers.
    assert!(McpHttpClient::for_probes(&cfg).unwrap().breaker("a").is_none());
}

#[tokio::test]
async fn json_rpc_errors_are_answers_not_outages() {
    let stub = HttpStub::start(|r: &Recorded| {
        let request: Value = serde_json::from_str(&r.body).unwrap_or_default();
        let error = json!({ "jsonrpc": "2.0", "id": request["id"], "error": { "code": -32602, "message": "bad" } });
        (200, "application/json", error.to_string())
    })
    .await;
    let cfg =
        config(json!([{ "id": "a", "url": stub.url("/mcp").as_str(), "circuitBreaker": { "failureThreshold": 1 } }]));
    let client = McpHttpClient::new(&cfg).unwrap();
    let reply = client.request(&backend(&cfg), None, "2025-11-25", "tools/call", json!({})).await.unwrap();
    assert!(matches!(reply, Reply::Error(e) if e["code"] == -32602));
    assert_eq!(client.breaker("a").unwrap().state, BreakerState::Closed);
}

#[tokio::test]
async fn slow_huge_garbage_and_broken_streams_end_in_clear_errors() {
    // Slow: headers, then a body that never comes.
    let keep: Arc<Mutex<Vec<mpsc::UnboundedSender<String>>>> = Arc::default();
    let held = keep.clone();
    let slow = HttpStub::start(move |_| {
        let (tx, rx) = mpsc::unbounded_channel();
        held.lock().unwrap().push(tx);
        StubReply::Stream(200, "application/json", rx)
    })
    .await;
    let cfg = config(json!([{ "id": "a", "url": slow.url("/mcp").as_str(), "timeoutMs": 300 }]));
    let started = std::time::Instant::now();
    let err = McpHttpClient::new(&cfg)
        .unwrap()
        .request(&backend(&cfg), None, "2025-11-25", "x", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::Timeout(_)) && started.elapsed() < Duration::from_secs(2), "{err}");

    let huge = HttpStub::start(|_| (200, "application/json", format!("{{\"pad\":\"{}\"}}", "x".repeat(4096)))).await;
    let cfg = config(json!([{ "id": "a", "url": huge.url("/mcp").as_str(), "maxResponseBytes": 1024 }]));
    let err = McpHttpClient::new(&cfg)
        .unwrap()
        .request(&backend(&cfg), None, "2025-11-25", "x", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::TooLarge(1024)), "{err}");

    let garbage = HttpStub::start(|_| (200, "application/json", "{not json".to_owned())).await;
    let cfg = config(json!([{ "id": "a", "url": garbage.url("/mcp").as_str() }]));
    let err = McpHttpClient::new(&cfg)
        .unwrap()
        .request(&backend(&cfg), None, "2025-11-25", "x", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::InvalidResponse(_)) && err.is_outage(), "{err}");

    // An SSE reply that stops mid-event.
    let broken = HttpStub::start(|_| {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send("event: message\ndata: {\"jsonrpc\":\"2.0\",".to_owned());
        StubReply::Stream(200, "text/event-stream", rx)
    })
    .await;
    let cfg = config(json!([{ "id": "a", "url": broken.url("/mcp").as_str() }]));
    let err = McpHttpClient::new(&cfg)
        .unwrap()
        .request(&backend(&cfg), None, "2025-11-25", "x", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, BackendError::InvalidResponse(_)), "{err}");
}

/// A 2024-11-05 backend: GET opens the stream and names `/messages?s=1`; replies to POSTed requests
/// arrive on the stream, after a `tools/list_changed` notification. POST to the stream URL is 405.
fn legacy_backend(endpoint: &'static str) -> impl Fn(&Recorded) -> StubReply + Send + Sync + 'static {
    let stream: Arc<Mutex<Option<mpsc::UnboundedSender<String>>>> = Arc::default();
    move |r: &Recorded| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/sse") => {
            let (tx, rx) = mpsc::unbounded_channel();
            let _ = tx.send(format!("event: endpoint\ndata: {endpoint}\n\n"));
            *stream.lock().unwrap() = Some(tx);
            StubReply::Stream(200, "text/event-stream", rx)
        }
        ("POST", path) if path.starts_with("/messages") => {
            let request: Value = serde_json::from_str(&r.body).unwrap_or_default();
            if let (Some(tx), Some(_)) = (stream.lock().unwrap().as_ref(), request.get("id")) {
                let result = match request["method"].as_str() {
                    Some("initialize") => initialize_result(),
                    _ => json!({ "tools": [{ "name": "echo" }] }),
                };
                let note = json!({ "jsonrpc": "2.0", "method": "notifications/tools/list_changed" });
                let _ = tx.send(format!(
                    "event: message\ndata: {note}\n\nevent: message\ndata: {}\n\n",
                    result_for(&r.body, result)
                ));
            }
            StubReply::Full(202, "text/plain", "Accepted".into())
        }
        _ => StubReply::Full(405, "text/plain", String::new()),
    }
}

#[tokio::test]
async fn legacy_sse_backends_work_per_request_and_auto_falls_back_to_them() {
    let stub = HttpStub::start(legacy_backend("/messages?s=1")).await;
    for transport in ["sse", "auto"] {
        let cfg = config(json!([{ "id": "a", "url": stub.url("/sse").as_str(), "transport": transport }]));
        let client = McpHttpClient::new(&cfg).unwrap();
        let b = backend(&cfg);
        let handshake = client.initialize(&b, "2025-11-25").await.unwrap();
        assert_eq!((handshake.session_id, client.transport(&b)), (None, Transport::Sse), "{transport}");
        client.lists().put("a", crate::protocol::Era::Legacy, "tools/list", None, Some(json!({ "tools": [] }).into()));
        let reply = client.request(&b, None, "2025-11-25", "tools/list", json!({})).await.unwrap();
        assert_eq!(reply, Reply::Result(json!({ "tools": [{ "name": "echo" }] })));
        let cached = client.lists().get("a", crate::protocol::Era::Legacy, "tools/list", None);
        assert!(cached.is_none(), "list_changed on the stream drops the cache");
    }
    let posts: Vec<Value> = stub
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| serde_json::from_str(&r.body).ok())
        .collect();
    let methods: Vec<&str> = posts.iter().filter_map(|p| p["method"].as_str()).collect();
    assert!(methods.windows(3).any(|w| w == ["initialize", "notifications/initialized", "tools/list"]), "{methods:?}");
}

#[tokio::test]
async fn an_sse_endpoint_on_another_origin_is_refused() {
    let stub = HttpStub::start(legacy_backend("http://169.254.169.254/latest/meta-data/")).await;
    let cfg = config(json!([{ "id": "a", "url": stub.url("/sse").as_str(), "transport": "sse" }]));
    let err = McpHttpClient::new(&cfg).unwrap().initialize(&backend(&cfg), "2025-11-25").await.unwrap_err();
    assert!(err.to_string().contains("another origin"), "{err}");
    assert!(stub.requests().iter().all(|r| r.method == "GET"), "nothing was posted anywhere");
}

#[tokio::test]
async fn names_resolving_to_refused_addresses_are_not_connected_to() {
    let stub = HttpStub::start(streamable).await;
    let url = stub.url("/mcp").to_string().replace("127.0.0.1", "localhost");
    let json = json!({ "backends": [{ "id": "a", "url": url }] }).to_string();
    // Private networks allowed, loopback not: the name passes the config check, its address does not.
    let cfg = Config::from_lookup(move |k| match k {
        "GATEWAY_BACKENDS_JSON" => Some(json.clone()),
        "GATEWAY_ALLOW_PRIVATE_BACKENDS" => Some("1".into()),
        _ => None,
    });
    let err = cfg.expect_err("localhost is loopback even as a name").to_string();
    assert!(err.contains("GATEWAY_ALLOW_LOOPBACK_BACKENDS"), "{err}");

    // At connect time: the same name through the client the backends use (its resolver is the guard),
    // as a name that re-resolved to loopback after the config check would be.
    let strict = GuardedResolver::new(NetworkPolicy::default()).client_builder().build().unwrap();
    let err = strict.get(url).send().await.unwrap_err();
    let cause = BackendError::Connect(err).root_cause();
    assert!(cause.contains("loopback"), "{cause}");
    assert!(stub.requests().is_empty(), "nothing reached the server");
}

#[tokio::test]
async fn only_a_definite_handshake_era_answer_to_server_discover_is_remembered() {
    // 503 twice (an outage says nothing of the era), then 404 (a session-less request refused).
    let answered = Arc::new(Mutex::new(0));
    let count = answered.clone();
    let stub = HttpStub::start(move |_| {
        let mut n = count.lock().unwrap();
        *n += 1;
        if *n <= 2 {
            (503, "text/plain", "busy".to_owned())
        } else {
            (404, "text/plain", "no session".to_owned())
        }
    })
    .await;
    let cfg = config(json!([{ "id": "a", "url": stub.url("/mcp").as_str() }]));
    let client = McpHttpClient::new(&cfg).unwrap();
    let b = backend(&cfg);
    for _ in 0..5 {
        assert!(client.discover(&b).await.unwrap().is_none());
    }
    assert_eq!(stub.requests().len(), 3, "asked while the answers said nothing, then not again");
    // A changed backend is asked again: what was learned of it is forgotten.
    let changed = config(json!([{ "id": "a", "url": stub.url("/mcp").as_str(), "timeoutMs": 9000 }]));
    client.replace_backends(changed.backends.clone()).unwrap();
    assert!(client.discover(&backend(&changed)).await.unwrap().is_none());
    assert_eq!(stub.requests().len(), 4);
}
