//! The session era's standalone stream, `GET /mcp` (with `GATEWAY_STREAMING=on`): what the backends send a
//! session outside any request (list changes, updates of subscribed resources, log messages, their own
//! requests to the client) reaches the client here. The gateway holds one GET stream per backend session
//! and relays it (as `relay` does for a call), for at most `GATEWAY_STREAM_MAX_SECS`; then the client
//! reconnects.
//!
//! Resumable on any instance: every event is kept in the store (`event#<session>#<stream>#<seq>`, with
//! `GATEWAY_STREAM_EVENTS_TTL_SECS`) under the id `<stream>.<seq>`, together with each backend's own last
//! event id at that point. `Last-Event-ID` replays the events after it, then reopens each backend's stream
//! from where it was, so what a backend sent in between comes too (if the backend keeps its events). An
//! id that is not an event of this session's streams is refused: it cannot reach another session's events
//! (the session is part of every key), and saying so is clearer than silently starting over.

use std::{collections::BTreeMap, sync::Arc};

use ::http::{HeaderMap, Response};
use serde_json::Value;
use tokio::{sync::mpsc, task::JoinHandle};

use super::{event_stream, relay, RelayFor};
use crate::{
    auth::Principal,
    backend::{EventStream, Listener},
    http::{self, ResponseBody, SseSender},
    mcp::session,
    protocol::{mint_id, now_secs, Era, Session, VaultScope},
    store::StoredEvent,
    telemetry, App, GatewayError,
};

/// Most events replayed on one resume.
const MAX_REPLAY: u64 = 1_000;
/// The reconnection delay a client is asked for when its stream ends.
const RETRY_MS: u64 = 1_000;

/// Opens the stream for the session the request names.
pub async fn open(
    app: Arc<App>,
    headers: &HeaderMap,
    principal: Principal,
) -> Result<Response<ResponseBody>, GatewayError> {
    if !accepts_event_stream(headers) {
        return Err(GatewayError::NotAcceptable);
    }
    let session = session::load(&app, headers, &principal).await?;
    let (replay, positions) = match http::header(headers, "last-event-id") {
        Some(last) => replay(&app, &session, last).await?,
        None => (Vec::new(), BTreeMap::new()),
    };
    let backends = app.backends();
    let mut streams = Vec::new();
    for (id, state) in &session.backends {
        let (Some(backend), Some(sid)) = (backends.get(id), state.session_id.as_deref()) else { continue };
        let from = positions.get(id).map(String::as_str);
        match app.client.open_stream(backend, sid, &state.protocol_version, from).await {
            Ok(Some(stream)) => streams.push(stream),
            Ok(None) => {}
            Err(error) => tracing::info!(backend = %id, %error, "no standalone stream from this backend"),
        }
    }
    if streams.is_empty() && replay.is_empty() {
        // Nothing could ever arrive on it: the client should not hold a connection (and an instance) open.
        return Err(GatewayError::MethodNotAllowed);
    }
    let (sender, body) = http::stream();
    tokio::spawn(pump(app, principal, session, Pump { replay, positions, streams, sender }));
    Ok(event_stream(body))
}

/// Accept must name the event stream (or a wildcard covering it).
fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers.get_all(::http::header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| {
        v.split(',')
            .map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
            .any(|t| t == "text/event-stream" || t == "text/*" || t == "*/*")
    })
}

/// An event id of this gateway: `<stream>.<seq>`.
fn parse_id(id: &str) -> Option<(&str, u64)> {
    let (stream, seq) = id.rsplit_once('.')?;
    let valid = !stream.is_empty()
        && stream.len() <= 64
        && stream.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    Some((stream, seq.parse().ok()?)).filter(|_| valid)
}

/// The events after `last` (id, data), and each backend's position as of the last of them.
async fn replay(
    app: &App,
    session: &Session,
    last: &str,
) -> Result<(Vec<(String, String)>, BTreeMap<String, String>), GatewayError> {
    let unknown = || {
        GatewayError::InvalidRequest(
            "Last-Event-ID names no event of this session's stream (it expired, or it is not this session's); \
             reconnect without it"
                .into(),
        )
    };
    let (stream, seq) = parse_id(last).ok_or_else(unknown)?;
    let base = app.streams.event(&session.id, stream, seq).await?.ok_or_else(unknown)?;
    let mut positions = base.backends;
    let mut events = Vec::new();
    for next in seq + 1..=seq + MAX_REPLAY {
        let Some(event) = app.streams.event(&session.id, stream, next).await? else { break };
        positions = event.backends;
        events.push((format!("{stream}.{next}"), event.data));
    }
    Ok((events, positions))
}

/// What the stream's writer starts with.
struct Pump {
    replay: Vec<(String, String)>,
    positions: BTreeMap<String, String>,
    streams: Vec<EventStream>,
    sender: SseSender,
}

/// One message read from a backend's stream, with the backend's id of it.
struct Read {
    backend: String,
    message: Value,
    event_id: Option<String>,
}

async fn pump(app: Arc<App>, principal: Principal, session: Session, start: Pump) {
    let Pump { replay, mut positions, streams, sender } = start;
    let stream_id: String = mint_id().unwrap_or_default().chars().take(16).collect();
    let streamed = relay(
        &app,
        RelayFor {
            principal,
            era: Era::Legacy,
            method: None,
            session: Some(session.id.clone()),
            client_capabilities: session.client_capabilities.clone(),
            vault: VaultScope::Session(session.id.clone()),
            params: Value::Null,
        },
    );
    let (relay, mut relayed) = (streamed.relay, streamed.messages);
    let (reads, mut read) = mpsc::channel::<Read>(64);
    let readers: Vec<JoinHandle<()>> = streams.into_iter().map(|s| tokio::spawn(reader(s, reads.clone()))).collect();
    drop(reads);
    let config = app.config.streaming.clone();
    let ((), notes) = telemetry::scoped(async {
        let mut seq = 0;
        let mut open = true;
        for (id, data) in &replay {
            open = open && sender.send(http::sse_event(data, Some(id))).await;
        }
        // The first event of this stream: its id, where a later resume starts from, and the retry delay.
        keep(&app, &session, &stream_id, seq, String::new(), &positions).await;
        open = open && sender.send(http::sse_priming(&format!("{stream_id}.{seq}"), RETRY_MS)).await;
        let deadline = tokio::time::sleep(config.max_stream);
        tokio::pin!(deadline);
        while open {
            tokio::select! {
                biased;
                Some(message) = relayed.recv() => {
                    seq += 1;
                    let data = message.to_string();
                    keep(&app, &session, &stream_id, seq, data.clone(), &positions).await;
                    open = sender.send(http::sse_event(&data, Some(&format!("{stream_id}.{seq}")))).await;
                }
                read = read.recv() => {
                    // Every backend ended its stream (the session ended, a backend restarted): end this one
                    // too; the client reconnects, and resumes each backend from where it was.
                    let Some(Read { backend, message, event_id }) = read else { break };
                    if let Some(id) = event_id {
                        positions.insert(backend.clone(), id);
                    }
                    relay_one(&app, &relay, &session, &backend, message).await;
                }
                () = tokio::time::sleep(config.keepalive) => open = sender.send(http::sse_comment()).await,
                () = &mut deadline => break,
                // The client left: stop holding the backends' streams (and this instance) at once.
                () = sender.closed() => break,
            }
        }
    })
    .await;
    readers.iter().for_each(JoinHandle::abort);
    relay.finish().await;
    sender.close(notes);
}

/// Reads one backend's stream until it ends, the client's stream is gone, or the reader is aborted.
async fn reader(mut stream: EventStream, reads: mpsc::Sender<Read>) {
    loop {
        match stream.next().await {
            Ok(Some(message)) => {
                let read = Read { backend: stream.backend().to_owned(), message, event_id: stream.last_event_id() };
                if reads.send(read).await.is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(error) => {
                tracing::info!(backend = %stream.backend(), %error, "backend standalone stream ended");
                return;
            }
        }
    }
}

/// Hands one backend message to the relay; an immediate answer (a refusal, `ping`) goes back to it.
async fn relay_one(app: &App, relay: &Arc<super::Relay>, session: &Session, backend: &str, message: Value) {
    app.client.observe(backend, &message);
    let (Some(configured), Some(state)) = (app.backends().get(backend).cloned(), session.backends.get(backend)) else {
        return;
    };
    let listener = relay.listener(&configured, state);
    if message.get("id").is_none() {
        listener.notification(message).await;
    } else if message.get("method").is_some() {
        if let Some(answer) = listener.request(message).await {
            let sid = state.session_id.as_deref();
            if let Err(error) = app.client.deliver(&configured, sid, &state.protocol_version, &answer).await {
                tracing::debug!(%backend, %error, "could not answer a request from the standalone stream");
            }
        }
    }
}

/// Keeps one event for resumption; a store that fails only costs resumability, never the stream.
async fn keep(
    app: &App,
    session: &Session,
    stream: &str,
    seq: u64,
    data: String,
    positions: &BTreeMap<String, String>,
) {
    let ttl = app.config.streaming.events_ttl.as_secs();
    let event = StoredEvent { data, backends: positions.clone(), expires_at: now_secs() + ttl };
    if let Err(error) = app.streams.put_event(&session.id, stream, seq, &event).await {
        tracing::warn!(%error, "could not keep a stream event; the stream is not resumable past it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_stream_and_sequence() {
        assert_eq!(parse_id("abc_DEF-1.42"), Some(("abc_DEF-1", 42)));
        assert_eq!(parse_id("a.b.7"), None, "a stream name has no dots");
        assert_eq!(parse_id(".7"), None);
        assert_eq!(parse_id("abc.x"), None);
        assert_eq!(parse_id("abc"), None);
    }

    #[test]
    fn accept_must_name_the_event_stream() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_event_stream(&headers));
        headers.insert("accept", "application/json".parse().unwrap());
        assert!(!accepts_event_stream(&headers));
        headers.append("accept", "text/event-stream; q=0.9".parse().unwrap());
        assert!(accepts_event_stream(&headers));
    }
}
