//! What a backend sends on an event stream while it works on a request: notifications (progress, log
//! messages, list changes), requests of its own to the client (sampling, elicitation, roots), and at last
//! the response. One reader serves every exchange: buffered ones hand it a [`Refuse`] listener, streamed
//! ones a listener that relays to the client.
//!
//! Bounds: one event may not exceed the backend's `maxResponseBytes`, the whole stream not
//! [`Bounds::total`]; time is bounded by the caller (the backend's timeout around the exchange). A stream
//! that ends before the response, after giving an event id, is resumed with GET + `Last-Event-ID`
//! (SEP-1699: a server may close a POST stream mid-call and replay the rest on the resumed one), a few
//! times at most.

use std::{collections::VecDeque, time::Duration};

use async_trait::async_trait;
use http::header;
use serde_json::{json, Value};

use super::{
    client::Call,
    sse,
    streamable::post,
    wire::{match_reply, notification_method},
    BackendError, Reply,
};

/// How often a stream that ended early is resumed before the exchange counts as broken.
const MAX_RESUMES: usize = 3;
/// The longest pause before a resume, whatever `retry` the backend asked for (the exchange's own
/// timeout still bounds the whole).
const MAX_RESUME_DELAY: Duration = Duration::from_secs(2);

/// Who hears what a backend sends mid-exchange.
#[async_trait]
pub trait Listener: Send + Sync {
    /// A notification (a message with a method and no id).
    async fn notification(&self, message: Value);
    /// A request from the backend to the client. `Some(answer)` is posted back to the backend at once
    /// (a refusal); `None` means the answer will come later, through [`McpHttpClient::deliver`].
    ///
    /// [`McpHttpClient::deliver`]: super::McpHttpClient::deliver
    async fn request(&self, message: Value) -> Option<Value>;
}

/// The listener of a buffered exchange: nothing can reach the client before the response, so
/// notifications are dropped and requests refused at once (the backend must not wait for an answer that
/// cannot come).
pub struct Refuse;

#[async_trait]
impl Listener for Refuse {
    async fn notification(&self, _message: Value) {}

    async fn request(&self, message: Value) -> Option<Value> {
        tracing::info!(method = %message["method"], "refusing a server-to-client request");
        Some(refusal(&message["id"], "the gateway cannot relay server-to-client requests over a buffered response"))
    }
}

/// The error answer to a server→client request, keeping its id.
pub fn refusal(request_id: &Value, why: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": request_id, "error": { "code": -32601, "message": why } })
}

/// Size bounds of one stream.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// One event.
    pub event: usize,
    /// Everything read from the stream (resumes included).
    pub total: usize,
}

impl Bounds {
    /// A buffered exchange keeps the old rule: the whole reply within `maxResponseBytes`.
    pub fn buffered(max_response_bytes: usize) -> Self {
        Self { event: max_response_bytes, total: max_response_bytes }
    }
}

/// An event stream being read, with its byte count and parser.
pub(super) struct Stream {
    response: reqwest::Response,
    parser: sse::Parser,
    pending: VecDeque<sse::Event>,
    read: usize,
    bounds: Bounds,
    /// Newline-delimited JSON instead of SSE (some servers stream `subscriptions/listen` that way): the
    /// line read so far.
    lines: Option<Vec<u8>>,
}

impl Stream {
    pub fn new(response: reqwest::Response, bounds: Bounds) -> Self {
        Self { response, parser: sse::Parser::default(), pending: VecDeque::new(), read: 0, bounds, lines: None }
    }

    /// A stream of one JSON message per line, bounded like an event stream.
    pub fn lines(response: reqwest::Response, bounds: Bounds) -> Self {
        Self { lines: Some(Vec::new()), ..Self::new(response, bounds) }
    }

    /// Splits the complete lines of `chunk` into events (each line one message).
    fn feed_lines(&mut self, chunk: &[u8]) {
        let Some(line) = self.lines.as_mut() else { return };
        for byte in chunk {
            if *byte == b'\n' {
                let data = String::from_utf8_lossy(line).trim().to_owned();
                line.clear();
                if !data.is_empty() {
                    self.pending.push_back(sse::Event { event: String::new(), data });
                }
            } else {
                line.push(*byte);
            }
        }
    }

    /// The next JSON-RPC message on the stream; `Ok(None)` at its end. Events that are not JSON (and
    /// priming events) are skipped.
    pub async fn next(&mut self) -> Result<Option<Value>, BackendError> {
        loop {
            while let Some(event) = self.pending.pop_front() {
                if !matches!(event.event.as_str(), "" | "message") {
                    continue;
                }
                if let Ok(message) = serde_json::from_str::<Value>(&event.data) {
                    return Ok(Some(message));
                }
            }
            let chunk = match self.response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => return Ok(None),
                Err(_) => return Err(BackendError::InvalidResponse("event stream broke off".into())),
            };
            self.read += chunk.len();
            if self.read > self.bounds.total {
                return Err(BackendError::TooLarge(self.bounds.total));
            }
            let unfinished = if self.lines.is_some() {
                self.feed_lines(&chunk);
                self.lines.as_ref().map_or(0, Vec::len)
            } else {
                self.pending.extend(self.parser.feed(&chunk));
                self.parser.pending()
            };
            if unfinished > self.bounds.event {
                return Err(BackendError::TooLarge(self.bounds.event));
            }
        }
    }

    pub fn last_event_id(&self) -> Option<String> {
        self.parser.last_event_id().map(str::to_owned)
    }

    fn retry(&self) -> Duration {
        self.parser.retry().unwrap_or(Duration::ZERO).min(MAX_RESUME_DELAY)
    }
}

/// Reads a POST's event stream up to the response to `id`, telling `listener` what comes before it and
/// resuming the stream (GET + `Last-Event-ID`, on the backend session) when it ends early.
pub(super) async fn read_reply(
    call: &Call<'_>,
    response: reqwest::Response,
    id: &Value,
    session_id: Option<&str>,
    version: Option<&str>,
    listener: &dyn Listener,
    bounds: Bounds,
) -> Result<Reply, BackendError> {
    let mut stream = Stream::new(response, bounds);
    let mut resumes = 0;
    loop {
        let Some(message) = stream.next().await? else {
            let (Some(last), Some(session)) = (stream.last_event_id(), session_id) else {
                return Err(BackendError::InvalidResponse("no response with the request id".into()));
            };
            if resumes == MAX_RESUMES {
                return Err(BackendError::InvalidResponse("the event stream kept ending before the response".into()));
            }
            // The first time at once (a server may only keep what it sends to a stream that is attached;
            // the official fixture does), later after the `retry` the server asked for.
            if resumes > 0 {
                tokio::time::sleep(stream.retry()).await;
            }
            resumes += 1;
            let read = stream.read;
            let response = resume(call, session, version, &last).await?;
            stream = Stream::new(response, bounds);
            stream.read = read;
            continue;
        };
        if let Some(reply) = match_reply(&message, id) {
            return Ok(reply);
        }
        dispatch(call, listener, message, session_id, version).await;
    }
}

/// Hands one message that is not the response to the listener, and posts any immediate answer back.
pub(super) async fn dispatch(
    call: &Call<'_>,
    listener: &dyn Listener,
    message: Value,
    session_id: Option<&str>,
    version: Option<&str>,
) {
    if let Some(method) = notification_method(&message) {
        call.client.lists().observe(&call.backend.id, method);
        listener.notification(message).await;
    } else if message.get("id").is_some() && message.get("method").is_some() {
        if let Some(answer) = listener.request(message).await {
            let sent = post(call, session_id, version, &answer).send().await;
            if let Err(error) = sent {
                tracing::debug!(backend = %call.backend.id, %error, "could not answer a server-to-client request");
            }
        }
    }
    // Anything else (a response to a request the gateway never sent) is ignored.
}

/// Reopens the stream of a POST that ended early: GET with the session and the last event id.
async fn resume(
    call: &Call<'_>,
    session_id: &str,
    version: Option<&str>,
    last_event_id: &str,
) -> Result<reqwest::Response, BackendError> {
    let response =
        call.stream_get(session_id, version, Some(last_event_id)).send().await.map_err(BackendError::Connect)?;
    if !response.status().is_success() || !is_event_stream(&response) {
        tracing::info!(backend = %call.backend.id, status = response.status().as_u16(), "event stream could not be resumed");
        return Err(BackendError::InvalidResponse("the event stream ended early and could not be resumed".into()));
    }
    tracing::debug!(backend = %call.backend.id, "event stream resumed");
    Ok(response)
}

pub(super) fn is_event_stream(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/event-stream"))
}
