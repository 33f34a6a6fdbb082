//! Gateway-added latency of a warm `tools/call` and a warm `tools/list`, in process (plain std::time):
//!
//!     cargo bench -p mcp-gateway-shared --bench gateway > /dev/null    # the report is on stderr
//!
//! The `/mcp` handler exactly as the Lambda function runs it — API-key auth, rate limit, session check,
//! routing, argument validation, PII detokenize/tokenize, telemetry — with in-memory stores (so no AWS
//! I/O is part of the figure) and an in-process MCP backend on loopback. The same backend call made
//! directly with the gateway's HTTP client (reqwest, one pooled connection) is measured alongside; the
//! difference is what the gateway adds. Both are sampled interleaved, so machine noise hits both alike.
//! The backend lists 50 tools with schemas, so a merged `tools/list` is a realistic document (~20 KB).

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Request};
use serde_json::{json, Value};
use shared::{
    testing::{self, Stores, TestKey},
    App,
};
const WARM_UP: usize = 200;
const SAMPLES: usize = 5_000;

/// A ~1 KB tool result without personal data (the tokenizer still scans all of it).
fn result_text() -> String {
    "The quarterly report lists 42 open items, 17 closed since Monday; build 7.3.1 passed. ".repeat(12)
}

/// `echo` and 49 more tools, each with a description and an input schema.
fn tools() -> Vec<Value> {
    let echo = json!({
        "name": "echo",
        "description": "Echo",
        "inputSchema": { "type": "object", "properties": { "text": { "type": "string" } }, "required": ["text"] }
    });
    let others = (1..50).map(|i| {
        json!({
            "name": format!("tool_{i}"),
            "description": format!("Looks up record {i} of the inventory by id and returns its fields and history."),
            "inputSchema": { "type": "object", "properties": {
                "id": { "type": "string", "pattern": "^[a-z0-9-]{1,64}$" },
                "fields": { "type": "array", "items": { "type": "string" }, "maxItems": 20 },
                "limit": { "type": "integer", "minimum": 1, "maximum": 100 }
            }, "required": ["id"], "additionalProperties": false }
        })
    });
    std::iter::once(echo).chain(others).collect()
}

/// The backend: answers initialize, tools/list (the 50 tools above) and tools/call as JSON.
async fn backend(request: hyper::Request<hyper::body::Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let id = message.get("id").cloned();
    let result = match message.get("method").and_then(Value::as_str) {
        Some("initialize") => json!({
            "protocolVersion": "2025-11-25",
            "capabilities": { "tools": {} },
            "serverInfo": { "name": "bench-backend", "version": "1" }
        }),
        Some("tools/list") => json!({ "tools": tools() }),
        Some("tools/call") => json!({ "content": [{ "type": "text", "text": result_text() }] }),
        _ => json!({}),
    };
    let builder = hyper::Response::builder().header("content-type", "application/json").header("mcp-session-id", "b-1");
    Ok(match id {
        None => builder.status(202).body(Full::new(Bytes::new())).unwrap(),
        Some(id) => {
            let reply = json!({ "jsonrpc": "2.0", "id": id, "result": result });
            builder.status(200).body(Full::new(Bytes::from(reply.to_string()))).unwrap()
        }
    })
}

async fn start_backend() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(backend)));
        }
    });
    addr
}

fn app(backend: SocketAddr, key: &TestKey) -> Arc<App> {
    let backends = json!({ "backends": [{ "id": "bench", "url": format!("http://{backend}/mcp") }] }).to_string();
    let vars = [
        ("GATEWAY_BACKENDS_JSON", backends.as_str()),
        ("AUTH_MODE", "api-key"),
        ("RATE_LIMIT_PER_PRINCIPAL", "1000000"),
    ];
    Arc::new(testing::app(&vars, &Stores::with_keys(std::slice::from_ref(key))))
}

fn mcp_request(body: &Value, session: Option<&str>, key: &TestKey) -> Request {
    let mut builder = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("authorization", key.bearer());
    if let Some(session) = session {
        builder = builder.header("mcp-session-id", session);
    }
    builder.body(Body::Text(body.to_string())).expect("request")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let backend_addr = start_backend().await;
    let key = TestKey::new("bench", &["*"]);
    let app = app(backend_addr, &key);
    app.auth.prime().await;
    let init = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "bench", "version": "1" } } });
    let response = shared::mcp::handler::handle(&app, mcp_request(&init, None, &key)).await;
    assert_eq!(response.status(), 200, "initialize");
    let session = response.headers()["mcp-session-id"].to_str().expect("session id").to_owned();
    let call = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "bench_echo", "arguments": { "text": "hello" } } });

    let direct = reqwest::Client::new();
    let backend_url = format!("http://{backend_addr}/mcp");
    let direct_body = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": { "name": "echo", "arguments": { "text": "hello" } } })
    .to_string();
    let (mut through, mut plain) = (Vec::with_capacity(SAMPLES), Vec::with_capacity(SAMPLES));
    for i in 0..WARM_UP + SAMPLES {
        let started = Instant::now();
        let response = shared::mcp::handler::handle(&app, mcp_request(&call, Some(&session), &key)).await;
        let gateway = started.elapsed();
        assert_eq!(response.status(), 200, "tools/call");
        let started = Instant::now();
        let reply = direct
            .post(&backend_url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", "b-1")
            .body(direct_body.clone())
            .send()
            .await
            .expect("direct call");
        let bytes = reply.bytes().await.expect("direct body");
        let backend = started.elapsed();
        assert!(bytes.len() > 1000);
        if i >= WARM_UP {
            through.push(gateway);
            plain.push(backend);
        }
    }
    through.sort();
    plain.sort();
    eprintln!(
        "warm tools/call, {SAMPLES} samples after {WARM_UP} warm-up (api-key auth, rate limit, PII on; memory stores)"
    );
    eprintln!("{:<28} {:>10} {:>10} {:>10}", "", "p50", "p90", "p99");
    for (name, samples) in [("through the /mcp handler", &through), ("backend directly", &plain)] {
        let row: Vec<String> = [0.5, 0.9, 0.99].iter().map(|p| micros(percentile(samples, *p))).collect();
        eprintln!("{name:<28} {:>10} {:>10} {:>10}", row[0], row[1], row[2]);
    }
    let added: Vec<String> = [0.5, 0.9, 0.99]
        .iter()
        .map(|p| micros(percentile(&through, *p).saturating_sub(percentile(&plain, *p))))
        .collect();
    eprintln!("{:<28} {:>10} {:>10} {:>10}", "added by the gateway", added[0], added[1], added[2]);
    lists(&app, &session, &key).await;
}

/// A warm merged `tools/list` (50 tools, served from the instance's list cache): the gateway's own work.
async fn lists(app: &Arc<App>, session: &str, key: &TestKey) {
    let list = json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {} });
    let mut samples = Vec::with_capacity(SAMPLES / 5);
    let mut bytes = 0;
    for i in 0..WARM_UP + SAMPLES / 5 {
        let started = Instant::now();
        let response = shared::mcp::handler::handle(app, mcp_request(&list, Some(session), key)).await;
        let elapsed = started.elapsed();
        assert_eq!(response.status(), 200, "tools/list");
        if let Body::Text(text) = response.into_body().collect().await {
            bytes = text.len();
        }
        if i >= WARM_UP {
            samples.push(elapsed);
        }
    }
    samples.sort();
    let row: Vec<String> = [0.5, 0.9, 0.99].iter().map(|p| micros(percentile(&samples, *p))).collect();
    eprintln!("{:<28} {:>10} {:>10} {:>10}   ({bytes} bytes)", "warm tools/list, 50 tools", row[0], row[1], row[2]);
}
