//! The meta-tools measured in process (plain std::time; tokens with tiktoken-rs' cl100k BPE):
//!
//!     cargo bench -p mcp-gateway-shared --bench meta > /dev/null    # the report is on stderr
//!
//! 1. Tokens a model gets in context from `tools/list` in full and in lite mode, for a generated catalog of
//!    1 000 tools on 20 backends (see `catalog`), and the tokens of a search → describe → call flow
//!    (arguments written by the model + result texts read), against the full-mode equivalent.
//! 2. Search latency over 5 000 tools (100 backends): the ranking alone (`SearchIndex`, p50/p90/p99 over
//!    varied queries), and `gateway_search_tools` through the `/mcp` handler (api-key auth, rate limit,
//!    session, JSON), warm. Memory stores, in-process MCP backends on loopback.

mod catalog;

use std::{
    convert::Infallible,
    net::SocketAddr,
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use lambda_http::{Body, Request};
use serde_json::{json, Value};
use shared::{
    meta::search::{render, Detail, Entry, Query, SearchIndex},
    testing::{self, Stores, TestKey},
    App,
};

/// Backend `i`: the service it imitates and its id (`jira`, or `jira3` past the first twenty).
fn backend_id(i: usize) -> String {
    let service = catalog::SERVICES[i % catalog::SERVICES.len()];
    match i / catalog::SERVICES.len() {
        0 => service.to_owned(),
        n => format!("{service}{n}"),
    }
}

fn backend_tools(i: usize) -> Vec<Value> {
    catalog::tools(catalog::SERVICES[i % catalog::SERVICES.len()], 7 + i as u64)
}

/// One server for every backend: `/b<i>/mcp` is backend `i`.
async fn serve(request: hyper::Request<hyper::body::Incoming>) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let backend: usize =
        request.uri().path().trim_start_matches("/b").split('/').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let result = match message.get("method").and_then(Value::as_str) {
        Some("initialize") => json!({ "protocolVersion": "2025-11-25", "capabilities": { "tools": {} },
                                      "serverInfo": { "name": "bench", "version": "1" } }),
        Some("tools/list") => json!({ "tools": backend_tools(backend) }),
        Some("tools/call") => catalog::call_result(message["params"]["name"].as_str().unwrap_or_default()),
        _ => json!({}),
    };
    let builder = hyper::Response::builder().header("content-type", "application/json").header("mcp-session-id", "s-1");
    Ok(match message.get("id") {
        None => builder.status(202).body(Full::new(Bytes::new())).unwrap(),
        Some(id) => {
            let reply = json!({ "jsonrpc": "2.0", "id": id, "result": result });
            builder.status(200).body(Full::new(Bytes::from(reply.to_string()))).unwrap()
        }
    })
}

async fn start_backends() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service_fn(serve)));
        }
    });
    addr
}

/// A client of one gateway app with its own session.
struct Client {
    app: std::sync::Arc<App>,
    key: TestKey,
    session: String,
    next: u64,
}

impl Client {
    async fn new(addr: SocketAddr, backends: usize, mode: &str) -> Self {
        let entries: Vec<Value> = (0..backends)
            .map(|i| json!({ "id": backend_id(i), "url": format!("http://{addr}/b{i}/mcp"), "prefix": backend_id(i) }))
            .collect();
        let backends_json = json!({ "backends": entries }).to_string();
        let key = TestKey::new("bench", &["gateway:call", "tool:*"]);
        let vars = [
            ("GATEWAY_BACKENDS_JSON", backends_json.as_str()),
            ("AUTH_MODE", "api-key"),
            ("RATE_LIMIT_PER_PRINCIPAL", "1000000"),
            ("GATEWAY_TOOLS_MODE", mode),
            ("GATEWAY_BACKEND_CONCURRENCY", "64"),
        ];
        let app = testing::app(&vars, &Stores::with_keys(std::slice::from_ref(&key)));
        app.auth.prime().await;
        let mut client = Self { app: std::sync::Arc::new(app), key, session: String::new(), next: 1 };
        let init = json!({ "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "bench", "version": "1" } });
        let response = client.send("initialize", init).await;
        client.session = response.0.expect("a session id");
        client
    }

    async fn send(&mut self, method: &str, params: Value) -> (Option<String>, Value) {
        self.next += 1;
        let body = json!({ "jsonrpc": "2.0", "id": self.next, "method": method, "params": params });
        let mut builder = http::Request::post("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .header("authorization", self.key.bearer());
        if !self.session.is_empty() {
            builder = builder.header("mcp-session-id", &self.session);
        }
        let request: Request = builder.body(Body::Text(body.to_string())).expect("request");
        let response = shared::mcp::handler::handle(&self.app, request).await;
        let session = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let text = match &response.into_body().collect().await {
            Body::Text(text) => text.clone(),
            Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        let reply: Value = serde_json::from_str(&text).expect("JSON reply");
        (session, reply.get("result").cloned().unwrap_or_else(|| panic!("{method}: {reply}")))
    }

    async fn call(&mut self, name: &str, arguments: Value) -> Value {
        self.send("tools/call", json!({ "name": name, "arguments": arguments })).await.1
    }
}

fn tokens(text: &str) -> usize {
    tiktoken_rs::cl100k_base_singleton().encode_with_special_tokens(text).len()
}

/// What the model reads of a tool result: its text content.
fn result_text(result: &Value) -> String {
    result["content"].as_array().into_iter().flatten().filter_map(|c| c["text"].as_str()).collect::<Vec<_>>().join("\n")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn row(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let cells: Vec<String> =
        [0.5, 0.9, 0.99].iter().map(|p| format!("{:.1} µs", percentile(&samples, *p).as_secs_f64() * 1e6)).collect();
    eprintln!("{name:<44} {:>10} {:>10} {:>10}   ({} samples)", cells[0], cells[1], cells[2], samples.len());
}

async fn token_accounting(addr: SocketAddr) {
    let mut full = Client::new(addr, 20, "full").await;
    let mut lite = Client::new(addr, 20, "lite").await;
    let full_list = full.send("tools/list", json!({})).await.1["tools"].to_string();
    let lite_list = lite.send("tools/list", json!({})).await.1["tools"].to_string();
    let (full_tokens, lite_tokens) = (tokens(&full_list), tokens(&lite_list));
    let full_count = serde_json::from_str::<Vec<Value>>(&full_list).map_or(0, |t| t.len());
    eprintln!("tools/list, 20 backends x 50 tools (the `tools` array as JSON, cl100k tokens)");
    eprintln!(
        "  full: {full_count} tools, {} chars, {full_tokens} tokens ({} per tool)",
        full_list.len(),
        full_tokens / full_count
    );
    eprintln!(
        "  lite: {} chars, {lite_tokens} tokens = {:.2} % of full",
        lite_list.len(),
        100.0 * lite_tokens as f64 / full_tokens as f64
    );

    // The task: "list the open issues in Jira". The target is the catalog's own jira list tool.
    let target = catalog::tools("jira", 7 + 2)
        .iter()
        .filter_map(|t| t["name"].as_str())
        .find(|n| n.starts_with("list_"))
        .map(str::to_owned)
        .expect("a list tool");
    let exposed = format!("jira_{target}");
    let query = format!("jira {}", target.replace('_', " "));
    let mut steps: Vec<(String, usize, usize)> = Vec::new();
    let search_args = json!({ "query": query, "limit": 5 });
    let found = lite.call("gateway_search_tools", search_args.clone()).await;
    assert_eq!(found["structuredContent"]["tools"][0]["name"], exposed.as_str(), "search ranks the target first");
    steps.push(("gateway_search_tools".into(), tokens(&search_args.to_string()), tokens(&result_text(&found))));
    let describe_args = json!({ "names": [exposed] });
    let described = lite.call("gateway_describe_tools", describe_args.clone()).await;
    steps.push(("gateway_describe_tools".into(), tokens(&describe_args.to_string()), tokens(&result_text(&described))));
    let arguments = json!({ "status": "open", "limit": 20 });
    let call_args =
        json!({ "name": exposed, "arguments": arguments, "fields": ["/items/*/id", "/items/*/title"], "maxItems": 10 });
    let called = lite.call("gateway_call_tool", call_args.clone()).await;
    steps.push((
        "gateway_call_tool (fields, maxItems 10)".into(),
        tokens(&call_args.to_string()),
        tokens(&result_text(&called)),
    ));
    let direct_args = json!({ "name": exposed, "arguments": arguments });
    let direct = full.call(&exposed, arguments.clone()).await;
    eprintln!("\nflow \"list the open issues in Jira\" (args = JSON the model writes, result = text content it reads)");
    eprintln!("  {:<42} {:>6} {:>7}", "step", "args", "result");
    let mut lite_total = lite_tokens;
    for (step, args, result) in &steps {
        eprintln!("  {step:<42} {args:>6} {result:>7}");
        lite_total += args + result;
    }
    let direct_tokens = (tokens(&direct_args.to_string()), tokens(&result_text(&direct)));
    let full_total = full_tokens + direct_tokens.0 + direct_tokens.1;
    eprintln!("  lite total (tools/list + flow): {lite_total} tokens");
    eprintln!(
        "  full mode (tools/list + direct call, unshaped result {} tokens): {full_total} tokens",
        direct_tokens.1
    );
    eprintln!("  lite flow = {:.2} % of full", 100.0 * lite_total as f64 / full_total as f64);
}

fn queries(index: &SearchIndex) -> Vec<(String, Option<String>)> {
    let names: Vec<String> = (0..index.len())
        .step_by(97)
        .filter_map(|i| {
            index
                .search(&Query { offset: i, limit: 1, ..Query::default() }, |_| true)
                .hits
                .first()
                .map(|e| e.name().to_owned())
        })
        .collect();
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (backend, own) = name.split_once('_').expect("prefixed");
        out.push((name.clone(), None)); // an exact exposed name
        out.push((own.replace('_', " "), None)); // the backend's own name, as words: every backend has one
        out.push((format!("{backend} {}", own.split('_').next_back().unwrap_or(own)), None));
        out.push((own.chars().take(4).collect(), None)); // a prefix
        if i % 4 == 0 {
            out.push((own.replace('_', " "), Some(backend.to_owned()))); // within one backend
        }
    }
    out.push(("cursor previous page results".into(), None));
    out.push(("kubernetes pod restart".into(), None));
    out
}

async fn search_latency(addr: SocketAddr) {
    let entries: Vec<Entry> = (0..100)
        .flat_map(|i| {
            let id = backend_id(i);
            backend_tools(i).into_iter().map(move |mut tool| {
                let original = tool["name"].as_str().unwrap_or_default().to_owned();
                tool["name"] = json!(format!("{id}_{original}"));
                Entry { tool, backend: id.clone(), original }
            })
        })
        .collect();
    let started = Instant::now();
    let index = SearchIndex::build(entries);
    let built = started.elapsed();
    let queries = queries(&index);
    let mut samples = Vec::new();
    for round in 0..20 {
        for (text, backend) in &queries {
            let started = Instant::now();
            let query = Query { text, backend: backend.as_deref(), offset: 0, limit: 10 };
            let page = index.search(&query, |_| true);
            let rendered: Vec<Value> = page.hits.iter().map(|e| render(e, Detail::Summary)).collect();
            let elapsed = started.elapsed();
            assert!(rendered.len() <= 10);
            if round > 0 {
                samples.push(elapsed);
            }
        }
    }
    eprintln!("\nsearch over {} tools (100 backends); index built in {:.1} ms", index.len(), built.as_secs_f64() * 1e3);
    eprintln!("{:<44} {:>10} {:>10} {:>10}", "", "p50", "p90", "p99");
    row("ranking + summary render (SearchIndex)", samples);

    let mut client = Client::new(addr, 100, "lite").await;
    client.call("gateway_search_tools", json!({ "query": "warm up" })).await; // builds the caller's index
    let mut samples = Vec::new();
    for round in 0..3 {
        for (text, backend) in &queries {
            let mut args = json!({ "query": text });
            if let Some(backend) = backend {
                args["backend"] = json!(backend);
            }
            let started = Instant::now();
            let result = client.call("gateway_search_tools", args).await;
            let elapsed = started.elapsed();
            assert_eq!(result["isError"], false, "{result}");
            if round > 0 {
                samples.push(elapsed);
            }
        }
    }
    row("gateway_search_tools through /mcp, warm", samples);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = start_backends().await;
    token_accounting(addr).await;
    search_latency(addr).await;
}
