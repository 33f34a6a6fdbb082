//! An MCP client that talks to an [`App`] in process, through the same handlers a Lambda function runs,
//! with the request an API Gateway event would carry (headers, body, the caller's address).

use std::{
    net::IpAddr,
    sync::atomic::{AtomicU64, Ordering},
};

use ::http::{HeaderMap, Method};
use lambda_http::Body;
use serde_json::{json, Value};

use super::TestKey;
use crate::{
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

/// One client of one app: its credential, its session, its address.
pub struct TestClient<'a> {
    app: &'a App,
    pub authorization: Option<String>,
    pub session: Option<String>,
    pub protocol_version: Option<String>,
    pub ip: IpAddr,
    next_id: AtomicU64,
}

impl<'a> TestClient<'a> {
    pub fn new(app: &'a App) -> Self {
        Self {
            app,
            authorization: None,
            session: None,
            protocol_version: None,
            ip: "198.51.100.7".parse().expect("an address"),
            next_id: AtomicU64::new(1),
        }
    }

    /// A client sending `key` as its bearer token.
    pub fn with_key(app: &'a App, key: &TestKey) -> Self {
        let mut client = Self::new(app);
        client.authorization = Some(key.bearer());
        client
    }

    /// A client of another app (another instance) with the same credential and session.
    pub fn on<'b>(&self, app: &'b App) -> TestClient<'b> {
        let mut client = TestClient::new(app);
        client.authorization = self.authorization.clone();
        client.session = self.session.clone();
        client.protocol_version = self.protocol_version.clone();
        client.ip = self.ip;
        client
    }

    /// Sends a request as built by `extra` on top of the client's usual MCP headers.
    pub async fn send_with(&self, method: Method, path: &str, body: Option<&Value>, extra: &[(&str, &str)]) -> Reply {
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
            Some(Function::Code) => crate::code::http::handle(self.app, request).await,
            Some(Function::Admin) => Box::pin(crate::admin::handle(self.app, request)).await,
            _ => Box::pin(crate::mcp::handler::handle(self.app, request)).await,
        };
        let (parts, body) = response.into_parts();
        let text = match body {
            Body::Empty => String::new(),
            Body::Text(text) => text,
            Body::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            _ => String::new(),
        };
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status: parts.status.as_u16(), headers: parts.headers, text, json }
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
        self.session = None;
        self.protocol_version = None;
        let params =
            json!({ "protocolVersion": version, "capabilities": {}, "clientInfo": { "name": "test", "version": "1" } });
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
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
        });
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
        let mut client = TestClient::new(self.app);
        client.authorization = self.authorization.clone();
        client.ip = self.ip;
        client.send_with(Method::POST, "/mcp", Some(&body), &headers).await
    }
}
