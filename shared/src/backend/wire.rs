//! What goes over the wire with a backend, whatever the transport: the versions spoken, replies and
//! handshakes, and the pieces both transports share (bounded body reads, matching a reply to its
//! request, header encoding).

use serde_json::Value;

use super::BackendError;

/// The stateless era's version, spoken to backends that `server/discover` says support it.
pub const MODERN_VERSION: &str = "2026-07-28";
/// Handshake-era versions the gateway can speak with a backend, newest first.
pub const BACKEND_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// What a backend answered to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The `result` member, untouched.
    Result(Value),
    /// The `error` member (`{code, message, data?}`), untouched.
    Error(Value),
}

/// A finished exchange.
#[derive(Debug)]
pub struct Exchange {
    /// `None` when the backend accepted a notification.
    pub reply: Option<Reply>,
    /// `Mcp-Session-Id` the backend returned, if any.
    pub session_id: Option<String>,
}

/// What the gateway keeps after initializing a backend session.
#[derive(Debug, Clone)]
pub struct BackendHandshake {
    pub session_id: Option<String>,
    pub protocol_version: String,
    pub capabilities: Value,
}

/// Longest backend session id kept: it is stored in the client's session item, beside every other
/// backend's, and a backend must not be able to make that item too large to store.
pub const MAX_BACKEND_SESSION_ID: usize = 1024;
/// Most capability names kept from a backend's handshake, and their longest name.
const MAX_CAPABILITIES: usize = 32;
const MAX_CAPABILITY_NAME: usize = 64;
/// The server capabilities the gateway reads.
const KNOWN_CAPABILITIES: [&str; 5] = ["tools", "prompts", "resources", "completions", "logging"];

/// The flags of a declared capability the gateway keeps (all others are dropped).
const KEPT_FLAGS: [&str; 2] = ["listChanged", "subscribe"];

impl BackendHandshake {
    /// The handshake as the gateway keeps it: the session id bounded (a longer one fails the handshake)
    /// and the capabilities reduced to the names the backend declared and their `listChanged` and
    /// `subscribe` flags (`{"tools": {"listChanged": true}}`), which is all the gateway reads. What a backend says is stored per client session, so its size is the gateway's call.
    pub fn new(
        session_id: Option<String>,
        protocol_version: &str,
        capabilities: Option<&Value>,
    ) -> Result<Self, BackendError> {
        if session_id.as_ref().is_some_and(|id| id.len() > MAX_BACKEND_SESSION_ID) {
            let message = format!("its session id is longer than {MAX_BACKEND_SESSION_ID} bytes");
            return Err(BackendError::InvalidResponse(message));
        }
        let declared = capabilities.and_then(Value::as_object).into_iter().flatten();
        let names = declared.filter(|(name, value)| !value.is_null() && name.len() <= MAX_CAPABILITY_NAME);
        // The ones the gateway acts on first, so a flood of other names cannot push them out.
        let (known, others): (Vec<_>, Vec<_>) =
            names.partition(|(name, _)| KNOWN_CAPABILITIES.contains(&name.as_str()));
        let kept = known.into_iter().chain(others).take(MAX_CAPABILITIES);
        // Of what a capability says, only the flags the gateway relays on (`listChanged`, `subscribe`).
        let flags = |value: &Value| -> Value {
            let set = KEPT_FLAGS.iter().filter(|flag| value.get(**flag) == Some(&Value::Bool(true)));
            Value::Object(set.map(|flag| (flag.to_string(), Value::Bool(true))).collect())
        };
        let capabilities: serde_json::Map<String, Value> =
            kept.map(|(name, value)| (name.clone(), flags(value))).collect();
        Ok(Self {
            session_id,
            protocol_version: protocol_version.to_owned(),
            capabilities: Value::Object(capabilities),
        })
    }
}

/// Reads the whole body, refusing to hold more than `limit` bytes (a backend answering 50 MB must not
/// take the instance's memory with it).
pub(super) async fn read_body(response: &mut reqwest::Response, limit: usize) -> Result<Vec<u8>, BackendError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BackendError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BackendError::Connect)? {
        if body.len() + chunk.len() > limit {
            return Err(BackendError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A header value as 2026-07-28 carries it: verbatim when plain printable ASCII, else base64-wrapped.
pub(super) fn encode_header(value: &str) -> String {
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b)) && value.trim() == value;
    if plain {
        value.to_owned()
    } else {
        use base64::Engine;
        format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode(value))
    }
}

/// The reply to `id` in a JSON-RPC message (or a batch of them).
pub(super) fn match_reply(message: &Value, id: &Value) -> Option<Reply> {
    if let Some(batch) = message.as_array() {
        return batch.iter().find_map(|m| match_reply(m, id));
    }
    if message.get("id") != Some(id) || message.get("method").is_some() {
        return None;
    }
    if let Some(result) = message.get("result") {
        return Some(Reply::Result(result.clone()));
    }
    message.get("error").map(|e| Reply::Error(e.clone()))
}

/// The method of a notification (a message with a method and no id), if `message` is one.
pub(super) fn notification_method(message: &Value) -> Option<&str> {
    if message.get("id").is_some() {
        return None;
    }
    message.get("method").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_values_are_base64_wrapped_only_when_needed() {
        assert_eq!(encode_header("demo_add"), "demo_add");
        assert_eq!(encode_header("tool ✓"), "=?base64?dG9vbCDinJM=?=");
        assert_eq!(encode_header(" padded"), "=?base64?IHBhZGRlZA==?=");
    }

    #[test]
    fn replies_match_by_id_only() {
        let id = json!("gw-1");
        assert_eq!(match_reply(&json!({"jsonrpc":"2.0","id":"gw-2","result":{}}), &id), None);
        assert_eq!(match_reply(&json!({"jsonrpc":"2.0","id":"gw-1","method":"x"}), &id), None);
        assert_eq!(
            match_reply(&json!([{"id":"gw-0","result":1},{"id":"gw-1","error":{"code":1}}]), &id),
            Some(Reply::Error(json!({"code":1})))
        );
        assert_eq!(
            notification_method(&json!({"method":"notifications/tools/list_changed"})),
            Some("notifications/tools/list_changed")
        );
        assert_eq!(notification_method(&json!({"id":1,"method":"sampling/createMessage"})), None);
    }

    #[test]
    fn a_handshake_keeps_a_bounded_session_id_capability_names_and_the_relayed_flags_only() {
        let huge: serde_json::Map<String, Value> =
            (0..100).map(|i| (format!("cap{i}"), json!({ "blob": "x".repeat(10_000) }))).collect();
        let mut capabilities = Value::Object(huge);
        capabilities["tools"] = json!({ "listChanged": true, "blob": "x".repeat(10_000) });
        capabilities["resources"] = json!({ "subscribe": true, "listChanged": "yes" });
        capabilities["off"] = Value::Null;
        let kept = BackendHandshake::new(Some("s".repeat(64)), "2025-11-25", Some(&capabilities)).unwrap();
        let names = kept.capabilities.as_object().unwrap();
        assert!(names.len() <= MAX_CAPABILITIES && !names.contains_key("off"), "{}", names.len());
        assert!(names.contains_key("tools"), "a flood of names never pushes out the ones the gateway reads");
        assert_eq!(names["tools"], json!({ "listChanged": true }), "the flags the gateway relays on are kept");
        assert_eq!(names["resources"], json!({ "subscribe": true }), "only flags that are true");
        assert!(names.iter().filter(|(n, _)| n.starts_with("cap")).all(|(_, v)| *v == json!({})));
        assert!(kept.capabilities.to_string().len() < 2048);
        let refused = BackendHandshake::new(Some("s".repeat(MAX_BACKEND_SESSION_ID + 1)), "2025-11-25", None);
        assert!(matches!(refused, Err(BackendError::InvalidResponse(_))));
    }
}
