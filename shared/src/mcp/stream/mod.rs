//! Streamed MCP on `/mcp` (`GATEWAY_STREAMING`): replies that carry what a backend sends while it works,
//! the client's answers to a backend's requests, and the standalone streams that deliver list changes and
//! resource updates.
//!
//! - `relay`: a backend's notifications and requests on their way to the client (ids and progress tokens
//!   mapped, PII tokenized, requests recorded for the answer to find).
//! - this module: answering one request with JSON when its result comes first, else with an event stream
//!   (the first relayed message, or `GATEWAY_STREAM_AFTER_MS` without a result, switches; comments keep
//!   an idle stream open; the result ends it).
//! - `answers`: the client's answer to a backend's request, a POST that may reach any instance.
//! - `standalone`: the session era's `GET /mcp` stream, resumable with `Last-Event-ID`; `listen`: the
//!   2026-07-28 `subscriptions/listen` stream; `subscribe`: `resources/subscribe` and `unsubscribe`.

mod answers;
mod listen;
mod relay;
mod standalone;
mod subscribe;

use std::{future::Future, sync::Arc};

use ::http::{HeaderValue, Response, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

pub(super) use answers::deliver;
pub(super) use listen::listen;
pub use relay::Relay;
pub(super) use relay::RelayFor;
pub(super) use standalone::open as open_standalone;
pub(super) use subscribe::{subscribe, unsubscribe};

use crate::{
    http::{self, ResponseBody, SseSender},
    protocol::{jsonrpc, Era},
    telemetry, App, GatewayError,
};

/// Methods whose reply may stream: each reaches one backend, which may report progress, log, or ask the
/// client something before it answers. Lists fan out to every backend and are always buffered.
pub(super) const STREAMED: [&str; 4] = ["tools/call", "prompts/get", "resources/read", "completion/complete"];

/// How many relayed messages may wait for the stream writer.
const RELAYED: usize = 64;

/// A relay and the messages it writes for the client.
pub(super) struct Streamed {
    pub relay: Arc<Relay>,
    messages: mpsc::Receiver<Value>,
}

/// A relay for one request (or one standalone stream).
pub(super) fn relay(app: &Arc<App>, request: RelayFor) -> Streamed {
    let (out, messages) = mpsc::channel(RELAYED);
    Streamed { relay: Relay::new(app.clone(), request, out), messages }
}

/// Answers request `id` with what `work` returns: one JSON body when the result is there before any
/// relayed message and within `GATEWAY_STREAM_AFTER_MS`, else an event stream carrying the relayed
/// messages as they come and the result last. `work` keeps running when the stream starts; in the
/// session era it even outlives a client that went away (a disconnect is not a cancellation), in
/// 2026-07-28 closing the stream cancels it.
pub(super) async fn respond(
    app: &App,
    id: Value,
    era: Era,
    streamed: Streamed,
    work: impl Future<Output = Result<Value, GatewayError>> + Send + 'static,
) -> Response<ResponseBody> {
    let Streamed { relay, mut messages } = streamed;
    drop(relay); // the work holds its own; the channel closes when the work is done with it
    let mut work = Box::pin(work);
    // The result, when the work finished in the same poll that relayed its first message.
    let mut done = None;
    let first = tokio::select! {
        biased;
        Some(message) = messages.recv() => Some(message),
        result = &mut work => match messages.try_recv() {
            Err(_) => return buffered(&id, era, result),
            Ok(message) => {
                done = Some(result);
                Some(message)
            }
        },
        () = tokio::time::sleep(app.config.streaming.after) => None,
    };
    let (sender, body) = http::stream();
    let keepalive = app.config.streaming.keepalive;
    tokio::spawn(async move {
        let ((), notes) = telemetry::scoped(async {
            let mut open = true;
            if let Some(message) = first {
                open = sender.send(http::sse_event(&message.to_string(), None)).await;
            }
            let result = match done {
                Some(result) => result,
                None => loop {
                    if !open && era == Era::Modern {
                        return; // closing a 2026-07-28 stream cancels the request: `work` is dropped here
                    }
                    tokio::select! {
                        biased;
                        Some(message) = messages.recv() => {
                            open = open && sender.send(http::sse_event(&message.to_string(), None)).await;
                        }
                        result = &mut work => break result,
                        () = tokio::time::sleep(keepalive) => open = open && sender.send(http::sse_comment()).await,
                        () = sender.closed(), if open => open = false,
                    }
                },
            };
            // What the work relayed before it returned is already queued: it goes out before the result.
            while let Ok(message) = messages.try_recv() {
                open = open && sender.send(http::sse_event(&message.to_string(), None)).await;
            }
            if open {
                sender.send(http::sse_event(&final_message(&id, era, result).to_string(), None)).await;
            }
        })
        .await;
        sender.close(notes);
    });
    event_stream(body)
}

/// The result as one JSON body, with the status its error maps to.
fn buffered(id: &Value, era: Era, result: Result<Value, GatewayError>) -> Response<ResponseBody> {
    let response = match result {
        Ok(result) => http::json(StatusCode::OK, &jsonrpc::success(id, result)),
        Err(error) => http::error(&error, id, era),
    };
    response.map(ResponseBody::from)
}

/// The last message of a streamed reply: the result, or the error (its HTTP status cannot be sent any
/// more; the JSON-RPC error says it all).
fn final_message(id: &Value, era: Era, result: Result<Value, GatewayError>) -> Value {
    match result {
        Ok(result) => jsonrpc::success(id, result),
        Err(error) => {
            let mapping = error.mapping(era);
            if mapping.status.is_server_error() {
                tracing::error!(error = %error, "streamed request failed");
            }
            jsonrpc::failure(id, mapping.error)
        }
    }
}

/// A 200 response whose body is an event stream. `X-Accel-Buffering: no` asks proxies (nginx and those
/// that follow it) not to hold the events back.
pub(super) fn event_stream(body: ResponseBody) -> Response<ResponseBody> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(::http::header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// Sends `message` unless the client is gone; `false` once it is.
pub(super) async fn send_message(sender: &SseSender, message: &Value, id: Option<&str>) -> bool {
    sender.send(http::sse_event(&message.to_string(), id)).await
}
