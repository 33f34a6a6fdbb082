//! An MCP client that talks to an [`App`] in process, through the same handlers a Lambda function runs,
//! with the request an API Gateway event would carry (headers, body, the caller's address). Streamed
//! replies are read whole ([`TestClient::send_with`]) or event by event ([`TestClient::open`]).

use std::{
    marker::PhantomData,
    net::IpAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use ::http::{HeaderMap, Method};
use lambda_http::Body;
use serde_json::{json, Value};

use super::TestKey;
use crate::{
    http::{ResponseBody, StreamBody},
    selfhost::{function_for, lambda_request, Function},
    App,
};

/// A response as the client sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as text (empty when there is none).
    pub text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
}

impl Reply {
    /// The JSON-RPC `result`, or a panic naming the whole reply.
    pub fn result(&self) -> &Value {
        self.json.get("result").unwrap_or_else(|| panic!("expected a result: {self:?}"))
    }

    /// The JSON-RPC error code, if the reply is an error.
    pub fn error_code(&self) -> Option<i64> {
        self.json.pointer("/error/code").and_then(Value::as_i64)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The text of a tool result's first content item.
    pub fn tool_text(&self) -> &str {
        self.result().pointer("/content/0/text").and_then(Value::as_str).unwrap_or_default()
    }
}

/// One client of one app: its credential, its session, its address. (The lifetime ties a client to the
/// app it was made for, as a test reads it; the handlers themselves need a shared `App`.)
pub struct TestClient<'a> {
    app: Arc<App>,
    pub authorization: Option<String>,
    pub session: Option<String>,
    pub protocol_version: Option<String>,
    pub ip: IpAddr,
    next_id: AtomicU64,
    instance: PhantomData<&'a App>,
}

/// A response whose body is read as it comes (a stream).
pub struct Opened {
    pub status: u16,
    pub headers: HeaderMap,
    body: ResponseBody,
}

impl Opened {
    /// The next JSON-RPC message of an event stream (comments and priming events skipped), `None` at
    /// its end.
    pub async fn next_message(&mut self) -> Option<Value> {
        loop {
            let event = self.next_event().await?;
            if let Some(message) = event.1.and_then(|data| serde_json::from_str(&data).ok()) {
                return Some(message);
            }
        }
    }

    /// The next event as (id, data); a comment is `(None, None)`.
    pub async fn next_event(&mut self) -> Option<(Option<String>, Option<String>)> {
        let ResponseBody::Stream(stream) = &mut self.body else {
            return match std::mem::replace(&mut self.body, ResponseBody::Full(Body::Empty)) {
                ResponseBody::Full(Body::Text(text)) => Some((None, Some(text))),
                _ => None,
            };
        };
        let piece = next_piece(stream).await?;
        let (mut id, mut data) = (None, None);
        for line in piece.lines() {
            if let Some(value) = line.strip_prefix("id: ") {
                id = Some(value.to_owned());
            } else if let Some(value) = line.strip_prefix("data: ") {
                data = Some(value.to_owned()).filter(|d| !d.is_empty());
            }
        }
        Some((id, data))
    }

    /// Whether the body is an event stream.
    pub fn is_stream(&self) -> bool {
        matches!(self.body, ResponseBody::Stream(_))
    }
}

/// One written piece of a stream (the gateway writes one event per piece).
async fn next_piece(stream: &mut StreamBody) -> Option<String> {
    let bytes = stream.next().await?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

impl<'a> TestClient<'a> {
    pub fn new(app: &'a Arc<App>) -> Self {
        Self {
            app: app.clone(),
            authorization: None,
            session: None,
            protocol_version: None,
            ip: "198.51.100.7".parse().expect("an address"),
            next_id: AtomicU64::new(1),
            instance: PhantomData,
        }
    }

    /// A client sending `key` as its bearer token.
    pub fn with_key(app: &'a Arc<App>, key: &TestKey) -> Self {
        let mut client = Self::new(app);
        client.authorization = Some(key.bearer());
        client
    }

    /// A client of another app (another instance) with the same credential and session.
    pub fn on<'b>(&self, app: &'b Arc<App>) -> TestClient<'b> {
        let mut client = TestClient::new(app);
        client.authorization = self.authorization.clone();
        client.session = self.session.clone();
        client.protocol_version = self.protocol_version.clone();
        client.ip = self.ip;
        client
    }

    /// Sends a request as built by `extra` on top of the client's usual MCP headers; the body is read
    /// whole (a stream to its end).
    pub async fn send_with(&self, method: Method, path: &str, body: Option<&Value>, extra: &[(&str, &str)]) -> Reply {
        let opened = self.open(method, path, body, extra).await;
        let text = match opened.body.collect().await {
            Body::Empty => String::new(),
            Body::Text(text) => text,
            Body::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            _ => String::new(),
        };
        let streamed = opened.headers.get("content-type").is_some_and(|v| v == "text/event-stream");
        // A streamed reply ends with the response: that is the message a buffered client would get.
        let json = if streamed {
            text.split("\n\n")
                .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
                .filter_map(|data| serde_json::from_str::<Value>(data).ok())
                .last()
                .unwrap_or(Value::Null)
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Reply { status: opened.status, headers: opened.headers, text, json }
    }

    /// Sends a request like [`send_with`](Self::send_with) and hands the response over unread.
    pub async fn open(&self, method: Method, path: &str, body: Option<&Value>, extra: &[(&str, &str)]) -> Opened {
        let mut builder = ::http::Request::builder().method(method).uri(path).header("host", "gw.example.com");
        let defaults = [("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
        for (name, value) in defaults {
            if !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                builder = builder.header(name, value);
            }
        }
        let own = [
            ("authorization", self.authorization.as_deref()),
            ("mcp-session-id", self.session.as_deref()),
            ("mcp-protocol-version", self.protocol_version.as_deref()),
        ];
        for (name, value) in own {
            if let (Some(value), false) = (value, extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))) {
                builder = builder.header(name, value);
            }
        }
        for (name, value) in extra {
            if !value.is_empty() {
                builder = builder.header(*name, *value);
            }
        }
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let (parts, ()) = builder.body(()).expect("a valid request").into_parts();
        let request = lambda_request(parts, bytes, self.ip);
        let response = match function_for(path) {
            Some(Function::Code) => crate::code::http::handle(&self.app, request).await.map(ResponseBody::from),
            Some(Function::Admin) => Box::pin(crate::admin::handle(&self.app, request)).await.map(ResponseBody::from),
            _ => Box::pin(crate::mcp::handler::handle(&self.app, request)).await,
        };
        let (parts, body) = response.into_parts();
        Opened { status: parts.status.as_u16(), headers: parts.headers, body }
    }

    /// An admin API request (`path` below `/admin/api`).
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        self.send_with(method, &format!("/admin/api{path}"), body, &[]).await
    }

    /// POSTs `body` to `/mcp`.
    pub async fn post(&self, body: &Value) -> Reply {
        self.send_with(Method::POST, "/mcp", Some(body), &[]).await
    }

    /// A JSON-RPC request with a fresh id.
    pub async fn rpc(&self, method: &str, params: Value) -> Reply {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.post(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })).await
    }

    /// `initialize` at `version`; on success the client keeps the session and sends the version header.
    pub async fn initialize_at(&mut self, version: &str) -> Reply {
        self.initialize_with(version, json!({})).await
    }

    /// `initialize` at `version` declaring `capabilities` (sampling, elicitation, roots …).
    pub async fn initialize_with(&mut self, version: &str, capabilities: Value) -> Reply {
        self.session = None;
        self.protocol_version = None;
        let params = json!({ "protocolVersion": version, "capabilities": capabilities,
            "clientInfo": { "name": "test", "version": "1" } });
        let reply = self.rpc("initialize", params).await;
        if let Some(session) = reply.header("mcp-session-id") {
            self.session = Some(session.to_owned());
            self.protocol_version = Some(version.to_owned());
        }
        reply
    }

    /// `initialize` at 2025-11-25.
    pub async fn initialize(&mut self) -> Reply {
        self.initialize_at("2025-11-25").await
    }

    pub async fn call_tool(&self, name: &str, arguments: Value) -> Reply {
        self.rpc("tools/call", json!({ "name": name, "arguments": arguments })).await
    }

    /// A 2026-07-28 request: the `_meta` envelope and the headers the era requires.
    pub async fn modern(&self, method: &str, mut params: Value) -> Reply {
        let envelope = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        });
        match params.get_mut("_meta").and_then(Value::as_object_mut) {
            // The test's own `_meta` (a progress token) keeps its keys, under the envelope's.
            Some(meta) => meta.extend(envelope.as_object().cloned().unwrap_or_default()),
            None => params["_meta"] = envelope,
        }
        let name =
            params.get("name").or_else(|| params.get("uri")).and_then(Value::as_str).unwrap_or_default().to_owned();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let headers = [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", method),
            ("mcp-name", name.as_str()),
            ("mcp-session-id", ""),
        ];
        let mut client = TestClient::new(&self.app);
        client.authorization = self.authorization.clone();
        client.ip = self.ip;
        client.send_with(Method::POST, "/mcp", Some(&body), &headers).await
    }
}
