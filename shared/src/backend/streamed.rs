//! Exchanges whose in-between traffic reaches the client: a request whose notifications and
//! server→client requests a [`Listener`] relays while it runs, the client's later answer delivered to the
//! backend session, and the long-lived event streams a backend offers outside any request (the session's
//! GET stream, 2026-07-28 `subscriptions/listen`).
//!
//! Only Streamable HTTP backends stream; the others (the legacy HTTP+SSE transport, whose stream is
//! opened per exchange and lost with it) are answered as buffered exchanges. The bounds are the buffered
//! ones, per event: one event within `maxResponseBytes`, a whole stream within
//! `GATEWAY_MAX_BACKEND_STREAM_BYTES`, a request within the backend's timeout, its breaker and an
//! in-flight slot. Long-lived streams hold no in-flight slot (they would starve calls) and are bounded
//! by their reader.

use http::header;
use serde_json::Value;

use super::{
    events::{self, Bounds, Listener, Stream},
    streamable, BackendError, Reply, Transport, MODERN_VERSION,
};
use crate::backend::{Backend, McpHttpClient};

impl McpHttpClient {
    /// One request to `backend`, with `listener` hearing what it sends before its response. Falls back
    /// to a buffered exchange for backends that cannot stream.
    pub async fn request_streamed(
        &self,
        backend: &Backend,
        session_id: Option<&str>,
        version: &str,
        method: &str,
        params: Value,
        listener: &dyn Listener,
    ) -> Result<Reply, BackendError> {
        // Lambda and OpenAPI backends answer in process: nothing to stream.
        if self.transport(backend) != Transport::StreamableHttp || !backend.kind.is_mcp() {
            return self.request(backend, session_id, version, method, params).await;
        }
        let message = self.message(method, params);
        let bounds = self.stream_bounds(backend);
        let work = async {
            let call = self.call(backend).await?;
            streamable::exchange_with(&call, session_id, Some(version), &message, listener, bounds).await
        };
        let exchange = self.guarded(backend, work).await?;
        exchange.reply.ok_or_else(|| BackendError::InvalidResponse("request was answered with 202".into()))
    }

    /// Posts `message` (a JSON-RPC response: the client's answer to a request the backend sent) on the
    /// backend session, where the backend's waiting call picks it up. Bounded by the backend's timeout.
    pub async fn deliver(
        &self,
        backend: &Backend,
        session_id: Option<&str>,
        version: &str,
        message: &Value,
    ) -> Result<(), BackendError> {
        let work = async {
            let call = self.call(backend).await?;
            let response = streamable::post(&call, session_id, Some(version), message)
                .send()
                .await
                .map_err(BackendError::Connect)?;
            match response.status().as_u16() {
                200..=299 => Ok(()),
                404 if session_id.is_some() => Err(BackendError::SessionExpired),
                status => Err(BackendError::Status(status)),
            }
        };
        tokio::time::timeout(backend.timeout, work).await.unwrap_or(Err(BackendError::Timeout(backend.timeout)))
    }

    /// The standalone event stream (GET) of a backend session, resumed after `last_event_id` when given.
    /// `Ok(None)` when the backend offers none (405, or another stream of the session holds it: 409).
    pub async fn open_stream(
        &self,
        backend: &Backend,
        session_id: &str,
        version: &str,
        last_event_id: Option<&str>,
    ) -> Result<Option<EventStream>, BackendError> {
        if self.transport(backend) != Transport::StreamableHttp || !backend.kind.is_mcp() || self.is_open(&backend.id) {
            return Ok(None);
        }
        let call = self.call(backend).await?;
        let request = call.stream_get(session_id, Some(version), last_event_id);
        let response = tokio::time::timeout(backend.timeout, request.send())
            .await
            .map_err(|_| BackendError::Timeout(backend.timeout))?
            .map_err(BackendError::Connect)?;
        self.event_stream(backend, response)
    }

    /// A 2026-07-28 `subscriptions/listen` stream on `backend` with `params` (the filter and envelope).
    /// `Ok(None)` when the backend does not serve it.
    pub async fn listen(&self, backend: &Backend, params: Value) -> Result<Option<EventStream>, BackendError> {
        if self.transport(backend) != Transport::StreamableHttp || self.is_open(&backend.id) {
            return Ok(None);
        }
        let call = self.call(backend).await?;
        let message = self.message("subscriptions/listen", params);
        let send = streamable::post(&call, None, Some(MODERN_VERSION), &message).send();
        let response = tokio::time::timeout(backend.timeout, send)
            .await
            .map_err(|_| BackendError::Timeout(backend.timeout))?
            .map_err(BackendError::Connect)?;
        // Some servers stream a listen as newline-delimited JSON under `application/json`.
        let json = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if response.status() == 200 && json.is_some_and(|v| v.starts_with("application/json")) {
            let stream = Stream::lines(response, self.stream_bounds(backend));
            return Ok(Some(EventStream { backend: backend.id.clone(), stream }));
        }
        self.event_stream(backend, response)
    }

    fn event_stream(
        &self,
        backend: &Backend,
        response: reqwest::Response,
    ) -> Result<Option<EventStream>, BackendError> {
        match response.status().as_u16() {
            200 if events::is_event_stream(&response) => {
                let stream = Stream::new(response, self.stream_bounds(backend));
                Ok(Some(EventStream { backend: backend.id.clone(), stream }))
            }
            // No stream offered: not an outage, nothing to relay.
            200 | 404 | 405 | 409 => Ok(None),
            status => Err(BackendError::Status(status)),
        }
    }

    /// The size bounds of a streamed exchange with `backend`.
    fn stream_bounds(&self, backend: &Backend) -> Bounds {
        let event = backend.max_response_bytes;
        Bounds { event, total: self.max_stream_bytes().max(event) }
    }

    /// Records a message read from `backend`'s event stream: a `list_changed` drops its cached pages.
    pub fn observe(&self, backend: &str, message: &Value) {
        if let Some(method) = super::wire::notification_method(message) {
            self.lists().observe(backend, method);
        }
    }
}

/// A long-lived event stream from one backend. Its reader tells the client's list cache about the
/// `list_changed` notifications it reads ([`McpHttpClient::observe`]).
pub struct EventStream {
    backend: String,
    stream: Stream,
}

impl EventStream {
    /// The backend it comes from.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The next message; `Ok(None)` when the backend ended the stream.
    pub async fn next(&mut self) -> Result<Option<Value>, BackendError> {
        self.stream.next().await
    }

    /// The backend's id of the last event read, for resuming this stream later.
    pub fn last_event_id(&self) -> Option<String> {
        self.stream.last_event_id()
    }
}

#[cfg(test)]
mod tests;
