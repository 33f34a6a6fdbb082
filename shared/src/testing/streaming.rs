//! The fake backend's streaming side: tools that answer with an event stream, requests it sends the
//! client and waits for, the session's standalone (GET) stream, and resource subscriptions.
//!
//! Tools (on top of the plain ones): `progress {steps, ms}` (a progress and a log notification per step,
//! plus one progress under a token that is not the call's, then the result), `ask {method, count}`
//! (`count` requests of `method` to the client on the call's stream, answered by POSTs of responses;
//! the result lists the answers), `chatter {}` (notifications every few milliseconds, never a result),
//! `huge {bytes}` (one log notification that large and the result, written at once).

use std::{
    collections::HashMap,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full, StreamBody};
use hyper::{
    body::{Bytes, Frame},
    StatusCode,
};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

pub(super) type Body = UnsyncBoxBody<Bytes, Infallible>;
pub(super) type Response = hyper::Response<Body>;

/// The streaming tools, as `tools/list` shows them.
pub(super) fn tools() -> Vec<Value> {
    let tool = |name: &str, properties: Value| {
        json!({ "name": name, "description": format!("The fake backend's {name} tool."),
            "inputSchema": { "type": "object", "properties": properties } })
    };
    vec![
        tool("progress", json!({ "steps": { "type": "integer" }, "ms": { "type": "integer" } })),
        tool("ask", json!({ "method": { "type": "string" }, "count": { "type": "integer" } })),
        tool("chatter", json!({})),
        tool("huge", json!({ "bytes": { "type": "integer" } })),
    ]
}

pub(super) fn is_streaming_tool(name: &str) -> bool {
    matches!(name, "progress" | "ask" | "chatter" | "huge")
}

/// What the streaming side keeps.
#[derive(Default)]
pub(super) struct StreamState {
    /// Requests sent to the client, by id, waiting for the answer.
    waiting: HashMap<String, oneshot::Sender<Value>>,
    next_request: u64,
    /// Open standalone streams, by session.
    standalone: Vec<(String, mpsc::UnboundedSender<Bytes>)>,
    /// Every event sent on a standalone stream: (id, session, data), for resumption.
    events: Vec<(u64, String, String)>,
    /// The `Last-Event-ID` of every GET, in order.
    pub resumed_from: Vec<Option<String>>,
    /// (session, uri) subscribed.
    pub subscriptions: Vec<(String, String)>,
    /// Answers received (the whole response messages).
    pub answers: Vec<Value>,
}

pub(super) type Shared = Arc<Mutex<StreamState>>;

pub(super) fn lock(state: &Shared) -> std::sync::MutexGuard<'_, StreamState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn full(status: StatusCode, content_type: &str, bytes: Bytes) -> Response {
    let builder = hyper::Response::builder().status(status).header("content-type", content_type);
    builder
        .body(Full::new(bytes).boxed_unsync())
        .unwrap_or_else(|_| hyper::Response::new(Full::default().boxed_unsync()))
}

fn event_stream(rx: mpsc::UnboundedReceiver<Bytes>) -> Response {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|bytes| (Ok::<_, Infallible>(Frame::data(bytes)), rx))
    });
    hyper::Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/event-stream")
        .body(BodyExt::boxed_unsync(StreamBody::new(stream)))
        .unwrap_or_else(|_| hyper::Response::new(Full::default().boxed_unsync()))
}

fn event(message: &Value) -> Bytes {
    Bytes::from(format!("event: message\ndata: {message}\n\n"))
}

/// A client's answer to one of the backend's requests.
pub(super) fn answered(state: &Shared, message: &Value) -> bool {
    let id = message["id"].as_str().unwrap_or_default().to_owned();
    let mut state = lock(state);
    state.answers.push(message.clone());
    match state.waiting.remove(&id) {
        Some(waiter) => waiter.send(message.clone()).is_ok(),
        None => false,
    }
}

/// A call of a streaming tool: its events and result on the call's stream.
pub(super) fn call(state: &Shared, id: Value, params: &Value) -> Response {
    let (tx, rx) = mpsc::unbounded_channel();
    let name = params["name"].as_str().unwrap_or_default().to_owned();
    let arguments = params["arguments"].clone();
    let token = params.pointer("/_meta/progressToken").cloned();
    let state = state.clone();
    tokio::spawn(async move {
        let send = |message: Value| tx.send(event(&message)).is_ok();
        let result = match name.as_str() {
            "progress" => {
                let steps = arguments["steps"].as_u64().unwrap_or(3);
                let pause = Duration::from_millis(arguments["ms"].as_u64().unwrap_or(10));
                send(progress(&json!("intruder-token"), 1, 1));
                for step in 1..=steps {
                    if let Some(token) = &token {
                        send(progress(token, step, steps));
                    }
                    send(json!({ "jsonrpc": "2.0", "method": "notifications/message",
                        "params": { "level": "info", "data": format!("step {step} for ada@example.com") } }));
                    tokio::time::sleep(pause).await;
                }
                text(&format!("done after {steps} steps"))
            }
            "ask" => {
                let method = arguments["method"].as_str().unwrap_or("elicitation/create").to_owned();
                let count = arguments["count"].as_u64().unwrap_or(1);
                let mut waits = Vec::new();
                for _ in 0..count {
                    let (waiter, answer) = oneshot::channel();
                    let request_id = {
                        let mut state = lock(&state);
                        state.next_request += 1;
                        let request_id = format!("ask-{}", state.next_request);
                        state.waiting.insert(request_id.clone(), waiter);
                        request_id
                    };
                    let params = json!({ "message": "Whose email is ada@example.com?", "requestedSchema":
                        { "type": "object", "properties": { "name": { "type": "string" } } } });
                    send(json!({ "jsonrpc": "2.0", "id": request_id, "method": method, "params": params }));
                    waits.push(answer);
                }
                let mut answers = Vec::new();
                for wait in waits {
                    match tokio::time::timeout(Duration::from_secs(30), wait).await {
                        Ok(Ok(answer)) => answers.push(answer.get("result").or(answer.get("error")).cloned()),
                        _ => answers.push(None),
                    }
                }
                text(&json!(answers).to_string())
            }
            "chatter" => loop {
                let note = json!({ "jsonrpc": "2.0", "method": "notifications/message",
                    "params": { "level": "debug", "data": "chatter" } });
                if !send(note) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            },
            _ => {
                // The log line and the result in one write: a reader gets both from one read.
                let bytes = arguments["bytes"].as_u64().unwrap_or(1024) as usize;
                let log = json!({ "jsonrpc": "2.0", "method": "notifications/message",
                    "params": { "level": "info", "data": "x".repeat(bytes) } });
                let result = json!({ "jsonrpc": "2.0", "id": id, "result": text("sent a huge event") });
                let mut both = event(&log).to_vec();
                both.extend_from_slice(&event(&result));
                let _ = tx.send(Bytes::from(both));
                return;
            }
        };
        send(json!({ "jsonrpc": "2.0", "id": id, "result": result }));
    });
    event_stream(rx)
}

fn progress(token: &Value, progress: u64, total: u64) -> Value {
    json!({ "jsonrpc": "2.0", "method": "notifications/progress",
        "params": { "progressToken": token, "progress": progress, "total": total } })
}

fn text(text: &str) -> Value {
    json!({ "content": [{ "type": "text", "text": text }] })
}

/// A GET: the session's standalone stream, replaying its events after `Last-Event-ID` first.
pub(super) fn standalone(state: &Shared, session: &str, last: Option<String>) -> Response {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut state = lock(state);
    let after: Option<u64> = last.as_deref().and_then(|l| l.parse().ok());
    state.resumed_from.push(last);
    if let Some(after) = after {
        for (id, owner, data) in &state.events {
            if *id > after && owner == session {
                let _ = tx.send(Bytes::from(format!("id: {id}\ndata: {data}\n\n")));
            }
        }
    }
    state.standalone.retain(|(_, stream)| !stream.is_closed());
    state.standalone.push((session.to_owned(), tx));
    event_stream(rx)
}

/// Sends `message` on the standalone streams of every session (or keeps it for resumption when none is
/// open); returns how many streams were open.
pub(super) fn push(state: &Shared, sessions: &[String], message: &Value) -> usize {
    let mut state = lock(state);
    let mut sent = 0;
    for session in sessions {
        let id = state.events.len() as u64 + 1;
        state.events.push((id, session.clone(), message.to_string()));
        for (owner, stream) in &state.standalone {
            if owner == session && stream.send(Bytes::from(format!("id: {id}\ndata: {message}\n\n"))).is_ok() {
                sent += 1;
            }
        }
    }
    sent
}
