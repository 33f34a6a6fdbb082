//! Probes of the backends for the detailed health view: `initialize`, then `tools/list`, then the session
//! is ended, each probe bounded. An OpenAPI backend loads its document. A Lambda backend is not probed
//! (`unprobed`, left out of the summary): a probe would be an invoke, that is a tool call; its configured
//! tools (or a self-describing function's) are still listed and counted, and its breaker shows its calls. Probes bypass circuit breakers and list caches (they are the ground
//! truth), but they are **shared**: per instance, a backend is probed at most once per
//! [`PROBE_FRESH_FOR`], whoever asks and however many ask at once (one probe runs, the others wait for
//! its result), so no caller can turn the health view into a flood of backend requests.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{json, Value};
use tokio::time::Instant;

use super::{Backend, BackendError, BackendKind, BackendSet, McpHttpClient, Reply};

/// How long a probe's result is reused.
pub const PROBE_FRESH_FOR: Duration = Duration::from_secs(5);
/// A probe never waits longer than this, whatever the backend's own timeout.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// One backend's probe: its JSON detail and, when it answered `tools/list`, its tool names.
#[derive(Debug, Clone)]
pub struct Probe {
    pub detail: Value,
    pub tools: Option<Vec<String>>,
    pub at: Instant,
}

impl Probe {
    pub fn is_up(&self) -> bool {
        self.detail["status"] == "up"
    }

    /// Whether the backend was contacted at all (a Lambda backend is not).
    pub fn is_probed(&self) -> bool {
        self.detail["status"] != "unprobed"
    }
}

type Slot = Arc<tokio::sync::Mutex<Option<Probe>>>;

/// The probes of one instance.
pub struct Prober {
    client: McpHttpClient,
    slots: Mutex<HashMap<String, Slot>>,
}

impl Prober {
    /// Probes through `client` (built with [`McpHttpClient::for_probes`]: no breakers, no caches).
    pub fn new(client: McpHttpClient) -> Self {
        Self { client, slots: Mutex::default() }
    }

    /// The client the probes use (its backends follow the instance's, see [`Self::replace_backends`]).
    pub fn client(&self) -> &McpHttpClient {
        &self.client
    }

    /// Probes `next`'s backends from now on; results for changed backends are dropped.
    pub fn replace_backends(&self, next: BackendSet) -> Result<(), reqwest::Error> {
        let changed = self.client.replace_backends(next)?;
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        for id in changed {
            slots.remove(&id);
        }
        Ok(())
    }

    fn slot(&self, backend: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(backend.to_owned()).or_default().clone()
    }

    /// The latest probe of `backend` if there is one, without probing.
    pub fn latest(&self, backend: &Backend) -> Option<Probe> {
        let slot = self.slot(&backend.id);
        let guard = slot.try_lock().ok()?;
        guard.clone()
    }

    /// A probe of `backend` no older than [`PROBE_FRESH_FOR`]: the cached one, the one in flight, or a new one.
    pub async fn probe(&self, backend: &Backend) -> Probe {
        let slot = self.slot(&backend.id);
        let mut guard = slot.lock().await;
        if let Some(fresh) = guard.as_ref().filter(|p| p.at.elapsed() < PROBE_FRESH_FOR) {
            return fresh.clone();
        }
        let probe = probe_now(backend, &self.client).await;
        *guard = Some(probe.clone());
        probe
    }
}

/// One backend probed now through `client`, sharing nothing (the admin API's connection test).
pub async fn probe_now(backend: &Backend, client: &McpHttpClient) -> Probe {
    if let BackendKind::Lambda(_) = &backend.kind {
        return unprobed_lambda(backend, client).await;
    }
    let started = Instant::now();
    let limit = backend.timeout.min(PROBE_LIMIT);
    let outcome = tokio::time::timeout(limit, probe_unbounded(backend, client)).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    // An MCP backend's transport, or what else the backend is (`lambda`, `openapi`).
    let (how, kind) = match backend.kind {
        BackendKind::Mcp { .. } => ("transport", client.transport(backend).as_str()),
        BackendKind::Lambda(_) | BackendKind::OpenApi(_) => ("type", backend.kind.name()),
    };
    let down = |error: String| json!({ "status": "down", "latencyMs": latency_ms, how: kind, "error": error });
    let (detail, tools) = match outcome {
        Ok(Ok((mut detail, tools))) => {
            detail["latencyMs"] = json!(latency_ms);
            detail[how] = json!(kind);
            (detail, tools)
        }
        // A client without the backend's credential still proves the backend up and answering.
        Ok(Err(BackendError::Status(status @ (401 | 403)))) if backend.credential.is_some() => (
            json!({ "status": "up", "latencyMs": latency_ms, how: kind,
                "authCheck": format!("skipped: answered {status} to a probe without the gateway's own credential") }),
            None,
        ),
        Ok(Err(error)) => (down(error.to_string()), None),
        Err(_) => (down(format!("timed out after {limit:?}")), None),
    };
    Probe { detail, tools, at: Instant::now() }
}

/// A Lambda backend's tools, listed without invoking it unless the function describes its own tools.
async fn unprobed_lambda(backend: &Backend, client: &McpHttpClient) -> Probe {
    let listed = client.request(backend, None, crate::protocol::version::LATEST, "tools/list", json!({}));
    let tools = match tokio::time::timeout(PROBE_LIMIT, listed).await {
        Ok(Ok(Reply::Result(page))) => page
            .get("tools")
            .and_then(Value::as_array)
            .map(|tools| tools.iter().filter_map(|t| Some(t.get("name")?.as_str()?.to_owned())).collect::<Vec<_>>()),
        _ => None,
    };
    let mut detail = json!({ "status": "unprobed", "type": "lambda",
        "reason": "a probe would invoke the function; its breaker shows how its calls went" });
    if let Some(names) = &tools {
        detail["toolCount"] = json!(names.len());
    }
    Probe { detail, tools, at: Instant::now() }
}

/// `initialize`, then `tools/list` (names from every page a few round-trips allow), then the session is
/// ended.
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{backend::testing::HttpStub, Config};

    #[tokio::test]
    async fn concurrent_askers_share_one_probe_and_results_are_reused() {
        let stub = HttpStub::start(|r: &crate::backend::testing::Recorded| {
            let request: Value = serde_json::from_str(&r.body).unwrap_or_default();
            let result = match request["method"].as_str() {
                Some("initialize") => json!({ "protocolVersion": "2025-11-25", "capabilities": { "tools": {} } }),
                _ => json!({ "tools": [{ "name": "t", "inputSchema": { "type": "object" } }] }),
            };
            let body = json!({ "jsonrpc": "2.0", "id": request["id"], "result": result }).to_string();
            let status = if request.get("id").is_some() { 200 } else { 202 };
            (status, "application/json", body)
        })
        .await;
        let json = json!({ "backends": [{ "id": "b", "url": stub.url("/mcp").as_str() }] }).to_string();
        let config = Config::from_lookup(move |k| match k {
            "GATEWAY_BACKENDS_JSON" => Some(json.clone()),
            "GATEWAY_ALLOW_LOOPBACK_BACKENDS" => Some("1".into()),
            _ => None,
        })
        .unwrap();
        let prober = Prober::new(McpHttpClient::for_probes(&config).unwrap());
        let b = config.backends.get("b").unwrap();
        let initializes = || stub.requests().iter().filter(|r| r.body.contains("\"initialize\"")).count();
        let probes = futures_util::future::join_all((0..20).map(|_| prober.probe(b))).await;
        assert!(probes.iter().all(Probe::is_up), "{:?}", probes[0]);
        assert_eq!(probes[0].detail["toolCount"], 1);
        assert_eq!(initializes(), 1, "twenty askers, one probe");
        prober.probe(b).await;
        assert_eq!(initializes(), 1, "a fresh result is reused");
        assert!(prober.latest(b).is_some());
    }
}
