//! Lambda and OpenAPI backends as the MCP layer sees them: an in-process MCP server that offers tools
//! and nothing else. It answers `initialize` and `server/discover` (capabilities: tools), `ping`,
//! `tools/list` (from the configuration, the function's own description, or the OpenAPI operations)
//! and `tools/call` (an invoke, or an HTTP request); any other method gets -32601, as from a server
//! without that capability. Notifications are accepted and dropped.
//!
//! Only remote steps go through the client's bounds (breaker, in-flight slot, timeout): a handshake
//! or a listing from the configuration neither waits for a slot nor counts as the backend's success.

use serde_json::{json, Map, Value};

use super::{
    kind::BackendKind,
    lambda, openapi,
    wire::{BACKEND_VERSIONS, MODERN_VERSION},
    Backend, BackendError, Exchange, McpHttpClient, Reply,
};

/// What a tool call needs to know, whatever the kind.
pub(super) struct ToolCall<'a> {
    pub client: &'a McpHttpClient,
    pub backend: &'a Backend,
    /// The backend's own tool name.
    pub name: &'a str,
    pub arguments: Value,
    /// The id of this exchange (unique per gateway instance), passed on for correlation.
    pub request_id: String,
}

pub(super) async fn exchange(
    client: &McpHttpClient,
    backend: &Backend,
    message: &Value,
) -> Result<Exchange, BackendError> {
    let Some(id) = message.get("id") else {
        return Ok(Exchange { reply: None, session_id: None });
    };
    let method = message.get("method").and_then(Value::as_str).unwrap_or_default();
    let params = message.get("params").cloned().unwrap_or_else(|| json!({}));
    let reply = match method {
        "initialize" => Reply::Result(initialize_result(backend, &params)),
        "server/discover" => Reply::Result(json!({
            "supportedVersions": std::iter::once(MODERN_VERSION).chain(BACKEND_VERSIONS).collect::<Vec<_>>(),
            "capabilities": { "tools": {} },
            "serverInfo": server_info(backend),
        })),
        "ping" => {
            if let BackendKind::OpenApi(api) = &backend.kind {
                openapi::ping(client, backend, api).await?;
            }
            Reply::Result(json!({}))
        }
        "tools/list" => Reply::Result(json!({ "tools": list(client, backend, &request_id(id)).await? })),
        "tools/call" => call(client, backend, id, &params).await?,
        _ => rpc_error(-32601, format!("Method not found: {method}")),
    };
    Ok(Exchange { reply: Some(reply), session_id: None })
}

fn server_info(backend: &Backend) -> Value {
    json!({ "name": format!("{}:{}", backend.kind.name(), backend.id), "version": env!("CARGO_PKG_VERSION") })
}

/// The requested version when the gateway speaks it with backends, else the newest.
fn initialize_result(backend: &Backend, params: &Value) -> Value {
    let requested = params.get("protocolVersion").and_then(Value::as_str).unwrap_or_default();
    let version = BACKEND_VERSIONS.iter().find(|v| **v == requested).unwrap_or(&BACKEND_VERSIONS[0]);
    json!({ "protocolVersion": version, "capabilities": { "tools": {} }, "serverInfo": server_info(backend) })
}

async fn list(client: &McpHttpClient, backend: &Backend, request_id: &str) -> Result<Vec<Value>, BackendError> {
    match &backend.kind {
        BackendKind::Lambda(function) => lambda::tools(client, backend, function, request_id).await,
        BackendKind::OpenApi(api) => Ok(openapi::catalog(client, backend, api).await?.tools().to_vec()),
        BackendKind::Mcp { .. } => Ok(Vec::new()),
    }
}

async fn call(client: &McpHttpClient, backend: &Backend, id: &Value, params: &Value) -> Result<Reply, BackendError> {
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return Ok(rpc_error(-32602, "\"name\" must be a string".into()));
    };
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(arguments @ Value::Object(_)) => arguments.clone(),
        Some(_) => return Ok(rpc_error(-32602, "\"arguments\" must be an object".into())),
    };
    let call = ToolCall { client, backend, name, arguments, request_id: request_id(id) };
    match &backend.kind {
        BackendKind::Lambda(function) => lambda::call(&call, function).await,
        BackendKind::OpenApi(api) => openapi::call(&call, api).await,
        BackendKind::Mcp { .. } => Ok(rpc_error(-32601, "Method not found: tools/call".into())),
    }
}

/// The exchange's JSON-RPC id as text: unique per gateway instance, passed on for correlation.
fn request_id(id: &Value) -> String {
    match id {
        Value::String(id) => id.clone(),
        other => other.to_string(),
    }
}

/// A JSON-RPC error answer.
pub(super) fn rpc_error(code: i64, message: String) -> Reply {
    Reply::Error(json!({ "code": code, "message": message }))
}

/// The unknown-tool answer (a protocol error, as MCP servers give it).
pub(super) fn unknown_tool(name: &str) -> Reply {
    rpc_error(-32602, format!("Unknown tool: {name}"))
}

/// A tool result of one text block.
pub(super) fn text_result(text: impl Into<String>, is_error: bool) -> Value {
    let mut result = json!({ "content": [{ "type": "text", "text": text.into() }] });
    if is_error {
        result["isError"] = json!(true);
    }
    result
}

/// A successful tool result from a JSON value: an object becomes `structuredContent` plus its JSON text
/// (MCP asks for both); a string is the text itself; anything else is its JSON text.
pub(super) fn json_result(value: Value) -> Value {
    match value {
        Value::Object(_) => {
            let text = value.to_string();
            json!({ "content": [{ "type": "text", "text": text }], "structuredContent": value })
        }
        Value::String(text) => text_result(text, false),
        other => text_result(other.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_become_structured_content_with_a_text_rendering() {
        let result = json_result(json!({ "email": "a@example.com", "n": 1 }));
        assert_eq!(result["structuredContent"]["n"], 1);
        let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(text, result["structuredContent"]);
        assert!(result.get("isError").is_none());
    }

    #[test]
    fn other_json_becomes_text_only() {
        assert_eq!(json_result(json!("plain")), json!({ "content": [{ "type": "text", "text": "plain" }] }));
        assert_eq!(json_result(json!([1, 2]))["content"][0]["text"], "[1,2]");
        assert_eq!(json_result(Value::Null)["content"][0]["text"], "null");
        assert!(json_result(json!(3)).get("structuredContent").is_none());
        assert_eq!(text_result("boom", true)["isError"], true);
    }
}
