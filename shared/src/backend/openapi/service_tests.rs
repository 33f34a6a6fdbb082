//! OpenAPI backends through the client's MCP entry points, against a real (loopback) HTTP service:
//! documents fetched from a URL, requests on the wire, answers and outages, the breaker.

use std::sync::Arc;

use serde_json::{json, Value};

use super::tests::items_api;
use crate::{
    backend::{
        testing::{HttpStub, Recorded, Reply as StubReply},
        BackendError, BreakerState, McpHttpClient, Reply,
    },
    Config,
};

fn config(backend: Value) -> Config {
    let json = json!({ "backends": [backend] }).to_string();
    Config::from_lookup(move |k| match k {
        "GATEWAY_BACKENDS_JSON" => Some(json.clone()),
        "GATEWAY_ALLOW_LOOPBACK_BACKENDS" => Some("1".into()),
        _ => None,
    })
    .expect("valid test configuration")
}

/// A tiny items service: GET /api/items/{id} (404 for 404, 500 for 500), and its own document.
fn service(r: &Recorded) -> StubReply {
    match r.path.as_str() {
        "/openapi.json" => {
            let mut d = items_api();
            d["servers"] = json!([{ "url": "/api" }]);
            StubReply::Full(200, "application/json", d.to_string())
        }
        "/metadata.json" => {
            let mut d = items_api();
            d["servers"] = json!([{ "url": "http://169.254.169.254/latest" }]);
            StubReply::Full(200, "application/json", d.to_string())
        }
        "/moved.json" => {
            StubReply::Headed(302, "text/plain", vec![("location", "/openapi.json".into())], String::new())
        }
        p if p.starts_with("/api/items/404") => {
            StubReply::Full(404, "application/json", r#"{"detail":"no such item"}"#.into())
        }
        p if p.starts_with("/api/items/500") => StubReply::Full(500, "text/plain", "boom".into()),
        p if p.starts_with("/api/items/") => {
            let echo = json!({ "path": p, "trace": r.header("x-trace"), "auth": r.header("authorization"), "tenant": r.header("x-tenant") });
            StubReply::Full(200, "application/json", echo.to_string())
        }
        _ => StubReply::Full(404, "text/plain", "not here".into()),
    }
}

async fn call(client: &McpHttpClient, config: &Config, name: &str, arguments: Value) -> Result<Reply, BackendError> {
    let backend = config.backends.iter().next().unwrap().clone();
    client.request(&backend, None, "2025-11-25", "tools/call", json!({ "name": name, "arguments": arguments })).await
}

fn result(reply: Result<Reply, BackendError>) -> Value {
    match reply {
        Ok(Reply::Result(result)) => result,
        other => panic!("not a result: {other:?}"),
    }
}

#[tokio::test]
async fn a_document_from_a_url_drives_real_requests() {
    let stub = HttpStub::start(service).await;
    let cfg = config(json!({ "id": "api", "type": "openapi", "spec": stub.url("/openapi.json").as_str(),
        "headers": { "x-tenant": "t1" }, "circuitBreaker": { "failureThreshold": 2, "openMs": 60000 } }));
    let client = McpHttpClient::new(&cfg).unwrap();
    let backend = cfg.backends.iter().next().unwrap().clone();
    let Reply::Result(list) = client.request(&backend, None, "2025-11-25", "tools/list", json!({})).await.unwrap()
    else {
        panic!("tools/list failed")
    };
    assert_eq!(list["tools"][0]["name"], "getItem");

    let ok = result(call(&client, &cfg, "getItem", json!({ "item_id": 7, "X-Trace": "abc" })).await);
    assert_eq!(ok["structuredContent"]["path"], "/api/items/7");
    assert_eq!(ok["structuredContent"]["trace"], "abc");
    assert_eq!(ok["structuredContent"]["tenant"], "t1", "the backend's own headers are sent");

    let not_found = result(call(&client, &cfg, "getItem", json!({ "item_id": 404 })).await);
    assert_eq!(not_found["isError"], true);
    let text = not_found["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("HTTP 404") && text.contains("no such item"), "{text}");
    assert_eq!(client.breaker("api").unwrap().state, BreakerState::Closed, "a 4xx is an answer");

    let sent = stub.requests().len();
    let refused = result(call(&client, &cfg, "getItem", json!({ "item_id": ".." })).await);
    assert_eq!(refused["isError"], true);
    assert_eq!(stub.requests().len(), sent, "a call that cannot be built sends nothing");

    for _ in 0..2 {
        let err = call(&client, &cfg, "getItem", json!({ "item_id": 500 })).await.unwrap_err();
        assert!(matches!(err, BackendError::Status(500)), "{err}");
    }
    assert_eq!(client.breaker("api").unwrap().state, BreakerState::Open, "5xx are outages");
    let fetches = stub.requests().iter().filter(|r| r.path == "/openapi.json").count();
    assert_eq!(fetches, 1, "the document is fetched once");
}

#[tokio::test]
async fn documents_behind_redirects_are_not_followed() {
    let stub = HttpStub::start(service).await;
    let cfg = config(json!({ "id": "api", "type": "openapi", "spec": stub.url("/moved.json").as_str() }));
    let client = McpHttpClient::new(&cfg).unwrap();
    let backend = cfg.backends.iter().next().unwrap().clone();
    let err = client.request(&backend, None, "2025-11-25", "tools/list", json!({})).await.unwrap_err();
    assert!(matches!(err, BackendError::Status(302)), "{err}");
    assert_eq!(stub.requests().len(), 1);
}

#[tokio::test]
async fn inline_documents_with_a_base_url_need_no_fetch() {
    let stub = HttpStub::start(service).await;
    let cfg =
        config(json!({ "id": "api", "type": "openapi", "spec": items_api(), "baseUrl": stub.url("/api").as_str() }));
    let client = Arc::new(McpHttpClient::new(&cfg).unwrap());
    let ok = result(call(&client, &cfg, "getItem", json!({ "item_id": "a b" })).await);
    assert_eq!(ok["structuredContent"]["path"], "/api/items/a%20b");
    assert_eq!(stub.requests().len(), 1);
    let unknown = call(&client, &cfg, "nope", json!({})).await.unwrap();
    assert!(matches!(unknown, Reply::Error(e) if e["code"] == -32602));
}

#[tokio::test]
async fn a_fetched_document_aimed_at_the_metadata_address_is_refused_without_naming_it() {
    let stub = HttpStub::start(service).await;
    let cfg = config(json!({ "id": "api", "type": "openapi", "spec": stub.url("/metadata.json").as_str(),
        "circuitBreaker": { "failureThreshold": 2, "openMs": 60000 } }));
    let client = McpHttpClient::new(&cfg).unwrap();
    let backend = cfg.backends.iter().next().unwrap().clone();
    for _ in 0..2 {
        let err = client.request(&backend, None, "2025-11-25", "tools/list", json!({})).await.unwrap_err();
        assert!(matches!(err, BackendError::InvalidResponse(_)) && !err.to_string().contains("169.254"), "{err}");
    }
    assert_eq!(client.breaker("api").unwrap().state, BreakerState::Open, "the refetches stop");
    let err = client.request(&backend, None, "2025-11-25", "tools/list", json!({})).await.unwrap_err();
    assert!(matches!(err, BackendError::CircuitOpen(_)), "{err}");
    assert_eq!(stub.requests().len(), 2);
}
