//! `initialize`: negotiates the version, opens a session with every backend in parallel (one that is
//! down is simply left out and retried when next needed), and stores the new client session.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use serde_json::{json, Map, Value};

use crate::{
    auth::Principal,
    protocol::{mint_id, now_secs, params::InitializeParams, version, BackendSession, Session},
    App, GatewayError,
};

/// Capabilities the gateway can honestly offer when any backend has them. `listChanged` and
/// `subscribe` are never offered: a buffered response has no way to deliver those notifications.
const AGGREGATED: [&str; 5] = ["tools", "prompts", "resources", "completions", "logging"];

pub async fn initialize(app: &App, principal: &Principal, params: &Value) -> Result<(Session, Value), GatewayError> {
    let params = InitializeParams::parse(params)?;
    let version = version::negotiate(params.protocol_version);
    let set = app.backends();
    let opened = join_all(set.iter().map(|b| app.client.initialize(b, version))).await;
    let mut backends = BTreeMap::new();
    for (backend, outcome) in set.iter().zip(opened) {
        match outcome {
            Ok(handshake) => {
                backends.insert(backend.id.clone(), BackendSession::from(handshake));
            }
            Err(error) => {
                tracing::warn!(backend = %backend.id, %error, "backend left out of the new session")
            }
        }
    }
    let session = Session {
        id: mint_id().map_err(|e| GatewayError::Internal(format!("CSPRNG unavailable: {e}")))?,
        owner: principal.id.clone(),
        protocol_version: version.to_owned(),
        client_capabilities: params.capabilities.cloned().unwrap_or_else(|| json!({})),
        client_info: params.client_info.cloned().unwrap_or(Value::Null),
        backends,
        log_level: None,
        expires_at: now_secs() + app.config.session_ttl.as_secs(),
    };
    app.sessions.create(&session).await?;
    let result = json!({
        "protocolVersion": version,
        "capabilities": capabilities(session.backends.values()),
        "serverInfo": { "name": app.config.gateway_name, "version": env!("CARGO_PKG_VERSION") },
        "instructions": instructions(app),
    });
    Ok((session, result))
}

/// The capabilities the open backend sessions offer between them.
pub fn capabilities<'a>(backends: impl Iterator<Item = &'a BackendSession> + Clone) -> Value {
    let offered: Map<String, Value> = AGGREGATED
        .iter()
        .filter(|cap| backends.clone().any(|b| b.has(cap)))
        .map(|cap| (cap.to_string(), json!({})))
        .collect();
    Value::Object(offered)
}

pub fn instructions(app: &App) -> String {
    let backends = app.backends();
    let names: Vec<String> = backends
        .iter()
        .map(|b| match b.prefix.as_str() {
            "" => format!("{} (unprefixed)", b.id),
            prefix => format!("{} ({prefix}{}*)", b.id, backends.separator),
        })
        .collect();
    let mut text = format!(
        "This gateway aggregates several MCP servers. Tool and prompt names are prefixed with their server: {}.",
        names.join(", ")
    );
    if app.config.meta.mode != crate::config::meta::ToolsMode::Full {
        text.push_str(
            " Not every tool may be listed: find tools with gateway_search_tools, read their schemas with \
             gateway_describe_tools and call them with gateway_call_tool (or by name).",
        );
    }
    text
}
