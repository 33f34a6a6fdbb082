//! The Streamable HTTP transport (2025-03-26 and later): a POST per JSON-RPC message, the reply read as
//! JSON or as an SSE stream up to the matching response (`events`).

use http::header;
use serde_json::Value;

use super::{
    client::Call,
    events::{self, Bounds, Listener, Refuse},
    wire::{encode_header, match_reply, read_body},
    BackendError, Exchange, MODERN_VERSION,
};

/// One POST of `message`, buffered: what the backend sends before its response is dropped (requests
/// refused). Bounding it in time is the caller's job.
pub(super) async fn exchange(
    call: &Call<'_>,
    session_id: Option<&str>,
    version: Option<&str>,
    message: &Value,
) -> Result<Exchange, BackendError> {
    let bounds = Bounds::buffered(call.backend.max_response_bytes);
    exchange_with(call, session_id, version, message, &Refuse, bounds).await
}

/// One POST of `message`, with `listener` hearing what the backend sends before its response.
pub(super) async fn exchange_with(
    call: &Call<'_>,
    session_id: Option<&str>,
    version: Option<&str>,
    message: &Value,
    listener: &dyn Listener,
    bounds: Bounds,
) -> Result<Exchange, BackendError> {
    let limit = bounds.event;
    let mut response = post(call, session_id, version, message).send().await.map_err(BackendError::Connect)?;
    let status = response.status();
    if !status.is_success() {
        // 2026-07-28 servers answer request errors (-32602, -32021, …) with a 4xx and a JSON-RPC body
        // keeping the id: that is the backend's answer, to be relayed, not an outage.
        if status.is_client_error() {
            let body = read_body(&mut response, limit.min(64 * 1024)).await.unwrap_or_default();
            let answer = serde_json::from_slice::<Value>(&body).ok().zip(message.get("id"));
            if let Some(error) = answer.and_then(|(body, id)| match_reply(&body, id)) {
                return Ok(Exchange { reply: Some(error), session_id: None });
            }
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
    let reply = if events::is_event_stream(&response) {
        events::read_reply(call, response, id, session, version, listener, bounds).await?
    } else {
        let body = read_body(&mut response, limit).await?;
        let value: Value =
            serde_json::from_slice(&body).map_err(|_| BackendError::InvalidResponse("body is not JSON".into()))?;
        match_reply(&value, id)
            .ok_or_else(|| BackendError::InvalidResponse("no response with the request id".into()))?
    };
    Ok(Exchange { reply: Some(reply), session_id: new_session })
}

/// A POST of one JSON-RPC message with the transport headers the spec requires. Only the backend's own
/// configured headers and credential go out: never anything of the client's.
pub(super) fn post(
    call: &Call<'_>,
    session_id: Option<&str>,
    version: Option<&str>,
    message: &Value,
) -> reqwest::RequestBuilder {
    let mut request = call
        .http
        .post(call.url.clone())
        .headers(call.headers.clone())
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

/// Ends a backend session (DELETE), best effort.
pub(super) async fn end_session(call: &Call<'_>, session_id: &str, version: &str) {
    let request = call
        .http
        .delete(call.url.clone())
        .headers(call.headers.clone())
        .header("mcp-session-id", session_id)
        .header("mcp-protocol-version", version)
        .send();
    if let Err(e) = tokio::time::timeout(call.backend.timeout, request).await.map(|r| r.map(drop)) {
        tracing::debug!(backend = %call.backend.id, error = %e, "backend session delete did not complete");
    }
}
