//! Health, in two views. Neither ever shows URLs, headers or credentials.
//!
//! - **Liveness** (`GET /health` on the `health` function, and `GET /mcp/health` without a credential):
//!   `{"status":"ok"}` and nothing else: no backend id, capability or tool count, and no backend is
//!   contacted, so an anonymous caller learns nothing and makes the gateway spend nothing. Rate-limited per
//!   client address (`RATE_LIMIT_PUBLIC`, counted per instance). The `health` function reads no secret and
//!   touches no table.
//! - **Detailed** (`GET /mcp/health` on the `mcp` function, with a credential holding `gateway:health`,
//!   charged to the caller's own limit): what this instance has seen — each backend's circuit breaker
//!   (state, recent failures, time until the next attempt), the transport in use, the age of its cached
//!   lists, and the name collisions it settled. With `?probe=1` every backend the caller could reach is
//!   also probed (`initialize` + `tools/list`, with the gateway's own credential), through the instance's
//!   shared probes: at most one probe per backend per [`PROBE_FRESH_FOR`], whoever asks.

use futures_util::future::join_all;
use http::{HeaderMap, StatusCode};
use lambda_http::{Body, Request};
use serde_json::{json, Map, Value};

use crate::{
    auth::{AuthMode, Principal},
    backend::{BreakerState, Collision, Probe, PROBE_FRESH_FOR},
    gate,
    http::{self as web, Served},
    ratelimit::{Decision, PublicLimiter},
    App,
};

/// Where the mcp function serves the detailed view (and liveness to callers without a credential).
pub const INSTANCE_PATH: &str = "/mcp/health";
/// The health function's route.
pub const ROUTE: &str = "/health";
/// The scope of the detailed view.
pub const HEALTH_SCOPE: &str = "gateway:health";

/// The liveness answer.
pub fn liveness() -> http::Response<Body> {
    web::json(StatusCode::OK, &json!({ "status": "ok" }))
}

/// Whether a request to `/mcp/health` asks for the detailed view: it carries a credential, or every
/// caller is trusted (`AUTH_MODE=none` with `ALLOW_INSECURE`).
pub fn wants_detail(app: &App, headers: &HeaderMap) -> bool {
    let auth = &app.config.auth;
    let open = auth.mode == AuthMode::None && auth.insecure_refusal().is_none();
    open || headers.contains_key(http::header::AUTHORIZATION) || headers.contains_key("x-api-key")
}

fn summary(up: usize, total: usize) -> (StatusCode, &'static str) {
    match up {
        n if n == total => (StatusCode::OK, "ok"),
        0 => (StatusCode::SERVICE_UNAVAILABLE, "down"),
        _ => (StatusCode::OK, "degraded"),
    }
}

fn collision(list: &str, c: &Collision) -> Value {
    json!({
        "list": list,
        "name": c.name,
        "kept": { "backend": c.kept.0, "name": c.kept.1 },
        "renamed": c.renamed.iter().map(|(backend, name, exposed)| {
            json!({ "backend": backend, "name": name, "exposedAs": exposed })
        }).collect::<Vec<_>>(),
    })
}

/// The detailed view for `principal` (who holds `gateway:health`); probes first when `probe`. Status:
/// from the probes when probing (`down`, 503, when no backend answers), else from the breakers (`down`
/// when every breaker is open).
pub async fn detailed(app: &App, principal: &Principal, probe: bool) -> (StatusCode, Value) {
    let client = &app.client;
    let backends = app.backends();
    let probes: Vec<Option<Probe>> = if probe {
        join_all(backends.iter().map(|b| async move { Some(app.probes.probe(b).await) })).await
    } else {
        backends.iter().map(|_| None).collect()
    };
    let mut details = Map::new();
    let (mut usable, mut up, mut probed) = (0, 0, 0);
    for (backend, probe) in backends.iter().zip(&probes) {
        let mut detail = json!({ "transport": client.transport(backend).as_str() });
        if let Some(probe) = probe {
            up += usize::from(probe.is_up());
            probed += usize::from(probe.is_probed());
            if let Some(fields) = probe.detail.as_object() {
                detail.as_object_mut().into_iter().for_each(|d| d.extend(fields.clone()));
            }
            detail["probedAgoMs"] = json!(probe.at.elapsed().as_millis() as u64);
        }
        if let Some(breaker) = client.breaker(&backend.id) {
            if breaker.state != BreakerState::Open {
                usable += 1;
            }
            let count = match breaker.state {
                BreakerState::HalfOpen => "successes",
                BreakerState::Closed | BreakerState::Open => "recentFailures",
            };
            let mut b = json!({ "state": breaker.state.as_str(), count: breaker.count, "opened": breaker.opened });
            if let Some(retry_in) = breaker.retry_in {
                b["retryInMs"] = json!(retry_in.as_millis() as u64);
            }
            detail["breaker"] = b;
        }
        if let Some(age) = client.lists().age(&backend.id) {
            detail["listCacheAgeMs"] = json!(age.as_millis() as u64);
        }
        details.insert(backend.id.clone(), detail);
    }
    let (status, word) = if probe { summary(up, probed) } else { summary(usable, backends.len()) };
    let mut collisions: Vec<Value> = app.tools.collisions().iter().map(|(list, c)| collision(list, c)).collect();
    if probe {
        // Names settled over what the probes listed, for collisions this instance has not met yet.
        let listings: Vec<_> =
            backends.iter().zip(&probes).filter_map(|(b, p)| Some((b.clone(), p.as_ref()?.tools.clone()?))).collect();
        for c in backends.expose_all(&listings).collisions {
            if !collisions.iter().any(|known| known["list"] == "tools" && known["name"] == c.name.as_str()) {
                collisions.push(collision("tools", &c));
            }
        }
    }
    let body = json!({
        "status": word,
        "gateway": app.config.gateway_name,
        "version": env!("CARGO_PKG_VERSION"),
        "principal": principal.id,
        "view": "this mcp instance: circuit breakers, caches and settled names; ?probe=1 probes the backends",
        "listCacheTtlMs": client.lists().ttl().as_millis() as u64,
        "probeFreshForMs": PROBE_FRESH_FOR.as_millis() as u64,
        "backends": details,
        "collisions": collisions,
    });
    (status, body)
}

/// Whether the request asks for probes (`?probe=1` or `?probe=true`).
pub fn wants_probes(request: &Request) -> bool {
    use lambda_http::RequestExt;
    matches!(request.query_string_parameters_ref().and_then(|q| q.first("probe")), Some("1" | "true"))
}

/// The answer to a public request its address may not make now: 429 with the limit's state.
pub fn refused(decision: &Decision) -> http::Response<Body> {
    let message = crate::GatewayError::RateLimited(decision.clone()).to_string();
    web::json(StatusCode::TOO_MANY_REQUESTS, &json!({ "error": message }))
}

/// The `/health` route of the health function: liveness only, rate-limited per client address.
pub fn handle(limiter: &PublicLimiter, trusted_hops: usize, request: &Request) -> http::Response<Body> {
    let started = std::time::Instant::now();
    let (response, decision) = match *request.method() {
        http::Method::GET | http::Method::HEAD => match gate::admit_public(limiter, trusted_hops, request) {
            Ok(decision) => (liveness(), decision),
            Err(decision) => (refused(&decision), Some(decision)),
        },
        _ => (web::not_allowed("GET"), None),
    };
    let mut served = Served::new(ROUTE, request.method().as_str(), started);
    served.decision = decision.as_ref();
    web::finish(request.headers(), &served, response)
}
