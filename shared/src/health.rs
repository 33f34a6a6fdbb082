//! Two views of the backends. Both report states and reasons only: never URLs, headers or credentials.
//!
//! - `GET /health` (the `health` function): each backend is *probed now* (`initialize`, then
//!   `tools/list`, in parallel, each bounded), without circuit breakers or caches, so it shows what a
//!   fresh instance would find. It also reports name collisions between the backends' tools. It reads
//!   no secrets, so backends that need a credential are probed without one: a 401/403 then proves the
//!   backend answers, not that the gateway's credential works.
//! - `GET /mcp/health` (the `mcp` function): what *this* mcp instance has seen: each backend's circuit
//!   breaker (state, recent failures, time until the next attempt), the transport in use, the age of its
//!   cached lists, and the collisions met when names were settled. Breakers are per instance, so
//!   another instance may show another state; nothing is probed.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::{
    backend::{Backend, BackendError, BackendSet, BreakerState, Collision, McpHttpClient, Reply},
    App,
};

/// Where the mcp function serves its own view.
pub const INSTANCE_PATH: &str = "/mcp/health";
/// The health function's route.
pub const ROUTE: &str = "/health";
/// A probe never waits longer than this, whatever the backend's own timeout.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// One backend's probe: its JSON detail and, when it answered `tools/list`, its tool names.
struct Probe {
    detail: Value,
    tools: Option<Vec<String>>,
}

/// Status and body. `ok` = all backends up, `degraded` = some, `down` = none (503).
pub async fn report(gateway: &str, backends: &BackendSet, client: &McpHttpClient) -> (StatusCode, Value) {
    let probes = join_all(backends.iter().map(|b| probe(b, client))).await;
    let up = probes.iter().filter(|p| p.detail["status"] == "up").count();
    let listings: Vec<_> =
        backends.iter().zip(&probes).filter_map(|(b, p)| Some((b.clone(), p.tools.clone()?))).collect();
    let collisions = backends.expose_all(&listings).collisions;
    let details: Map<String, Value> = backends.iter().zip(probes).map(|(b, p)| (b.id.clone(), p.detail)).collect();
    let body = json!({
        "status": summary(up, backends.len()).1,
        "gateway": gateway,
        "version": env!("CARGO_PKG_VERSION"),
        "view": "probes by the health function now; circuit breakers are per mcp instance (GET /mcp/health)",
        "backends": details,
        "collisions": collisions.iter().map(|c| collision("tools", c)).collect::<Vec<_>>(),
    });
    (summary(up, backends.len()).0, body)
}

fn summary(up: usize, total: usize) -> (StatusCode, &'static str) {
    match up {
        n if n == total => (StatusCode::OK, "ok"),
        0 => (StatusCode::SERVICE_UNAVAILABLE, "down"),
        _ => (StatusCode::OK, "degraded"),
    }
}

/// One backend probed now (`initialize`, `tools/list`): its detail and its tools' own names. The admin
/// API's connection test.
pub async fn probe_one(backend: &Backend, client: &McpHttpClient) -> (Value, Option<Vec<String>>) {
    let probe = probe(backend, client).await;
    (probe.detail, probe.tools)
}

async fn probe(backend: &Backend, client: &McpHttpClient) -> Probe {
    let started = Instant::now();
    let limit = backend.timeout.min(PROBE_LIMIT);
    let outcome = tokio::time::timeout(limit, probe_unbounded(backend, client)).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let transport = client.transport(backend).as_str();
    let down =
        |error: String| json!({ "status": "down", "latencyMs": latency_ms, "transport": transport, "error": error });
    match outcome {
        Ok(Ok((mut detail, tools))) => {
            detail["latencyMs"] = json!(latency_ms);
            detail["transport"] = json!(client.transport(backend).as_str());
            Probe { detail, tools }
        }
        // Without secrets the health function cannot present the backend's credential: an auth
        // challenge still proves the backend is up and answering.
        Ok(Err(BackendError::Status(status @ (401 | 403)))) if backend.credential.is_some() => Probe {
            detail: json!({ "status": "up", "latencyMs": latency_ms, "transport": transport,
                "authCheck": format!("skipped: answered {status} to a probe without the gateway's own credential") }),
            tools: None,
        },
        Ok(Err(error)) => Probe { detail: down(error.to_string()), tools: None },
        Err(_) => Probe { detail: down(format!("timed out after {limit:?}")), tools: None },
    }
}

/// `initialize`, then `tools/list` (first page is enough to see the backend answer; names from every
/// page a few round-trips allow), then the session is ended.
async fn probe_unbounded(
    backend: &Backend,
    client: &McpHttpClient,
) -> Result<(Value, Option<Vec<String>>), BackendError> {
    let handshake = client.initialize(backend, crate::protocol::version::LATEST).await?;
    let capabilities: Vec<&String> = handshake.capabilities.as_object().map(|c| c.keys().collect()).unwrap_or_default();
    let mut detail =
        json!({ "status": "up", "protocolVersion": handshake.protocol_version, "capabilities": capabilities });
    let mut tools = None;
    if handshake.capabilities.get("tools").is_some() {
        let (sid, version) = (handshake.session_id.as_deref(), handshake.protocol_version.as_str());
        let mut names = Vec::new();
        let mut params = json!({});
        for _ in 0..10 {
            let Reply::Result(page) = client.request(backend, sid, version, "tools/list", params.clone()).await? else {
                detail["tools"] = json!("tools/list answered with an error");
                break;
            };
            let found = page.get("tools").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            names.extend(found.iter().filter_map(|t| t.get("name")?.as_str().map(str::to_owned)));
            match page.get("nextCursor") {
                Some(cursor @ Value::String(_)) => params = json!({ "cursor": cursor }),
                _ => break,
            }
        }
        detail["toolCount"] = json!(names.len());
        tools = Some(names);
    }
    if let Some(session) = &handshake.session_id {
        client.end_session(backend, session, &handshake.protocol_version).await;
    }
    Ok((detail, tools))
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

/// The mcp instance's own view (see the module documentation). `down` (503) when every breaker is open.
pub fn instance_view(app: &App) -> (StatusCode, Value) {
    let client = &app.client;
    let mut details = Map::new();
    let mut usable = 0;
    let backends = app.backends();
    for backend in backends.iter() {
        let mut detail = json!({ "transport": client.transport(backend).as_str() });
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
    let (status, word) = summary(usable, backends.len());
    let collisions: Vec<Value> = app.tools.collisions().iter().map(|(list, c)| collision(list, c)).collect();
    let body = json!({
        "status": word,
        "gateway": app.config.gateway_name,
        "version": env!("CARGO_PKG_VERSION"),
        "view": "this mcp instance: circuit breakers and settled names; nothing probed (probes: GET /health)",
        "listCacheTtlMs": client.lists().ttl().as_millis() as u64,
        "backends": details,
        "collisions": collisions,
    });
    (status, body)
}

/// `GET /mcp/health` on the mcp function.
pub fn instance_response(app: &App) -> http::Response<lambda_http::Body> {
    let (status, body) = instance_view(app);
    crate::http::json(status, &body)
}

/// The `/health` route: GET only.
pub async fn handle(
    config: &crate::Config,
    client: &McpHttpClient,
    request: &lambda_http::Request,
) -> http::Response<lambda_http::Body> {
    let started = Instant::now();
    let response = if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
        crate::http::not_allowed("GET")
    } else {
        // The client's backends: the document's, plus those stored through the admin API.
        let (status, body) = report(&config.gateway_name, &client.backends(), client).await;
        crate::http::json(status, &body)
    };
    let served = crate::http::Served::new(ROUTE, request.method().as_str(), started);
    crate::http::finish(request.headers(), &served, response)
}
