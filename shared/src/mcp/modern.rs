//! The modern, stateless era (MCP 2026-07-28) on the same `/mcp` endpoint. Each request carries its
//! protocol version and client capabilities in `params._meta`; no session id is minted. Backends that
//! speak 2026-07-28 are reached statelessly with the client's envelope; the others in the legacy era,
//! through sessions the gateway holds per principal in this instance (any instance can open its own, so
//! there is still no affinity). With streaming on, a request may be answered with an event stream
//! (`stream`), and `subscriptions/listen` relays the backends' change notifications.

use std::sync::Arc;

use ::http::{HeaderMap, Response, StatusCode};
use base64::{engine::general_purpose::STANDARD, Engine};
use futures_util::future::join_all;
use serde_json::{json, Value};

use super::{
    access, dispatch, initialize,
    stream::{self, RelayFor},
    upstream::Ctx,
};
use crate::{
    gate::Caller,
    http::{self, ResponseBody},
    protocol::{
        jsonrpc::{self, Incoming},
        version, BackendSession, Era, VaultScope,
    },
    App, GatewayError,
};

/// How a modern request is answered.
enum Answer {
    Result(Value),
    /// A notification.
    Accepted,
    /// A streamed (or streamable) reply, complete.
    Response(Response<ResponseBody>),
}

const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_PREFIX: &str = "io.modelcontextprotocol/";
const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// Methods 2026-07-28 removed: unknown (404, -32601) to a modern client even though legacy serves them.
const REMOVED: [&str; 5] = ["initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"];
/// How long clients may cache merged lists: the gateway's own tool catalog is fresh for 60 s.
const LIST_TTL_MS: u64 = 30_000;
/// Whether a request belongs to the modern era: a `MCP-Protocol-Version` header that is not a handshake
/// version (unknown values included, so they get the modern -32022), or, with no header, a body
/// carrying the modern `_meta` envelope.
pub fn is_modern(headers: &HeaderMap, message: &Value) -> bool {
    match http::header(headers, "mcp-protocol-version") {
        Some(v) => !version::is_supported(v),
        None => message.pointer("/params/_meta").and_then(|m| m.get(META_VERSION)).is_some(),
    }
}

pub async fn handle(app: &Arc<App>, headers: &HeaderMap, message: Value, caller: &Caller) -> Response<ResponseBody> {
    let id = jsonrpc::id_of(&message);
    let response = match serve(app, headers, message, caller).await {
        Ok(Answer::Result(result)) => http::json(StatusCode::OK, &jsonrpc::success(&id, result)),
        Ok(Answer::Accepted) => http::empty(StatusCode::ACCEPTED),
        Ok(Answer::Response(response)) => return response,
        Err(error) => http::error(&error, &id, Era::Modern),
    };
    response.map(ResponseBody::from)
}

async fn serve(app: &Arc<App>, headers: &HeaderMap, message: Value, caller: &Caller) -> Result<Answer, GatewayError> {
    if message.is_array() {
        return Err(GatewayError::InvalidRequest("2026-07-28 has no batches: send one message per POST".into()));
    }
    let (id, method, mut params) = match jsonrpc::classify(&message)? {
        Incoming::Request { id, method, params } => (id, method, params),
        Incoming::Notification { .. } => return Ok(Answer::Accepted),
        Incoming::Response => {
            return Err(GatewayError::InvalidRequest("2026-07-28 clients do not send responses".into()));
        }
    };
    // The order of the checks follows the spec's validation ladder: envelope, headers, version.
    let (requested, capabilities) = envelope(&params)?;
    check_headers(headers, &method, &params, &requested)?;
    if !version::MODERN.contains(&requested.as_str()) {
        return Err(GatewayError::UnsupportedModernVersion { requested });
    }
    if REMOVED.contains(&method.as_str()) {
        return Err(GatewayError::MethodNotFound(method));
    }
    let envelope = strip_envelope(&mut params);
    let streaming = &app.config.streaming;
    if method == "subscriptions/listen" && streaming.standalone() {
        let principal = caller.principal.clone();
        return stream::listen(app.clone(), principal, capabilities, envelope, id, &params).await.map(Answer::Response);
    }
    if streaming.replies() && stream::STREAMED.contains(&method.as_str()) {
        return Ok(Answer::Response(streamed(app, caller, id, method, params, capabilities, envelope).await));
    }
    let mut ctx = Ctx::modern(app, &caller.principal, capabilities, envelope);
    ctx.budget = Some(caller.budget.clone());
    let result = match method.as_str() {
        "server/discover" => Ok(discover(&ctx).await),
        _ => dispatch::request(&ctx, &method, &params).await,
    };
    ctx.keep_stateless();
    Ok(Answer::Result(decorate(app, &method, result?)))
}

/// A request whose reply may stream: only notifications related to it travel before its result (no
/// requests to the client in this era), and closing the stream cancels it.
async fn streamed(
    app: &Arc<App>,
    caller: &Caller,
    id: Value,
    method: String,
    params: Value,
    capabilities: Value,
    envelope: Value,
) -> Response<ResponseBody> {
    let principal = caller.principal.clone();
    let streamed = stream::relay(
        app,
        RelayFor {
            principal: principal.clone(),
            era: Era::Modern,
            method: Some(method.clone()),
            session: None,
            client_capabilities: capabilities.clone(),
            vault: VaultScope::Principal(principal.id.clone()),
            params: params.clone(),
        },
    );
    let (relay, owned, budget) = (streamed.relay.clone(), app.clone(), caller.budget.clone());
    let work = async move {
        let mut ctx = Ctx::modern(&owned, &principal, capabilities, envelope);
        ctx.budget = Some(budget);
        ctx.relay = Some(relay.clone());
        let result = dispatch::request(&ctx, &method, &params).await;
        ctx.keep_stateless();
        relay.finish().await;
        result.map(|result| decorate(&owned, &method, result))
    };
    stream::respond(app, id, Era::Modern, streamed, work).await
}

/// The version and client capabilities from `params._meta`; both are required (-32602).
fn envelope(params: &Value) -> Result<(String, Value), GatewayError> {
    let meta = params.get("_meta").filter(|m| m.is_object()).ok_or_else(|| {
        GatewayError::InvalidParams(format!(
            "params._meta must be an object with {META_VERSION} and {META_CAPABILITIES}"
        ))
    })?;
    let version = meta.get(META_VERSION).and_then(Value::as_str);
    let capabilities = meta.get(META_CAPABILITIES).filter(|c| c.is_object());
    match (version, capabilities) {
        (Some(v), Some(c)) => Ok((v.to_owned(), c.clone())),
        _ => Err(GatewayError::InvalidParams(format!(
            "params._meta needs a string {META_VERSION} and an object {META_CAPABILITIES}"
        ))),
    }
}

/// `MCP-Protocol-Version`, `Mcp-Method` and (for named methods) `Mcp-Name` must repeat the body.
fn check_headers(headers: &HeaderMap, method: &str, params: &Value, version: &str) -> Result<(), GatewayError> {
    let mismatch = |what: &str| Err(GatewayError::HeaderMismatch(what.to_owned()));
    if http::header(headers, "mcp-protocol-version") != Some(version) {
        return mismatch("MCP-Protocol-Version must equal params._meta[\"io.modelcontextprotocol/protocolVersion\"]");
    }
    if http::header(headers, "mcp-method").and_then(decode_header).as_deref() != Some(method) {
        return mismatch("Mcp-Method must equal the request's method");
    }
    let name_field = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return Ok(()),
    };
    let named = params.get(name_field).and_then(Value::as_str);
    if named.is_some() && http::header(headers, "mcp-name").and_then(decode_header).as_deref() != named {
        return mismatch(&format!("Mcp-Name must equal params.{name_field}"));
    }
    Ok(())
}

/// Header values may be sent as `=?base64?<standard base64 of UTF-8>?=`; a malformed one matches nothing.
fn decode_header(value: &str) -> Option<String> {
    let Some(payload) = value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) else {
        return Some(value.to_owned());
    };
    let bytes = STANDARD.decode(payload).ok()?;
    String::from_utf8(bytes).ok()
}

/// Takes the modern envelope out of `params` (legacy backends must not see it) and returns it, for
/// backends that speak 2026-07-28 themselves.
fn strip_envelope(params: &mut Value) -> Value {
    let Some(meta) = params.get_mut("_meta").and_then(Value::as_object_mut) else { return json!({}) };
    let mut envelope = serde_json::Map::new();
    for key in meta.keys().filter(|k| k.starts_with(META_PREFIX)).cloned().collect::<Vec<_>>() {
        if let Some(value) = meta.remove(&key) {
            envelope.insert(key, value);
        }
    }
    if meta.is_empty() {
        if let Some(p) = params.as_object_mut() {
            p.remove("_meta");
        }
    }
    Value::Object(envelope)
}

async fn discover(ctx: &Ctx<'_>) -> Value {
    let backends = ctx.app.backends();
    let usable = backends.iter().filter(|b| access::may_use_backend(ctx.principal, &backends, b));
    let states = join_all(usable.map(|b| ctx.backend_session(b))).await;
    let open: Vec<BackendSession> = states.into_iter().filter_map(Result::ok).collect();
    json!({
        "supportedVersions": version::ALL,
        "capabilities": initialize::capabilities(ctx.app, Era::Modern, open.iter()),
        "instructions": initialize::instructions(ctx.app, ctx.principal),
    })
}

/// What every modern result carries: `resultType`, the server's identity, and cache directives on
/// lists, reads and discovery. Results are per caller (lists are filtered by scope): `private`.
fn decorate(app: &App, method: &str, mut result: Value) -> Value {
    let Some(object) = result.as_object_mut() else { return result };
    object.entry("resultType").or_insert_with(|| json!("complete"));
    let ttl = match method {
        "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" | "server/discover" => {
            Some(LIST_TTL_MS)
        }
        "resources/read" => Some(0),
        _ => None,
    };
    if let Some(ttl) = ttl {
        object.entry("ttlMs").or_insert_with(|| json!(ttl));
        object.entry("cacheScope").or_insert_with(|| json!("private"));
    }
    let meta = object.entry("_meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        let info = json!({ "name": app.config.gateway_name, "version": env!("CARGO_PKG_VERSION") });
        meta.insert(META_SERVER_INFO.to_owned(), info);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (::http::HeaderName::from_static(k), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn era_is_chosen_by_header_then_by_envelope() {
        let modern_body = json!({"params": {"_meta": {META_VERSION: "2026-07-28"}}});
        assert!(is_modern(&headers(&[("mcp-protocol-version", "2026-07-28")]), &json!({})));
        assert!(is_modern(&headers(&[("mcp-protocol-version", "2099-01-01")]), &json!({})));
        assert!(!is_modern(&headers(&[("mcp-protocol-version", "2025-06-18")]), &modern_body));
        assert!(is_modern(&headers(&[]), &modern_body));
        assert!(!is_modern(&headers(&[]), &json!({"params": {}})));
    }

    #[test]
    fn headers_must_repeat_the_body() {
        let params = json!({"name": "tool ✓"});
        let ok = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?dG9vbCDinJM=?="),
        ]);
        assert!(check_headers(&ok, "tools/call", &params, "2026-07-28").is_ok());
        let wrong_name =
            headers(&[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "other")]);
        assert!(matches!(
            check_headers(&wrong_name, "tools/call", &params, "2026-07-28"),
            Err(GatewayError::HeaderMismatch(_))
        ));
        let no_method = headers(&[("mcp-protocol-version", "2026-07-28")]);
        assert!(check_headers(&no_method, "tools/list", &json!({}), "2026-07-28").is_err());
        assert!(check_headers(&ok, "tools/call", &params, "2026-08-01").is_err());
    }

    #[test]
    fn malformed_base64_matches_nothing() {
        assert_eq!(decode_header("=?base64?***?="), None);
        assert_eq!(decode_header("plain").as_deref(), Some("plain"));
    }

    #[test]
    fn envelope_is_required_and_stripped_before_forwarding() {
        assert!(envelope(&json!({})).is_err());
        assert!(envelope(&json!({"_meta": {META_VERSION: "2026-07-28"}})).is_err());
        let mut params = json!({"_meta": {META_VERSION: "2026-07-28", META_CAPABILITIES: {}, "progressToken": 1}});
        assert!(envelope(&params).is_ok());
        let envelope = strip_envelope(&mut params);
        assert_eq!(params, json!({"_meta": {"progressToken": 1}}));
        assert_eq!(envelope[META_VERSION], "2026-07-28");
    }
}
