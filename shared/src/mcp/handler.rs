//! The `/mcp` endpoint (Streamable HTTP, legacy era): POST carries JSON-RPC, DELETE ends a session, GET
//! opens the session's standalone stream when streaming is on (`GATEWAY_STREAMING=on`; else 405). A POST
//! is answered with one JSON body, or with an event stream when streaming is on and the request produces
//! more than its result (`stream`). Admission (authentication and the caller's rate limit) happens in
//! `gate`; every response, streamed or not, is finished by `http::finish`.

use std::sync::Arc;

use ::http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use lambda_http::Request;
use serde_json::Value;

use super::{
    batch, dispatch, initialize, modern, session,
    stream::{self, RelayFor},
    upstream::Ctx,
};
use crate::{
    auth::metadata,
    gate::{self, Caller},
    health,
    http::{self, ResponseBody, Served},
    protocol::{
        jsonrpc::{self, Incoming},
        version, Era, Session, VaultScope,
    },
    ratelimit::Decision,
    telemetry, App, GatewayError,
};

/// The route, as API Gateway names it.
pub const ROUTE: &str = "/mcp";

/// Serves one request to `/mcp`. Never fails: every error becomes its mapped response.
pub async fn handle(app: &Arc<App>, request: Request) -> Response<ResponseBody> {
    let started = std::time::Instant::now();
    let headers = request.headers();
    let mut seen = Seen::default();
    // Boxed: the route's future type nests deep (streams, relays, backend exchanges), and callers (the
    // runtimes, tests) need not carry its layout in theirs.
    let (routed, notes) = telemetry::scoped(Box::pin(route(app, &request, &mut seen))).await;
    let (response, error) = match routed {
        Ok(response) => (response, None),
        Err(error) => (http::error(&error, &Value::Null, Era::Legacy).map(ResponseBody::from), Some(error)),
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

async fn route(app: &Arc<App>, request: &Request, seen: &mut Seen) -> Result<Response<ResponseBody>, GatewayError> {
    // Changes stored through the admin API (at most one small read per poll interval).
    app.sync().await;
    let headers = request.headers();
    http::check_origin(&app.config, headers)?;
    if request.method() == Method::OPTIONS {
        return Ok(http::preflight(headers).map(ResponseBody::from));
    }
    let host = http::header(headers, "host");
    // RFC 9728 metadata is public: it is how a client learns where to get a token. Limited per address.
    if request.method() == Method::GET && metadata::is_metadata_path(&app.config.auth, host, request.uri().path()) {
        seen.decision = public(app, request)?;
        return Ok(http::json(StatusCode::OK, &metadata::document(&app.config.auth, host)).map(ResponseBody::from));
    }
    if request.method() == Method::GET && request.uri().path() == health::INSTANCE_PATH {
        return health_view(app, request, seen).await.map(|r| r.map(ResponseBody::from));
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
            Ok(http::empty(StatusCode::NO_CONTENT).map(ResponseBody::from))
        }
        // The standalone stream of a session; 2026-07-28 has none (it listens with a POST).
        Method::GET if app.config.streaming.standalone() && !modern::is_modern(headers, &Value::Null) => {
            stream::open_standalone(app.clone(), headers, caller.principal).await
        }
        _ => Err(GatewayError::MethodNotAllowed),
    }
}

/// Counts a request to a public route against the client's address (in this instance's memory).
fn public(app: &App, request: &Request) -> Result<Option<Decision>, GatewayError> {
    let hops = app.limiter.config().trusted_proxy_hops;
    gate::admit_public(&app.public, hops, request).map_err(GatewayError::RateLimited)
}

/// `GET /mcp/health`: liveness for a caller without a credential; the detailed view (and probes) only
/// for an authenticated caller holding `gateway:health`, charged to its own limit.
async fn health_view(
    app: &App,
    request: &Request,
    seen: &mut Seen,
) -> Result<Response<lambda_http::Body>, GatewayError> {
    if !health::wants_detail(app, request.headers()) {
        seen.decision = public(app, request)?;
        return Ok(health::liveness());
    }
    let caller = gate::authenticate(app, request).await?;
    seen.principal = Some(caller.principal.id.clone());
    seen.decision = gate::charge(app, &caller.budget).await?;
    caller.principal.require(health::HEALTH_SCOPE)?;
    let (status, body) = health::detailed(app, &caller.principal, health::wants_probes(request)).await;
    Ok(http::json(status, &body))
}

/// The body as JSON, after the transport checks.
fn read(app: &App, request: &Request) -> Result<Value, GatewayError> {
    http::check_content_type(request.headers())?;
    http::check_accept(request.headers())?;
    let body = http::body(request, app.config.max_body_bytes)?;
    serde_json::from_slice::<Value>(body).map_err(|_| GatewayError::Parse)
}

async fn post(app: &Arc<App>, request: &Request, caller: &Caller, seen: &mut Seen) -> Response<ResponseBody> {
    let headers = request.headers();
    let message = match read(app, request) {
        Ok(message) => message,
        // A body that cannot be read still costs one request: floods of garbage are limited too.
        Err(error) => {
            let refused = gate::charge(app, &caller.budget).await.err();
            return http::error(refused.as_ref().unwrap_or(&error), &Value::Null, Era::Legacy).map(ResponseBody::from);
        }
    };
    if let Value::Array(messages) = message {
        return batch::answer(app, headers, caller, messages, &mut seen.decision).await.map(ResponseBody::from);
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
        Err(refused) => return http::error(&refused, &id, era).map(ResponseBody::from),
    }
    if era == Era::Modern {
        return modern::handle(app, headers, message, caller).await;
    }
    match post_message(app, headers, message, caller, session).await {
        Ok(response) => response,
        Err(error) => http::error(&error, &id, Era::Legacy).map(ResponseBody::from),
    }
}

/// One legacy-era message; `session` is the session already read for it, if any.
async fn post_message(
    app: &Arc<App>,
    headers: &HeaderMap,
    message: Value,
    caller: &Caller,
    session: Option<Result<Session, GatewayError>>,
) -> Result<Response<ResponseBody>, GatewayError> {
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
            return Ok(response.map(ResponseBody::from));
        }
    }
    let session = match session {
        Some(session) => session?,
        None => session::load(app, headers, principal).await?,
    };
    let streaming = app.config.streaming.replies();
    match incoming {
        Incoming::Request { id, method, params } if streaming && stream::STREAMED.contains(&method.as_str()) => {
            return Ok(streamed(app, session, caller, id, method, params).await);
        }
        // The client's answer to a request a backend sent it on a stream of this session.
        Incoming::Response if streaming => {
            stream::deliver(app, &session, principal, &message).await?;
            return Ok(http::empty(StatusCode::ACCEPTED).map(ResponseBody::from));
        }
        _ => {}
    }
    let mut ctx = Ctx::new(app, principal, session);
    ctx.budget = Some(caller.budget.clone());
    let reply = answer(&ctx, incoming).await;
    session::save(app, ctx).await;
    let response = match reply {
        None => http::empty(StatusCode::ACCEPTED),
        Some((id, Ok(result))) => http::json(StatusCode::OK, &jsonrpc::success(&id, result)),
        Some((id, Err(error))) => http::error(&error, &id, Era::Legacy),
    };
    Ok(response.map(ResponseBody::from))
}

/// Answers a request of the session whose reply may stream: the work runs with a relay in its context,
/// and ends by saving the session and withdrawing the requests to the client nobody answered.
async fn streamed(
    app: &Arc<App>,
    session: Session,
    caller: &Caller,
    id: Value,
    method: String,
    params: Value,
) -> Response<ResponseBody> {
    let streamed = stream::relay(
        app,
        RelayFor {
            principal: caller.principal.clone(),
            era: Era::Legacy,
            method: Some(method.clone()),
            session: Some(session.id.clone()),
            client_capabilities: session.client_capabilities.clone(),
            vault: VaultScope::Session(session.id.clone()),
            params: params.clone(),
        },
    );
    let (relay, owned, principal, budget) =
        (streamed.relay.clone(), app.clone(), caller.principal.clone(), caller.budget.clone());
    let work = async move {
        let mut ctx = Ctx::new(&owned, &principal, session);
        ctx.budget = Some(budget);
        ctx.relay = Some(relay.clone());
        let result = dispatch::request(&ctx, &method, &params).await;
        session::save(&owned, ctx).await;
        relay.finish().await;
        result
    };
    stream::respond(app, id, Era::Legacy, streamed, work).await
}

/// The reply to one message of an established session; `None` for notifications and responses.
pub(super) async fn answer(ctx: &Ctx<'_>, incoming: Incoming) -> Option<(Value, Result<Value, GatewayError>)> {
    match incoming {
        Incoming::Request { id, method, params } => {
            let result = dispatch::request(ctx, &method, &params).await;
            Some((id, result))
        }
        // `initialized`, `cancelled` (a call cannot be interrupted from another request) and
        // `roots/list_changed` need no action from the gateway; with replies buffered, no client answer can
        // be waited for either.
        Incoming::Notification { .. } | Incoming::Response => None,
    }
}
