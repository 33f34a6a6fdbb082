//! `/health`: the gateway is alive, and each backend answers `initialize` (probed in parallel, each
//! bounded). Reports states and reasons only: never URLs, headers or credentials.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::backend::{Backend, BackendSet, McpHttpClient};

/// A probe never waits longer than this, whatever the backend's own timeout.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// Status and body. `ok` = all backends up, `degraded` = some, `down` = none (503).
pub async fn report(gateway: &str, backends: &BackendSet, client: &McpHttpClient) -> (StatusCode, Value) {
    let probes = join_all(backends.iter().map(|b| probe(b, client))).await;
    let up = probes.iter().filter(|(_, p)| p["status"] == "up").count();
    let (status, word) = match up {
        n if n == backends.len() => (StatusCode::OK, "ok"),
        0 => (StatusCode::SERVICE_UNAVAILABLE, "down"),
        _ => (StatusCode::OK, "degraded"),
    };
    let details: Map<String, Value> = probes.into_iter().collect();
    let body = json!({
        "status": word,
        "gateway": gateway,
        "version": env!("CARGO_PKG_VERSION"),
        "backends": details,
    });
    (status, body)
}

async fn probe(backend: &Backend, client: &McpHttpClient) -> (String, Value) {
    let started = Instant::now();
    let limit = backend.timeout.min(PROBE_LIMIT);
    let outcome = tokio::time::timeout(limit, client.initialize(backend, crate::mcp::version::LATEST)).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let detail = match outcome {
        Ok(Ok(handshake)) => {
            if let Some(session) = &handshake.session_id {
                client.end_session(backend, session, &handshake.protocol_version).await;
            }
            let capabilities: Vec<&String> =
                handshake.capabilities.as_object().map(|c| c.keys().collect()).unwrap_or_default();
            json!({ "status": "up", "latencyMs": latency_ms, "protocolVersion": handshake.protocol_version, "capabilities": capabilities })
        }
        Ok(Err(error)) => {
            json!({ "status": "down", "latencyMs": latency_ms, "error": error.to_string() })
        }
        Err(_) => {
            json!({ "status": "down", "latencyMs": latency_ms, "error": format!("timed out after {limit:?}") })
        }
    };
    (backend.id.clone(), detail)
}

/// The `/health` route: GET only.
pub async fn handle(
    config: &crate::Config,
    client: &McpHttpClient,
    request: &lambda_http::Request,
) -> http::Response<lambda_http::Body> {
    if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
        let mut response = crate::http::json(StatusCode::METHOD_NOT_ALLOWED, &json!({ "error": "use GET" }));
        response.headers_mut().insert(http::header::ALLOW, http::HeaderValue::from_static("GET"));
        return response;
    }
    let (status, body) = report(&config.gateway_name, &config.backends, client).await;
    crate::http::json(status, &body)
}
