//! `initialize`: negotiates the version, opens a session with every backend the caller holds a grant on,
//! in parallel (one that is down is simply left out and retried when next needed), and stores the new
//! client session. A caller learns of no backend it may not use: not from the capabilities, not from the
//! instructions.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use serde_json::{json, Map, Value};

use super::access;
use crate::{
    auth::Principal,
    backend::MODERN_VERSION,
    protocol::{mint_id, now_secs, params::InitializeParams, version, BackendSession, Era, Session},
    App, GatewayError,
};

/// Largest `clientInfo` and `capabilities` stored with a session (serialized JSON): the session is one
/// store item, and a client must not be able to make it unstorable.
pub const MAX_CLIENT_INFO_BYTES: usize = 8 * 1024;
pub const MAX_CLIENT_CAPABILITIES_BYTES: usize = 16 * 1024;

/// Capabilities the gateway can honestly offer when any backend has them.
const AGGREGATED: [&str; 5] = ["tools", "prompts", "resources", "completions", "logging"];
/// Change notifications and subscriptions, offered only where the gateway can deliver them: with
/// standalone streams on (`GATEWAY_STREAMING=on`), and when a backend that can send them offers them.
const DELIVERED: [(&str, &str); 4] =
    [("tools", "listChanged"), ("prompts", "listChanged"), ("resources", "listChanged"), ("resources", "subscribe")];

pub async fn initialize(app: &App, principal: &Principal, params: &Value) -> Result<(Session, Value), GatewayError> {
    let params = InitializeParams::parse(params)?;
    bounded("params.clientInfo", params.client_info, MAX_CLIENT_INFO_BYTES)?;
    bounded("params.capabilities", params.capabilities, MAX_CLIENT_CAPABILITIES_BYTES)?;
    let version = version::negotiate(params.protocol_version);
    let set = app.backends();
    let usable: Vec<_> = set.iter().filter(|b| access::may_use_backend(principal, &set, b)).collect();
    let client_capabilities = params.capabilities.cloned().unwrap_or_else(|| json!({}));
    let relayed = super::upstream::relayed_capabilities(app, &client_capabilities);
    let opened = join_all(usable.iter().map(|b| app.client.initialize_as(b, version, relayed.clone()))).await;
    let mut backends = BTreeMap::new();
    for (backend, outcome) in usable.iter().zip(opened) {
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
        "instructions": instructions(app, principal),
    });
    Ok((session, result))
}

/// Refuses a value that would be stored when its JSON is longer than `limit` bytes.
fn bounded(field: &'static str, value: Option<&Value>, limit: usize) -> Result<(), GatewayError> {
    let size = value.map_or(0, |v| serde_json::to_vec(v).map_or(usize::MAX, |bytes| bytes.len()));
    if size > limit {
        return Err(GatewayError::TooLarge { field, limit });
    }
    Ok(())
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

/// What the gateway tells a client about itself: the backends `principal` may use, with their prefixes.
pub fn instructions(app: &App, principal: &Principal) -> String {
    let backends = app.backends();
    let names: Vec<String> = backends
        .iter()
        .filter(|b| access::may_use_backend(principal, &backends, b))
        .map(|b| match b.prefix.as_str() {
            "" => format!("{} (unprefixed)", b.id),
            prefix => format!("{} ({prefix}{}*)", b.id, backends.separator),
        })
        .collect();
    if names.is_empty() {
        return "This gateway aggregates several MCP servers; this credential may use none of them.".to_owned();
    }
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
