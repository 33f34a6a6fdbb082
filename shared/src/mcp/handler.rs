//! The `/mcp` endpoint (Streamable HTTP, legacy era): POST carries JSON-RPC, DELETE ends a session,
//! GET is 405 because responses are buffered (no server-initiated stream).

use ::http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use futures_util::future::join_all;
use lambda_http::{Body, Request};
use serde_json::Value;

use super::{
    dispatch, initialize,
    jsonrpc::{self, Incoming},
    modern,
    upstream::Ctx,
    version::{self, Era},
    Session,
};
use crate::{
    auth::{metadata, Principal},
    gate, http,
    ratelimit::Decision,
    store::now_secs,
    telemetry, App, GatewayError,
};

/// Serves one request to `/mcp`. Never fails: every error becomes its mapped response.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let started = std::time::Instant::now();
    let headers = request.headers();
    let mut seen = Seen::default();
    let (routed, notes) = telemetry::scoped(route(app, &request, &mut seen)).await;
    let (mut response, error) = match routed {
        Ok(response) => (response, None),
        Err(error) => (http::error(&error, &Value::Null, Era::Legacy), Some(error)),
    };
    gate::decorate(app, headers, error.as_ref(), seen.decision.as_ref(), &mut response);
    if response.status() != StatusCode::FORBIDDEN {
        http::cors_headers(headers, &mut response);
    }
    let method = seen.rpc_method.as_deref().unwrap_or(request.method().as_str());
    let mut record = telemetry::RequestRecord::new("/mcp", method, response.status().as_u16(), started.elapsed());
    record.principal_id = seen.principal.as_deref();
    record.rate_limited = response.status() == StatusCode::TOO_MANY_REQUESTS;
    record.auth_denied = matches!(error, Some(GatewayError::Auth(_)));
    telemetry::observe_noted(record, &notes);
    response
}

/// What the request revealed on its way through, for headers, the log line and metrics.
#[derive(Default)]
struct Seen {
    decision: Option<Decision>,
    principal: Option<String>,
    /// The JSON-RPC method, when the body was one message.
    rpc_method: Option<String>,
}

async fn route(app: &App, request: &Request, seen: &mut Seen) -> Result<Response<Body>, GatewayError> {
    let headers = request.headers();
    http::check_origin(&app.config, headers)?;
    let host = http::header(headers, "host");
    if request.method() == Method::OPTIONS {
        return Ok(http::preflight(headers));
    }
    // RFC 9728 metadata is public: it is how a client learns where to get a token.
    if request.method() == Method::GET && metadata::is_metadata_path(&app.config.auth, host, request.uri().path()) {
        return Ok(http::json(StatusCode::OK, &metadata::document(&app.config.auth, host)));
    }
    // This instance's circuit breakers and settled names: public like /health, states only.
    if request.method() == Method::GET && request.uri().path() == crate::health::INSTANCE_PATH {
        return Ok(crate::health::instance_response(app));
    }
    // Every request is authenticated on its own, before its body is even parsed, and charged.
    let admitted = gate::admit(app, request).await?;
    seen.decision = admitted.decision;
    seen.principal = Some(admitted.principal.id.clone());
    let principal = admitted.principal;
    match *request.method() {
        Method::POST => Ok(post(app, request, &principal, seen).await),
        // 2026-07-28 has no sessions to end.
        Method::DELETE if modern::is_modern(headers, &Value::Null) => Err(GatewayError::MethodNotAllowed),
        Method::DELETE => delete(app, headers, &principal).await,
        _ => Err(GatewayError::MethodNotAllowed),
    }
}

async fn post(app: &App, request: &Request, principal: &Principal, seen: &mut Seen) -> Response<Body> {
    let parsed = http::check_content_type(request.headers())
        .and_then(|()| http::check_accept(request.headers()))
        .and_then(|()| http::body(request, app.config.max_body_bytes))
        .and_then(|body| serde_json::from_slice::<Value>(body).map_err(|_| GatewayError::Parse));
    let message = match parsed {
        Ok(message) => message,
        Err(error) => return http::error(&error, &Value::Null, Era::Legacy),
    };
    seen.rpc_method = message.get("method").and_then(Value::as_str).map(str::to_owned);
    if modern::is_modern(request.headers(), &message) {
        return modern::handle(app, request.headers(), message, principal).await;
    }
    let id = jsonrpc::id_of(&message);
    match post_message(app, request.headers(), message, principal).await {
        Ok(response) => response,
        Err(error) => http::error(&error, &id, Era::Legacy),
    }
}

async fn post_message(
    app: &App,
    headers: &HeaderMap,
    message: Value,
    principal: &Principal,
) -> Result<Response<Body>, GatewayError> {
    if let Some(v) = http::header(headers, "mcp-protocol-version").filter(|v| !version::is_supported(v)) {
        return Err(GatewayError::UnsupportedProtocolVersion(v.to_owned()));
    }
    if let Value::Array(messages) = message {
        return batch(app, headers, principal, messages).await;
    }
    let incoming = jsonrpc::classify(&message)?;
    if let Incoming::Request { id, method, params } = &incoming {
        if method == "initialize" {
            let (session, result) = initialize::initialize(app, principal, params).await?;
            let mut response = http::json(StatusCode::OK, &jsonrpc::success(id, result));
            let session_id = HeaderValue::try_from(session.id).map_err(|e| GatewayError::Internal(e.to_string()))?;
            response.headers_mut().insert("mcp-session-id", session_id);
            return Ok(response);
        }
    }
    let ctx = Ctx::new(app, principal, load_session(app, headers, principal).await?);
    let reply = answer(&ctx, incoming).await;
    save(app, ctx).await;
    match reply {
        None => Ok(http::empty(StatusCode::ACCEPTED)),
        Some((id, Ok(result))) => Ok(http::json(StatusCode::OK, &jsonrpc::success(&id, result))),
        Some((id, Err(error))) => Ok(http::error(&error, &id, Era::Legacy)),
    }
}

/// JSON-RPC batches (2025-03-26 only): each message answered on its own, notifications silently.
async fn batch(
    app: &App,
    headers: &HeaderMap,
    principal: &Principal,
    messages: Vec<Value>,
) -> Result<Response<Body>, GatewayError> {
    if messages.is_empty() {
        return Err(GatewayError::InvalidRequest("an empty batch is not a request".into()));
    }
    let session = load_session(app, headers, principal).await?;
    if !version::allows_batches(&session.protocol_version) {
        return Err(GatewayError::InvalidRequest(format!(
            "JSON-RPC batches are only accepted in protocol version 2025-03-26; this session uses {}",
            session.protocol_version
        )));
    }
    let ctx = Ctx::new(app, principal, session);
    let replies = join_all(messages.iter().map(|message| async {
        let id = jsonrpc::id_of(message);
        match jsonrpc::classify(message) {
            Err(error) => Some(jsonrpc::failure(&id, error.mapping(Era::Legacy).error)),
            Ok(incoming) => answer(&ctx, incoming).await.map(|(id, reply)| match reply {
                Ok(result) => jsonrpc::success(&id, result),
                Err(error) => jsonrpc::failure(&id, error.mapping(Era::Legacy).error),
            }),
        }
    }))
    .await;
    save(app, ctx).await;
    let replies: Vec<Value> = replies.into_iter().flatten().collect();
    if replies.is_empty() {
        return Ok(http::empty(StatusCode::ACCEPTED));
    }
    Ok(http::json(StatusCode::OK, &Value::Array(replies)))
}

/// The reply to one message of an established session; `None` for notifications and responses.
async fn answer(ctx: &Ctx<'_>, incoming: Incoming) -> Option<(Value, Result<Value, GatewayError>)> {
    match incoming {
        Incoming::Request { id, method, params } => {
            let result = dispatch::request(ctx, &method, &params).await;
            Some((id, result))
        }
        // `initialized`, `cancelled` (a buffered call cannot be interrupted) and `roots/list_changed`
        // need no action from the gateway.
        Incoming::Notification { .. } | Incoming::Response => None,
    }
}

async fn load_session(app: &App, headers: &HeaderMap, principal: &Principal) -> Result<Session, GatewayError> {
    let id = http::header(headers, "mcp-session-id").ok_or(GatewayError::SessionRequired)?;
    let session = app.sessions.load(id).await?.ok_or(GatewayError::SessionNotFound)?;
    // A session belongs to its creator; to anyone else it does not exist (no oracle for valid ids).
    if session.owner != principal.id {
        return Err(GatewayError::SessionNotFound);
    }
    match http::header(headers, "mcp-protocol-version") {
        Some(v) if v != session.protocol_version => Err(GatewayError::InvalidRequest(format!(
            "MCP-Protocol-Version {v} does not match the version negotiated for this session ({})",
            session.protocol_version
        ))),
        _ => Ok(session),
    }
}

/// Saves the session when backend sessions were opened, or to slide its expiry forward (at most once
/// per half TTL, so a busy session does not cost a write per request).
async fn save(app: &App, ctx: Ctx<'_>) {
    let (mut session, changed) = ctx.finish();
    let ttl = app.config.session_ttl.as_secs();
    let now = now_secs();
    if changed || session.expires_at < now + ttl / 2 {
        session.expires_at = now + ttl;
        if let Err(error) = app.sessions.save(&session).await {
            tracing::warn!(%error, "could not save the session; backend sessions will be reopened");
        }
    }
}

async fn delete(app: &App, headers: &HeaderMap, principal: &Principal) -> Result<Response<Body>, GatewayError> {
    let session = load_session(app, headers, principal).await?;
    app.sessions.delete(&session.id).await?;
    if let Err(error) = app.pii.forget(&format!("session:{}", session.id)).await {
        tracing::warn!(%error, "could not delete the session's PII vault; it expires with its TTL");
    }
    let ends = session.backends.iter().filter_map(|(id, state)| {
        let backend = app.config.backends.get(id)?;
        let backend_session = state.session_id.as_deref()?;
        Some(app.client.end_session(backend, backend_session, &state.protocol_version))
    });
    join_all(ends).await;
    Ok(http::empty(StatusCode::NO_CONTENT))
}
