//! An MCP backend in the test process: a real Streamable HTTP server on a loopback port (hyper), with
//! sessions, a few tools, a resource, a prompt and completions, that records every message it receives
//! so tests can assert what reached it (and what never did).
//!
//! Tools: `echo {text}` (the text back, as text and `structuredContent`), `add {a, b}` (annotated read-only
//! and idempotent, refusing undeclared properties), `fail` (an `isError` result), `boom {text}` (a JSON-RPC
//! error whose message repeats the text), `slow {ms}` (sleeps), and the streaming ones of `streaming`
//! (progress, requests to the client, floods). Sessions have a standalone GET stream ([`FakeBackend::push`]
//! sends on it) and accept resource subscriptions. Extra tools (named freely, e.g. to collide with another
//! backend's exposed names) answer with their own name.
//! With `modern`, it also serves 2026-07-28 requests statelessly (`server/discover`), and lists them one more
//! tool, `modern_only`.

use std::{
    collections::HashSet,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use http_body_util::BodyExt;
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Method, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use super::streaming::{self, Response};

/// What the backend received: every JSON-RPC message with method and params.
#[derive(Default)]
struct Seen {
    messages: Vec<Value>,
    sessions: HashSet<String>,
    next_session: u64,
    deleted: Vec<String>,
}

/// A running fake backend; dropping it leaves the listener running until the test's runtime ends.
#[derive(Clone)]
pub struct FakeBackend {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    streams: streaming::Shared,
    modern: bool,
    extra: Arc<Vec<String>>,
}

impl FakeBackend {
    /// Starts a legacy-era backend (2025-11-25 sessions only).
    pub async fn start() -> Self {
        Self::start_with(false, Vec::new()).await
    }

    /// Starts a backend that also serves 2026-07-28 statelessly.
    pub async fn start_modern() -> Self {
        Self::start_with(true, Vec::new()).await
    }

    /// Starts a legacy-era backend that also lists the tools `extra` (each answers with its own name).
    pub async fn start_with_tools(extra: &[&str]) -> Self {
        Self::start_with(false, extra.iter().map(|t| t.to_string()).collect()).await
    }

    async fn start_with(modern: bool, extra: Vec<String>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let backend = Self { addr, seen: Arc::default(), streams: Arc::default(), modern, extra: Arc::new(extra) };
        let server = backend.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let server = server.clone();
                let service = service_fn(move |request| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.serve(request).await) }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        backend
    }

    pub fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every message received whose method is `method`, oldest first.
    pub fn received(&self, method: &str) -> Vec<Value> {
        self.seen().messages.iter().filter(|m| m["method"] == method).cloned().collect()
    }

    /// Every `tools/call` of the backend's own tool `name`, as the params it received.
    pub fn calls_of(&self, name: &str) -> Vec<Value> {
        self.received("tools/call")
            .into_iter()
            .filter(|m| m["params"]["name"] == name)
            .map(|m| m["params"].clone())
            .collect()
    }

    /// Everything the backend received, as one text (to search for values that must never reach it).
    pub fn transcript(&self) -> String {
        self.seen().messages.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")
    }

    /// Session ids the gateway ended with DELETE.
    pub fn deleted_sessions(&self) -> Vec<String> {
        self.seen().deleted.clone()
    }

    /// Forgets every session, as a restarted backend would (next requests on them get 404).
    pub fn forget_sessions(&self) {
        self.seen().sessions.clear();
    }

    /// Every answer to the backend's own requests it received (whole response messages).
    pub fn answers(&self) -> Vec<Value> {
        streaming::lock(&self.streams).answers.clone()
    }

    /// The `Last-Event-ID` of every GET stream opened, in order.
    pub fn resumed_from(&self) -> Vec<Option<String>> {
        streaming::lock(&self.streams).resumed_from.clone()
    }

    /// The (session, URI) pairs subscribed now.
    pub fn subscriptions(&self) -> Vec<(String, String)> {
        streaming::lock(&self.streams).subscriptions.clone()
    }

    /// Sends `message` on the standalone stream of every live session; how many streams got it.
    pub fn push(&self, message: &Value) -> usize {
        let sessions: Vec<String> = self.seen().sessions.iter().cloned().collect();
        streaming::push(&self.streams, &sessions, message)
    }

    async fn serve(&self, request: hyper::Request<hyper::body::Incoming>) -> Response {
        let session = request.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        if request.method() == Method::DELETE {
            let mut seen = self.seen();
            return match session.filter(|s| seen.sessions.remove(s)) {
                Some(s) => {
                    seen.deleted.push(s);
                    reply(StatusCode::OK, None, Value::Null)
                }
                None => reply(StatusCode::NOT_FOUND, None, Value::Null),
            };
        }
        if request.method() == Method::GET {
            let last = request.headers().get("last-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
            return match session.filter(|s| self.seen().sessions.contains(s)) {
                Some(session) => streaming::standalone(&self.streams, &session, last),
                None => reply(StatusCode::NOT_FOUND, None, Value::Null),
            };
        }
        if request.method() != Method::POST {
            return reply(StatusCode::METHOD_NOT_ALLOWED, None, Value::Null);
        }
        let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let Ok(message) = serde_json::from_slice::<Value>(&body) else {
            return reply(
                StatusCode::BAD_REQUEST,
                None,
                json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error"}}),
            );
        };
        self.seen().messages.push(message.clone());
        if message.get("method").is_none() && message.get("id").is_some() {
            // The client's answer to a request the backend sent on a call's stream.
            streaming::answered(&self.streams, &message);
            return reply(StatusCode::ACCEPTED, None, Value::Null);
        }
        let method = message["method"].as_str().unwrap_or_default().to_owned();
        let params = message.get("params").cloned().unwrap_or(Value::Null);
        let modern = params.pointer("/_meta/io.modelcontextprotocol~1protocolVersion").is_some();
        let mut new_session = None;
        match method.as_str() {
            "initialize" => {
                let mut seen = self.seen();
                seen.next_session += 1;
                let id = format!("fake-{}", seen.next_session);
                seen.sessions.insert(id.clone());
                new_session = Some(id);
            }
            "server/discover" if self.modern => {}
            _ if modern && self.modern => {}
            _ => {
                let known = session.as_ref().is_some_and(|s| self.seen().sessions.contains(s));
                if !known {
                    return reply(StatusCode::NOT_FOUND, None, Value::Null);
                }
            }
        }
        let Some(id) = message.get("id").cloned() else {
            return reply(StatusCode::ACCEPTED, None, Value::Null);
        };
        let name = params["name"].as_str().unwrap_or_default();
        if method == "tools/call" && streaming::is_streaming_tool(name) {
            return streaming::call(&self.streams, id, &params);
        }
        if let ("resources/subscribe" | "resources/unsubscribe", Some(session)) = (method.as_str(), &session) {
            let uri = params["uri"].as_str().unwrap_or_default().to_owned();
            let mut streams = streaming::lock(&self.streams);
            streams.subscriptions.retain(|(s, u)| !(s == session && *u == uri));
            if method == "resources/subscribe" {
                streams.subscriptions.push((session.clone(), uri));
            }
            return reply(StatusCode::OK, None, json!({"jsonrpc": "2.0", "id": id, "result": {}}));
        }
        let answer = match answer(&method, &params, self.modern, &self.extra).await {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        };
        reply(StatusCode::OK, new_session, answer)
    }
}

fn reply(status: StatusCode, session: Option<String>, body: Value) -> Response {
    let bytes = if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) };
    let mut response = streaming::full(status, "application/json", bytes);
    if let Some(session) = session.and_then(|s| s.parse().ok()) {
        response.headers_mut().insert("mcp-session-id", session);
    }
    response
}

/// Personal data the fake backend puts in its resource list's metadata.
pub const OWNER: &str = "owner.bob@example.org";

fn tool(name: &str, properties: Value, required: &[&str]) -> Value {
    json!({ "name": name, "description": format!("The fake backend's {name} tool."),
        "inputSchema": { "type": "object", "properties": properties, "required": required } })
}

/// `tool` refusing properties it does not declare.
fn closed(mut tool: Value) -> Value {
    tool["inputSchema"]["additionalProperties"] = Value::Bool(false);
    tool
}

fn annotated(mut tool: Value, annotations: Value) -> Value {
    tool["annotations"] = annotations;
    tool
}

fn text_result(text: &str) -> Value {
    json!({ "content": [{ "type": "text", "text": text }], "structuredContent": { "text": text } })
}

async fn answer(method: &str, params: &Value, modern: bool, extra: &[String]) -> Result<Value, Value> {
    let arguments = &params["arguments"];
    let called = params["name"].as_str().unwrap_or_default();
    if method == "tools/call" && extra.iter().any(|t| t == called) {
        return Ok(text_result(&format!("extra tool {called}")));
    }
    Ok(match method {
        "initialize" => json!({
            "protocolVersion": params["protocolVersion"].as_str().unwrap_or("2025-11-25"),
            "capabilities": { "tools": { "listChanged": true }, "resources": { "subscribe": true, "listChanged": true },
                "prompts": {}, "completions": {}, "logging": {} },
            "serverInfo": { "name": "fake-backend", "version": "1" }
        }),
        "server/discover" if modern => json!({
            "supportedVersions": ["2025-11-25", "2026-07-28"],
            "capabilities": { "tools": {}, "resources": {}, "prompts": {}, "completions": {} }
        }),
        "ping" | "logging/setLevel" => json!({}),
        "tools/list" => {
            let mut tools = vec![
                tool("echo", json!({ "text": { "type": "string" } }), &["text"]),
                annotated(
                    closed(tool("add", json!({ "a": { "type": "number" }, "b": { "type": "number" } }), &["a", "b"])),
                    json!({ "readOnlyHint": true, "idempotentHint": true }),
                ),
                tool("fail", json!({}), &[]),
                tool("boom", json!({ "text": { "type": "string" } }), &[]),
                tool("slow", json!({ "ms": { "type": "integer", "maximum": 60000 } }), &["ms"]),
            ];
            tools.extend(extra.iter().map(|name| tool(name, json!({}), &[])));
            tools.extend(streaming::tools());
            // A catalog per era, like servers that serve both: this one only to 2026-07-28 requests.
            if params.pointer("/_meta/io.modelcontextprotocol~1protocolVersion").is_some() {
                tools.push(tool("modern_only", json!({}), &[]));
            }
            json!({ "tools": tools })
        }
        "tools/call" => match params["name"].as_str().unwrap_or_default() {
            "echo" => text_result(arguments["text"].as_str().unwrap_or_default()),
            "add" => {
                let sum = arguments["a"].as_f64().unwrap_or(0.0) + arguments["b"].as_f64().unwrap_or(0.0);
                json!({ "content": [{ "type": "text", "text": sum.to_string() }], "structuredContent": { "result": sum } })
            }
            "fail" => json!({ "content": [{ "type": "text", "text": "it failed" }], "isError": true }),
            "modern_only" => text_result("a 2026-07-28 tool"),
            "boom" => {
                let text = arguments["text"].as_str().unwrap_or_default();
                return Err(json!({ "code": -32000, "message": format!("boom: {text}"), "data": { "echo": text } }));
            }
            "slow" => {
                tokio::time::sleep(Duration::from_millis(arguments["ms"].as_u64().unwrap_or(0))).await;
                text_result("slept")
            }
            other => return Err(json!({ "code": -32602, "message": format!("Unknown tool: {other}") })),
        },
        "resources/list" => {
            json!({ "resources": [{ "uri": "fake://doc/1", "name": "doc", "mimeType": "text/plain",
                "description": format!("Kept by {OWNER}") }] })
        }
        "resources/templates/list" => {
            json!({ "resourceTemplates": [{ "uriTemplate": "fake://doc/{id}", "name": "docs" }] })
        }
        "resources/read" => match params["uri"].as_str().unwrap_or_default() {
            uri if uri.starts_with("fake://doc/") => {
                json!({ "contents": [{ "uri": uri, "mimeType": "text/plain", "text": format!("contents of {uri}") }] })
            }
            uri => return Err(json!({ "code": -32002, "message": "Resource not found", "data": { "uri": uri } })),
        },
        "prompts/list" => {
            json!({ "prompts": [{ "name": "greet", "arguments": [{ "name": "who", "required": true }] }] })
        }
        "prompts/get" => json!({ "messages": [{ "role": "user", "content": { "type": "text",
            "text": format!("Say hello to {}", params["arguments"]["who"].as_str().unwrap_or("nobody")) } }] }),
        "completion/complete" => {
            // Completes the typed value too, so a test can see what the backend was given come back.
            let typed = params["argument"]["value"].as_str().unwrap_or_default();
            let values: Vec<&str> = ["alpha", "beta", typed].into_iter().filter(|v| !v.is_empty()).collect();
            json!({ "completion": { "values": values, "hasMore": false } })
        }
        other => return Err(json!({ "code": -32601, "message": format!("Method not found: {other}") })),
    })
}
