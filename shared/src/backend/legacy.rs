//! The deprecated HTTP+SSE transport (MCP 2024-11-05): the client opens a GET event stream, the server
//! names an `endpoint` to POST messages to, and every response arrives on the stream.
//!
//! The backend session *is* that stream, and a Lambda instance cannot keep a stream open between
//! invocations, so each exchange opens its own: GET, read `endpoint`, POST `initialize`, read its
//! result, POST `notifications/initialized`, POST the message, read the matching response, close. The
//! whole sequence is bounded by the backend's timeout (the caller's job). It costs a handshake per
//! call; backends that care should speak Streamable HTTP.

use std::collections::VecDeque;

use http::header;
use serde_json::{json, Value};

use super::{
    client::Call,
    events::{Listener, Refuse},
    sse,
    wire::{match_reply, notification_method},
    BackendError, Exchange, Reply,
};

/// One exchange of `message` on a fresh stream, after a handshake at `version` (unless `message` is the
/// `initialize` itself).
pub(super) async fn exchange(call: &Call<'_>, version: &str, message: &Value) -> Result<Exchange, BackendError> {
    let mut stream = Stream::open(call).await?;
    let is_initialize = message.get("method").and_then(Value::as_str) == Some("initialize");
    if is_initialize {
        let reply = stream.request(message).await?;
        if matches!(reply, Reply::Result(_)) {
            stream.post(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })).await?;
        }
        return Ok(Exchange { reply: Some(reply), session_id: None });
    }
    let params = json!({ "protocolVersion": version, "capabilities": {}, "clientInfo": call.client.client_info() });
    match stream.request(&call.client.message("initialize", params)).await? {
        Reply::Result(_) => {}
        Reply::Error(error) => return Err(BackendError::InvalidResponse(format!("initialize failed: {error}"))),
    }
    stream.post(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })).await?;
    if message.get("id").is_none() {
        stream.post(message).await?;
        return Ok(Exchange { reply: None, session_id: None });
    }
    let reply = stream.request(message).await?;
    Ok(Exchange { reply: Some(reply), session_id: None })
}

/// An open event stream and where to POST.
struct Stream<'a> {
    call: &'a Call<'a>,
    response: reqwest::Response,
    parser: sse::Parser,
    pending: VecDeque<sse::Event>,
    endpoint: reqwest::Url,
    read: usize,
}

impl<'a> Stream<'a> {
    async fn open(call: &'a Call<'a>) -> Result<Self, BackendError> {
        let response = call
            .http
            .get(call.url.clone())
            .headers(call.headers.clone())
            .header(header::ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(BackendError::Connect)?;
        if !response.status().is_success() {
            return Err(BackendError::Status(response.status().as_u16()));
        }
        let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if !content_type.is_some_and(|v| v.starts_with("text/event-stream")) {
            return Err(BackendError::InvalidResponse("GET did not open an event stream".into()));
        }
        let endpoint = call.url.clone();
        let mut stream =
            Self { call, response, parser: sse::Parser::default(), pending: VecDeque::new(), endpoint, read: 0 };
        loop {
            let event = stream.next_event().await?;
            if event.event == "endpoint" {
                stream.endpoint = stream.resolve(event.data.trim())?;
                return Ok(stream);
            }
        }
    }

    /// The endpoint the server named, which must stay on the backend's origin: the gateway sends its
    /// credential there, so a server must not be able to point it at another host.
    fn resolve(&self, endpoint: &str) -> Result<reqwest::Url, BackendError> {
        let base = self.call.url;
        let url = base.join(endpoint).map_err(|_| BackendError::InvalidResponse("endpoint is not a URI".into()))?;
        if url.origin() != base.origin() {
            tracing::warn!(audit = true, backend = %self.call.backend.id, "SSE endpoint on another origin refused");
            return Err(BackendError::InvalidResponse("endpoint event names another origin".into()));
        }
        Ok(url)
    }

    /// The next event; the end of the stream before the exchange is done is an invalid response.
    async fn next_event(&mut self) -> Result<sse::Event, BackendError> {
        let limit = self.call.backend.max_response_bytes;
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(event);
            }
            let chunk = match self.response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Err(BackendError::InvalidResponse("event stream ended early".into())),
                Err(_) => return Err(BackendError::InvalidResponse("event stream broke off".into())),
            };
            self.read += chunk.len();
            if self.read > limit {
                return Err(BackendError::TooLarge(limit));
            }
            self.pending.extend(self.parser.feed(&chunk));
        }
    }

    /// POSTs one message to the endpoint; the server acknowledges with 202 (some say 200 or 204).
    async fn post(&self, message: &Value) -> Result<(), BackendError> {
        let response = self
            .call
            .http
            .post(self.endpoint.clone())
            .headers(self.call.headers.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(message.to_string())
            .send()
            .await
            .map_err(BackendError::Connect)?;
        match response.status().as_u16() {
            200 | 202 | 204 => Ok(()),
            status => Err(BackendError::Status(status)),
        }
    }

    /// POSTs a request and reads the stream up to its response.
    async fn request(&mut self, message: &Value) -> Result<Reply, BackendError> {
        self.post(message).await?;
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        loop {
            let event = self.next_event().await?;
            if !matches!(event.event.as_str(), "" | "message") {
                continue;
            }
            let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                continue;
            };
            if let Some(reply) = match_reply(&message, &id) {
                return Ok(reply);
            }
            if let Some(method) = notification_method(&message) {
                self.call.client.lists().observe(&self.call.backend.id, method);
            } else if let Some(method) = message.get("method").filter(|_| message.get("id").is_some()) {
                tracing::info!(backend = %self.call.backend.id, %method, "refusing a server-to-client request");
                let Some(refusal) = Refuse.request(message.clone()).await else { continue };
                if let Err(error) = self.post(&refusal).await {
                    tracing::debug!(backend = %self.call.backend.id, %error, "could not refuse a server-to-client request");
                }
            }
        }
    }
}
