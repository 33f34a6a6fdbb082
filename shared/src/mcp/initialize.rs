//! `initialize`: negotiates the version, opens a session with every backend in parallel (one that is
//! down is simply left out and retried when next needed), and stores the new client session.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use serde_json::{json, Map, Value};

use crate::{
    auth::Principal,
    backend::MODERN_VERSION,
    protocol::{mint_id, now_secs, params::InitializeParams, version, BackendSession, Era, Session},
    App, GatewayError,
};

/// Capabilities the gateway can honestly offer when any backend has them.
const AGGREGATED: [&str; 5] = ["tools", "prompts", "resources", "completions", "logging"];
/// Change notifications and subscriptions, offered only where the gateway can deliver them: with
/// standalone streams on (`GATEWAY_STREAMING=on`), and when a backend that can send them offers them.
const DELIVERED: [(&str, &str); 4] =
    [("tools", "listChanged"), ("prompts", "listChanged"), ("resources", "listChanged"), ("resources", "subscribe")];

pub async fn initialize(app: &App, principal: &Principal, params: &Value) -> Result<(Session, Value), GatewayError> {
    let params = InitializeParams::parse(params)?;
    let version = version::negotiate(params.protocol_version);
    let set = app.backends();
    let client_capabilities = params.capabilities.cloned().unwrap_or_else(|| json!({}));
    let relayed = super::upstream::relayed_capabilities(app, &client_capabilities);
    let opened = join_all(set.iter().map(|b| app.client.initialize_as(b, version, relayed.clone()))).await;
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
        client_capabilities,
        client_info: params.client_info.cloned().unwrap_or(Value::Null),
        backends,
        log_level: None,
        expires_at: now_secs() + app.config.session_ttl.as_secs(),
    };
    app.sessions.create(&session).await?;
    let result = json!({
        "protocolVersion": version,
        "capabilities": capabilities(app, Era::Legacy, session.backends.values()),
        "serverInfo": { "name": app.config.gateway_name, "version": env!("CARGO_PKG_VERSION") },
        "instructions": instructions(app),
    });
    Ok((session, result))
}

/// The capabilities the open backend sessions offer between them, to a client of `era`. A change is
/// delivered to a session-era client on its `GET /mcp` stream, which relays the backend sessions' own
/// streams (a session-less legacy HTTP+SSE backend has none); to a 2026-07-28 client on its
/// `subscriptions/listen` stream, which relays backends that speak 2026-07-28.
pub fn capabilities<'a>(app: &App, era: Era, backends: impl Iterator<Item = &'a BackendSession> + Clone) -> Value {
    let mut offered: Map<String, Value> = AGGREGATED
        .iter()
        .filter(|cap| backends.clone().any(|b| b.has(cap)))
        .map(|cap| (cap.to_string(), json!({})))
        .collect();
    if app.config.streaming.standalone() {
        for (family, flag) in DELIVERED {
            let delivers = |b: &BackendSession| {
                let streams = match era {
                    Era::Legacy => b.session_id.is_some(),
                    Era::Modern => b.protocol_version == MODERN_VERSION,
                };
                streams && b.capabilities.pointer(&format!("/{family}/{flag}")) == Some(&json!(true))
            };
            if let (Some(Value::Object(entry)), true) = (offered.get_mut(family), backends.clone().any(delivers)) {
                entry.insert(flag.to_owned(), json!(true));
            }
        }
    }
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
    format!(
        "This gateway aggregates several MCP servers. Tool and prompt names are prefixed with their server: {}.",
        names.join(", ")
    )
}
