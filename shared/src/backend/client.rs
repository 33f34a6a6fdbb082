//! One Streamable HTTP MCP client shared by every backend: a POST per JSON-RPC message, the reply read
//! as JSON or as an SSE stream up to the matching response. Only the backend's own configured headers
//! are sent: the client's `Authorization` never reaches a backend (no token passthrough).

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use http::header;
use serde_json::{json, Value};

use super::{sse, Backend};

/// The stateless era's version, spoken to backends that `server/discover` says support it.
pub const MODERN_VERSION: &str = "2026-07-28";
/// Handshake-era versions the gateway can speak with a backend, newest first.
pub const BACKEND_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// What a backend answered to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The `result` member, untouched.
    Result(Value),
    /// The `error` member (`{code, message, data?}`), untouched.
    Error(Value),
}

/// A finished HTTP exchange.
#[derive(Debug)]
pub struct Exchange {
    /// `None` when the backend accepted a notification (202).
    pub reply: Option<Reply>,
    /// `Mcp-Session-Id` the backend returned, if any.
    pub session_id: Option<String>,
}

/// What the gateway keeps after initializing a backend session.
#[derive(Debug, Clone)]
pub struct BackendHandshake {
    pub session_id: Option<String>,
    pub protocol_version: String,
    pub capabilities: Value,
}

/// Why an exchange with a backend failed. Messages carry no URL or header: they can reach clients.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("connection failed")]
    Connect(#[source] reqwest::Error),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("session expired")]
    SessionExpired,
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    #[error("unsupported protocol version {0:?}")]
    UnsupportedVersion(String),
}

/// The HTTP client to all backends, built once per cold start.
pub struct McpHttpClient {
    http: reqwest::Client,
    max_response_bytes: usize,
    client_info: Value,
    next_id: AtomicU64,
    id_prefix: String,
}

impl McpHttpClient {
    pub fn new(max_response_bytes: usize, client_name: &str) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            // Redirects could lead a backend request anywhere, credentials included: never follow them.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        let mut seed = [0u8; 4];
        let _ = getrandom::fill(&mut seed); // Only keeps ids distinct across processes; zeroes are harmless.
        Ok(Self {
            http,
            max_response_bytes,
            client_info: json!({ "name": client_name, "version": env!("CARGO_PKG_VERSION") }),
            next_id: AtomicU64::new(1),
            id_prefix: format!("gw-{:08x}", u32::from_be_bytes(seed)),
        })
    }

    /// Opens a session on `backend`: `initialize` at `version`, then `notifications/initialized`.
    /// The gateway declares no client capabilities: it cannot relay sampling, elicitation or roots
    /// requests over a buffered response, so it does not invite them.
    pub async fn initialize(&self, backend: &Backend, version: &str) -> Result<BackendHandshake, BackendError> {
        let params = json!({ "protocolVersion": version, "capabilities": {}, "clientInfo": self.client_info });
        let exchange = self.exchange(backend, None, None, &self.message("initialize", params)).await?;
        let result = match exchange.reply {
            Some(Reply::Result(result)) => result,
            Some(Reply::Error(error)) => {
                return Err(BackendError::InvalidResponse(format!("initialize failed: {error}")))
            }
            None => return Err(BackendError::InvalidResponse("no reply to initialize".into())),
        };
        let negotiated = result.get("protocolVersion").and_then(Value::as_str).unwrap_or_default();
        if !BACKEND_VERSIONS.contains(&negotiated) {
            return Err(BackendError::UnsupportedVersion(negotiated.to_owned()));
        }
        let handshake = BackendHandshake {
            session_id: exchange.session_id,
            protocol_version: negotiated.to_owned(),
            capabilities: result.get("capabilities").cloned().unwrap_or_else(|| json!({})),
        };
        let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
        self.exchange(backend, handshake.session_id.as_deref(), Some(negotiated), &initialized).await?;
        Ok(handshake)
    }

    /// Asks whether `backend` serves the stateless 2026-07-28 era. `None` means it answers only the
    /// handshake era (a legacy server rejects a session-less `server/discover`).
    pub async fn discover(&self, backend: &Backend) -> Result<Option<BackendHandshake>, BackendError> {
        let params = json!({ "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": self.client_info,
        }});
        let message = self.message("server/discover", params);
        match self.exchange(backend, None, Some(MODERN_VERSION), &message).await {
            Ok(Exchange { reply: Some(Reply::Result(result)), .. }) => {
                let versions = result.get("supportedVersions").and_then(Value::as_array);
                let modern = versions.is_some_and(|v| v.iter().any(|v| v == MODERN_VERSION));
                Ok(modern.then(|| BackendHandshake {
                    session_id: None,
                    protocol_version: MODERN_VERSION.to_owned(),
                    capabilities: result.get("capabilities").cloned().unwrap_or_else(|| json!({})),
                }))
            }
            Ok(_) | Err(BackendError::Status(_) | BackendError::InvalidResponse(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Sends one request and returns the backend's reply.
    pub async fn request(
        &self,
        backend: &Backend,
        session_id: Option<&str>,
        version: &str,
        method: &str,
        params: Value,
    ) -> Result<Reply, BackendError> {
        let exchange = self.exchange(backend, session_id, Some(version), &self.message(method, params)).await?;
        exchange.reply.ok_or_else(|| BackendError::InvalidResponse("request was answered with 202".into()))
    }

    /// Ends a backend session (DELETE), best effort: a backend that does not support it is fine.
    pub async fn end_session(&self, backend: &Backend, session_id: &str, version: &str) {
        let request = self
            .http
            .delete(backend.url.clone())
            .headers(backend.headers.clone())
            .header("mcp-session-id", session_id)
            .header("mcp-protocol-version", version)
            .send();
        if let Err(e) = tokio::time::timeout(backend.timeout, request).await.map(|r| r.map(drop)) {
            tracing::debug!(backend = %backend.id, error = %e, "backend session delete did not complete");
        }
    }

    fn message(&self, method: &str, params: Value) -> Value {
        let id = format!("{}-{}", self.id_prefix, self.next_id.fetch_add(1, Ordering::Relaxed));
        json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
    }

    /// One POST, bounded by the backend's timeout as a whole (connect, headers and body).
    pub async fn exchange(
        &self,
        backend: &Backend,
        session_id: Option<&str>,
        version: Option<&str>,
        message: &Value,
    ) -> Result<Exchange, BackendError> {
        tokio::time::timeout(backend.timeout, self.exchange_unbounded(backend, session_id, version, message))
            .await
            .map_err(|_| BackendError::Timeout(backend.timeout))?
    }

    async fn exchange_unbounded(
        &self,
        backend: &Backend,
        session_id: Option<&str>,
        version: Option<&str>,
        message: &Value,
    ) -> Result<Exchange, BackendError> {
        let request = self.post(backend, session_id, version, message);
        let mut response = request.send().await.map_err(BackendError::Connect)?;
        let status = response.status();
        if !status.is_success() {
            // 2026-07-28 servers answer request errors (-32602, -32021, …) with a 4xx and a JSON-RPC body
            // keeping the id: that is the backend's answer, to be relayed, not an outage.
            let body = self.read_body(&mut response).await.unwrap_or_default();
            let answer = serde_json::from_slice::<Value>(&body).ok().zip(message.get("id"));
            if let Some(error) = answer.and_then(|(body, id)| match_reply(&body, id)) {
                return Ok(Exchange { reply: Some(error), session_id: None });
            }
            // The spec answers an unknown session with 404; some servers (server-everything) use 400.
            // Either way the message was not processed, so the caller may open a new session and resend.
            if matches!(status.as_u16(), 400 | 404) && session_id.is_some() {
                return Err(BackendError::SessionExpired);
            }
            return Err(BackendError::Status(status.as_u16()));
        }
        let new_session = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let session = new_session.as_deref().or(session_id);
        let Some(id) = message.get("id") else {
            return Ok(Exchange { reply: None, session_id: new_session });
        };
        if status == http::StatusCode::ACCEPTED {
            return Err(BackendError::InvalidResponse("request was answered with 202".into()));
        }
        let is_sse = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let reply = if is_sse {
            self.read_sse(backend, &mut response, id, session, version).await?
        } else {
            let body = self.read_body(&mut response).await?;
            let value: Value =
                serde_json::from_slice(&body).map_err(|_| BackendError::InvalidResponse("body is not JSON".into()))?;
            match_reply(&value, id)
        };
        let reply = reply.ok_or_else(|| BackendError::InvalidResponse("no response with the request id".into()))?;
        Ok(Exchange { reply: Some(reply), session_id: new_session })
    }

    /// A POST of one JSON-RPC message with the transport headers the spec requires.
    fn post(
        &self,
        backend: &Backend,
        session_id: Option<&str>,
        version: Option<&str>,
        message: &Value,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .post(backend.url.clone())
            .headers(backend.headers.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream")
            .body(message.to_string());
        if let Some(id) = session_id {
            request = request.header("mcp-session-id", id);
        }
        if let Some(v) = version {
            request = request.header("mcp-protocol-version", v);
        }
        if version == Some(MODERN_VERSION) {
            // 2026-07-28 routes on headers that repeat the body.
            let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
            request = request.header("mcp-method", method);
            let named = match method {
                "tools/call" | "prompts/get" => message.pointer("/params/name"),
                "resources/read" => message.pointer("/params/uri"),
                _ => None,
            };
            if let Some(name) = named.and_then(Value::as_str) {
                request = request.header("mcp-name", encode_header(name));
            }
        }
        request
    }

    async fn read_body(&self, response: &mut reqwest::Response) -> Result<Vec<u8>, BackendError> {
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(BackendError::Connect)? {
            if body.len() + chunk.len() > self.max_response_bytes {
                return Err(BackendError::TooLarge(self.max_response_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Reads events until the response to `id`. Notifications (progress, log messages) cannot be
    /// relayed on a buffered response and are dropped; server→client requests are refused at once so
    /// the backend does not wait for an answer that cannot come.
    async fn read_sse(
        &self,
        backend: &Backend,
        response: &mut reqwest::Response,
        id: &Value,
        session_id: Option<&str>,
        version: Option<&str>,
    ) -> Result<Option<Reply>, BackendError> {
        let mut parser = sse::Parser::default();
        let mut read = 0usize;
        while let Some(chunk) = response.chunk().await.map_err(BackendError::Connect)? {
            read += chunk.len();
            if read > self.max_response_bytes {
                return Err(BackendError::TooLarge(self.max_response_bytes));
            }
            for event in parser.feed(&chunk) {
                let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                    continue;
                };
                if let Some(reply) = match_reply(&message, id) {
                    return Ok(Some(reply));
                }
                if let (Some(request_id), Some(method)) = (message.get("id"), message.get("method")) {
                    tracing::info!(backend = %backend.id, %method, "refusing a server-to-client request");
                    self.refuse(backend, request_id, session_id, version).await;
                }
            }
        }
        Ok(None)
    }

    async fn refuse(&self, backend: &Backend, request_id: &Value, session_id: Option<&str>, version: Option<&str>) {
        let refusal = json!({ "jsonrpc": "2.0", "id": request_id, "error": {
            "code": -32601,
            "message": "the gateway cannot relay server-to-client requests over a buffered response",
        }});
        if let Err(e) = self.post(backend, session_id, version, &refusal).send().await {
            tracing::debug!(backend = %backend.id, error = %e, "could not refuse a server-to-client request");
        }
    }
}

/// A header value as 2026-07-28 carries it: verbatim when plain printable ASCII, else base64-wrapped.
fn encode_header(value: &str) -> String {
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b)) && value.trim() == value;
    if plain {
        value.to_owned()
    } else {
        use base64::Engine;
        format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode(value))
    }
}

/// The reply to `id` in a JSON-RPC message (or a batch of them).
fn match_reply(message: &Value, id: &Value) -> Option<Reply> {
    if let Some(batch) = message.as_array() {
        return batch.iter().find_map(|m| match_reply(m, id));
    }
    if message.get("id") != Some(id) || message.get("method").is_some() {
        return None;
    }
    if let Some(result) = message.get("result") {
        return Some(Reply::Result(result.clone()));
    }
    message.get("error").map(|e| Reply::Error(e.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_base64_wrapped_only_when_needed() {
        assert_eq!(encode_header("demo_add"), "demo_add");
        assert_eq!(encode_header("tool ✓"), "=?base64?dG9vbCDinJM=?=");
        assert_eq!(encode_header(" padded"), "=?base64?IHBhZGRlZA==?=");
    }

    #[test]
    fn replies_match_by_id_only() {
        let id = json!("gw-1");
        assert_eq!(match_reply(&json!({"jsonrpc":"2.0","id":"gw-2","result":{}}), &id), None);
        assert_eq!(match_reply(&json!({"jsonrpc":"2.0","id":"gw-1","method":"x"}), &id), None);
        assert_eq!(
            match_reply(&json!([{"id":"gw-0","result":1},{"id":"gw-1","error":{"code":1}}]), &id),
            Some(Reply::Error(json!({"code":1})))
        );
    }
}
