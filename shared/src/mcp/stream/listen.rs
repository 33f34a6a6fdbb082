//! 2026-07-28 `subscriptions/listen` (with `GATEWAY_STREAMING=on`): the client opts in to list changes and
//! resource updates; the gateway opens the same subscription on every backend that speaks 2026-07-28 and
//! offers what was asked, acknowledges with what it will honour, and relays the backends' notifications
//! under the client's subscription id, never one type the client did not ask for. The stream lasts at
//! most `GATEWAY_STREAM_MAX_SECS` and then ends gracefully with the listen result.

use std::sync::Arc;

use ::http::Response;
use futures_util::future::join_all;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::{event_stream, send_message};
use crate::{
    auth::Principal,
    backend::{EventStream, MODERN_VERSION},
    http::{self, ResponseBody, SseSender},
    mcp::upstream::Ctx,
    protocol::BackendSession,
    telemetry, App, GatewayError,
};

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The filter keys and the backend capability (`<family>.<flag>`) each needs.
const FILTERS: [(&str, &str, &str); 4] = [
    ("toolsListChanged", "tools", "listChanged"),
    ("promptsListChanged", "prompts", "listChanged"),
    ("resourcesListChanged", "resources", "listChanged"),
    ("resourceSubscriptions", "resources", "subscribe"),
];

fn offers(state: &BackendSession, family: &str, flag: &str) -> bool {
    state.protocol_version == MODERN_VERSION
        && state.capabilities.pointer(&format!("/{family}/{flag}")) == Some(&json!(true))
}

/// The part of `requested` that `states` can serve.
fn honoured<'a>(
    requested: &Map<String, Value>,
    states: impl Iterator<Item = &'a BackendSession> + Clone,
) -> Map<String, Value> {
    let mut honoured = Map::new();
    for (key, family, flag) in FILTERS {
        let Some(value) = requested.get(key) else { continue };
        let wanted = value == &json!(true) || value.as_array().is_some_and(|uris| !uris.is_empty());
        if wanted && states.clone().any(|s| offers(s, family, flag)) {
            honoured.insert(key.to_owned(), value.clone());
        }
    }
    honoured
}

/// Whether the backends behind `states` offer anything a listen stream could deliver: what
/// `server/discover` advertises.
pub fn advertised<'a>(states: impl Iterator<Item = &'a BackendSession> + Clone) -> Vec<(&'static str, &'static str)> {
    FILTERS
        .iter()
        .filter(|(_, family, flag)| states.clone().any(|s| offers(s, family, flag)))
        .map(|(_, family, flag)| (*family, *flag))
        .collect()
}

/// Opens the listen stream of request `id` (params already checked for their envelope).
pub async fn listen(
    app: Arc<App>,
    principal: Principal,
    capabilities: Value,
    envelope: Value,
    id: Value,
    params: &Value,
) -> Result<Response<ResponseBody>, GatewayError> {
    let requested = params
        .get("notifications")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            GatewayError::InvalidParams("subscriptions/listen needs params.notifications (an object)".into())
        })?
        .clone();
    let ctx = Ctx::modern(&app, &principal, capabilities, envelope.clone());
    let backends = app.backends();
    let states: Vec<_> = join_all(backends.iter().map(|b| ctx.backend_session(b))).await;
    let open: Vec<(Arc<crate::backend::Backend>, BackendSession)> =
        backends.iter().cloned().zip(states).filter_map(|(b, s)| Some((b, s.ok()?))).collect();
    ctx.keep_stateless();
    if advertised(open.iter().map(|(_, s)| s)).is_empty() {
        return Err(GatewayError::MethodNotFound("subscriptions/listen".into()));
    }
    let honour = honoured(&requested, open.iter().map(|(_, s)| s));
    let mut streams = Vec::new();
    for (backend, state) in &open {
        let theirs = honoured(&honour, std::iter::once(state));
        if theirs.is_empty() {
            continue;
        }
        let params = json!({ "notifications": theirs, "_meta": envelope });
        match app.client.listen(backend, params).await {
            Ok(Some(stream)) => streams.push(stream),
            Ok(None) => {}
            Err(error) => tracing::info!(backend = %backend.id, %error, "backend listen stream not opened"),
        }
    }
    let (sender, body) = http::stream();
    tokio::spawn(pump(app, id, honour, streams, sender));
    Ok(event_stream(body))
}

async fn pump(app: Arc<App>, id: Value, honoured: Map<String, Value>, streams: Vec<EventStream>, sender: SseSender) {
    let (reads, mut read) = mpsc::channel::<(String, Value)>(64);
    let readers: Vec<_> = streams.into_iter().map(|s| tokio::spawn(reader(s, reads.clone()))).collect();
    drop(reads);
    let streaming = app.config.streaming.clone();
    let ((), notes) = telemetry::scoped(async {
        let ack = json!({ "jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
            "params": { "notifications": honoured, "_meta": { SUBSCRIPTION_ID: id } } });
        let mut open = send_message(&sender, &ack, None).await;
        let deadline = tokio::time::sleep(streaming.max_stream);
        tokio::pin!(deadline);
        while open {
            tokio::select! {
                biased;
                read = read.recv() => match read {
                    Some((backend, message)) => {
                        app.client.observe(&backend, &message);
                        if let Some(message) = relayable(&honoured, &id, message) {
                            open = send_message(&sender, &message, None).await;
                        }
                    }
                    None => break, // every backend ended its stream
                },
                () = tokio::time::sleep(streaming.keepalive) => open = sender.send(http::sse_comment()).await,
                () = &mut deadline => break,
                () = sender.closed() => break,
            }
        }
        if open {
            // A graceful end: the listen result, carrying the subscription id.
            let info = json!({ "name": app.config.gateway_name, "version": env!("CARGO_PKG_VERSION") });
            let result = json!({ "jsonrpc": "2.0", "id": id, "result": { "resultType": "complete",
                "_meta": { SUBSCRIPTION_ID: id, "io.modelcontextprotocol/serverInfo": info } } });
            send_message(&sender, &result, None).await;
        }
    })
    .await;
    readers.iter().for_each(tokio::task::JoinHandle::abort);
    sender.close(notes);
}

async fn reader(mut stream: EventStream, reads: mpsc::Sender<(String, Value)>) {
    while let Ok(Some(message)) = stream.next().await {
        if reads.send((stream.backend().to_owned(), message)).await.is_err() {
            return;
        }
    }
}

/// A backend's notification as the client's subscription carries it, if the client asked for its kind.
fn relayable(honoured: &Map<String, Value>, id: &Value, mut message: Value) -> Option<Value> {
    let method = message.get("method")?.as_str()?;
    let wanted = match method {
        "notifications/tools/list_changed" => honoured.contains_key("toolsListChanged"),
        "notifications/prompts/list_changed" => honoured.contains_key("promptsListChanged"),
        "notifications/resources/list_changed" => honoured.contains_key("resourcesListChanged"),
        "notifications/resources/updated" => {
            let uri = message.pointer("/params/uri").and_then(Value::as_str);
            let uris = honoured.get("resourceSubscriptions").and_then(Value::as_array);
            uris.is_some_and(|uris| uris.iter().any(|u| u.as_str() == uri))
        }
        // The backend's own acknowledgement, responses, and anything else: not the client's business.
        _ => false,
    };
    if !wanted || message.get("id").is_some() {
        return None;
    }
    let params = message.as_object_mut()?.entry("params").or_insert_with(|| json!({}));
    let meta = params.as_object_mut()?.entry("_meta").or_insert_with(|| json!({}));
    meta.as_object_mut()?.insert(SUBSCRIPTION_ID.to_owned(), id.clone());
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_was_asked_is_relayed_under_the_clients_subscription_id() {
        let honoured: Map<String, Value> =
            serde_json::from_value(json!({ "toolsListChanged": true, "resourceSubscriptions": ["a://1"] })).unwrap();
        let id = json!(9);
        let tools = json!({ "jsonrpc": "2.0", "method": "notifications/tools/list_changed",
            "params": { "_meta": { SUBSCRIPTION_ID: "backend-own" } } });
        assert_eq!(relayable(&honoured, &id, tools).unwrap()["params"]["_meta"][SUBSCRIPTION_ID], 9);
        let prompts = json!({ "jsonrpc": "2.0", "method": "notifications/prompts/list_changed" });
        assert!(relayable(&honoured, &id, prompts).is_none());
        let other =
            json!({ "jsonrpc": "2.0", "method": "notifications/resources/updated", "params": { "uri": "a://2" } });
        assert!(relayable(&honoured, &id, other).is_none());
        let mine =
            json!({ "jsonrpc": "2.0", "method": "notifications/resources/updated", "params": { "uri": "a://1" } });
        assert!(relayable(&honoured, &id, mine).is_some());
        let ack = json!({ "jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged", "params": {} });
        assert!(relayable(&honoured, &id, ack).is_none());
    }

    #[test]
    fn honoured_is_what_some_modern_backend_offers() {
        let state = |caps: Value, version: &str| BackendSession {
            session_id: None,
            protocol_version: version.into(),
            capabilities: caps,
        };
        let modern = state(json!({ "tools": { "listChanged": true } }), MODERN_VERSION);
        let legacy = state(json!({ "prompts": { "listChanged": true } }), "2025-11-25");
        let requested: Map<String, Value> =
            serde_json::from_value(json!({ "toolsListChanged": true, "promptsListChanged": true })).unwrap();
        let got = honoured(&requested, [&modern, &legacy].into_iter());
        assert_eq!(Value::Object(got), json!({ "toolsListChanged": true }));
        assert_eq!(advertised([&legacy].into_iter()), Vec::<(&str, &str)>::new());
    }
}
