//! The `/mcp` endpoint (Streamable HTTP, legacy era): POST carries JSON-RPC, DELETE ends a session,
//! GET is 405 because responses are buffered (no server-initiated stream). Admission (authentication and
//! the caller's rate limit) happens in `gate`; every response is finished by `http::finish`.

use ::http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use lambda_http::{Body, Request};
use serde_json::Value;

use super::{batch, dispatch, initialize, modern, session, upstream::Ctx};
use crate::{
    auth::metadata,
    gate::{self, Caller},
    http::{self, Served},
    protocol::{
        jsonrpc::{self, Incoming},
        version, Era, Session,
    },
    ratelimit::Decision,
    telemetry, App, GatewayError,
};

/// The route, as API Gateway names it.
pub const ROUTE: &str = "/mcp";

/// Serves one request to `/mcp`. Never fails: every error becomes its mapped response.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let started = std::time::Instant::now();
    let headers = request.headers();
    let mut seen = Seen::default();
    let (routed, notes) = telemetry::scoped(route(app, &request, &mut seen)).await;
    let (response, error) = match routed {
        Ok(response) => (response, None),
        Err(error) => (http::error(&error, &Value::Null, Era::Legacy), Some(error)),
    };
    let mut served = Served::new(ROUTE, seen.rpc_method.as_deref().unwrap_or(request.method().as_str()), started);
    served.principal = seen.principal.as_deref();
    served.decision = seen.decision.as_ref();
    served.auth_error = match &error {
        Some(GatewayError::Auth(auth)) => Some((auth, &app.config.auth)),
        _ => None,
    };
    served.origin_checked = !matches!(error, Some(GatewayError::ForbiddenOrigin | GatewayError::ForbiddenHost));
    served.notes = Some(&notes);
    http::finish(headers, &served, response)
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
    if request.method() == Method::OPTIONS {
        return Ok(http::preflight(headers));
    }
    let host = http::header(headers, "host");
    // RFC 9728 metadata is public: it is how a client learns where to get a token.
    if request.method() == Method::GET && metadata::is_metadata_path(&app.config.auth, host, request.uri().path()) {
        return Ok(http::json(StatusCode::OK, &metadata::document(&app.config.auth, host)));
    }
    // This instance's circuit breakers and settled names: public like /health, states only.
    if request.method() == Method::GET && request.uri().path() == crate::health::INSTANCE_PATH {
        return Ok(crate::health::instance_response(app));
    }
    // Every request is authenticated on its own, before its body is even parsed. A POST is charged per
    // message once its body is read; anything else now.
    let caller = gate::authenticate(app, request).await?;
    seen.principal = Some(caller.principal.id.clone());
    if request.method() == Method::POST {
        return Ok(post(app, request, &caller, seen).await);
    }
    seen.decision = gate::charge(app, &caller.budget).await?;
    match *request.method() {
        // 2026-07-28 has no sessions to end.
        Method::DELETE if modern::is_modern(headers, &Value::Null) => Err(GatewayError::MethodNotAllowed),
        Method::DELETE => {
            session::end(app, headers, &caller.principal).await?;
            Ok(http::empty(StatusCode::NO_CONTENT))
        }
        _ => Err(GatewayError::MethodNotAllowed),
    }
}

/// The body as JSON, after the transport checks.
fn read(app: &App, request: &Request) -> Result<Value, GatewayError> {
    http::check_content_type(request.headers())?;
    http::check_accept(request.headers())?;
    let body = http::body(request, app.config.max_body_bytes)?;
    serde_json::from_slice::<Value>(body).map_err(|_| GatewayError::Parse)
}

async fn post(app: &App, request: &Request, caller: &Caller, seen: &mut Seen) -> Response<Body> {
    let headers = request.headers();
    let message = match read(app, request) {
        Ok(message) => message,
        // A body that cannot be read still costs one request: floods of garbage are limited too.
        Err(error) => {
            let refused = gate::charge(app, &caller.budget).await.err();
            return http::error(refused.as_ref().unwrap_or(&error), &Value::Null, Era::Legacy);
        }
    };
    if let Value::Array(messages) = message {
        return batch::answer(app, headers, caller, messages, &mut seen.decision).await;
    }
    seen.rpc_method = message.get("method").and_then(Value::as_str).map(str::to_owned);
    let era = if modern::is_modern(headers, &message) { Era::Modern } else { Era::Legacy };
    let id = jsonrpc::id_of(&message);
    // The session is read while the limit is charged: independent store calls, one round trip.
    let opens_session = seen.rpc_method.as_deref() == Some("initialize") && message.get("id").is_some();
    let session = (era == Era::Legacy && !opens_session).then(|| session::load(app, headers, &caller.principal));
    let (charged, session) = gate::charge_alongside(app, &caller.budget, session).await;
    match charged {
        Ok(decision) => seen.decision = decision,
        Err(refused) => return http::error(&refused, &id, era),
    }
    if era == Era::Modern {
        return modern::handle(app, headers, message, caller).await;
    }
    match post_message(app, headers, message, caller, session).await {
        Ok(response) => response,
        Err(error) => http::error(&error, &id, Era::Legacy),
    }
}

/// One legacy-era message; `session` is the session already read for it, if any.
async fn post_message(
    app: &App,
    headers: &HeaderMap,
    message: Value,
    caller: &Caller,
    session: Option<Result<Session, GatewayError>>,
) -> Result<Response<Body>, GatewayError> {
    if let Some(v) = http::header(headers, "mcp-protocol-version").filter(|v| !version::is_supported(v)) {
        return Err(GatewayError::UnsupportedProtocolVersion(v.to_owned()));
    }
    let principal = &caller.principal;
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
    let session = match session {
        Some(session) => session?,
        None => session::load(app, headers, principal).await?,
    };
    let mut ctx = Ctx::new(app, principal, session);
    ctx.budget = Some(caller.budget.clone());
    let reply = answer(&ctx, incoming).await;
    session::save(app, ctx).await;
    match reply {
        None => Ok(http::empty(StatusCode::ACCEPTED)),
        Some((id, Ok(result))) => Ok(http::json(StatusCode::OK, &jsonrpc::success(&id, result))),
        Some((id, Err(error))) => Ok(http::error(&error, &id, Era::Legacy)),
    }
}

/// The reply to one message of an established session; `None` for notifications and responses.
pub(super) async fn answer(ctx: &Ctx<'_>, incoming: Incoming) -> Option<(Value, Result<Value, GatewayError>)> {
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
