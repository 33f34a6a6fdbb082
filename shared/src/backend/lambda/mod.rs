//! `"type": "lambda"` backends: each tool call is one synchronous `Invoke` of the function with the event
//!
//! ```json
//! { "tool": "<tool name>", "arguments": { … }, "context": { "principal": "<caller id>", "requestId": "<id>" } }
//! ```
//!
//! — the caller's id, never its credential — and the reply is mapped by `reply`. The tools are listed
//! in the configuration, or, when `tools` is left out, by the function itself: it is invoked with
//! `{"tool": "tools/list", "arguments": {}, "context": {"principal": null, "requestId": …}}` and answers
//! `{"tools": [ <MCP tool definitions> ]}` (no principal: lists are shared by every caller). A tool
//! name can never be `tools/list` (`/` is not allowed in names), so one handler can serve both events.

mod invoker;
mod reply;
#[cfg(test)]
mod tests;

use serde::Deserialize;
use serde_json::{json, Value};

pub use invoker::{Invoked, LambdaInvoker, SdkLambdaInvoker};

use super::{caller, spec::name_char, tool_server, Backend, BackendError, McpHttpClient, Reply};

/// The event that asks a function for its tools.
pub const DESCRIBE: &str = "tools/list";
/// Bound on tools taken from one function's own description.
const MAX_TOOLS: usize = 1000;

/// A Lambda function as a backend.
#[derive(Debug)]
pub struct LambdaBackend {
    /// Name, partial ARN or ARN, as given to `Invoke`.
    pub function: String,
    /// Version or alias.
    pub qualifier: Option<String>,
    /// The configured tool definitions; `None`: the function describes them.
    tools: Option<Vec<Value>>,
}

/// One configured tool, as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ToolSpec {
    name: String,
    title: Option<String>,
    description: Option<String>,
    input_schema: Value,
    output_schema: Option<Value>,
    annotations: Option<serde_json::Map<String, Value>>,
}

impl LambdaBackend {
    /// Validates the Lambda fields; errors are `(field, message)`.
    pub(in crate::backend) fn build(
        function: String,
        qualifier: Option<String>,
        tools: Option<Value>,
    ) -> Result<Self, (String, String)> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.' | '$');
        if function.is_empty() || function.len() > 170 || !function.chars().all(allowed) {
            let message = format!("{function:?} must be a function name or ARN (at most 170 of [A-Za-z0-9-_:.$])");
            return Err(("functionName".into(), message));
        }
        if let Some(q) = &qualifier {
            if q.is_empty() || q.len() > 128 || !q.chars().all(|c| c.is_ascii_alphanumeric() || "$_-".contains(c)) {
                let message = format!("{q:?} must be a version or alias (1-128 of [A-Za-z0-9$_-])");
                return Err(("qualifier".into(), message));
            }
        }
        let tools = match tools {
            None => None,
            Some(Value::Array(list)) if list.is_empty() => {
                let message = "lists no tool; leave it out to let the function describe its own tools";
                return Err(("tools".into(), message.into()));
            }
            Some(Value::Array(list)) => {
                let mut seen = std::collections::HashSet::new();
                let mut tools = Vec::new();
                for (i, spec) in list.into_iter().enumerate() {
                    let tool = definition(spec).map_err(|(f, m)| (format!("tools[{i}]{f}"), m))?;
                    if !seen.insert(tool["name"].as_str().unwrap_or_default().to_owned()) {
                        return Err((format!("tools[{i}].name"), format!("{} is listed twice", tool["name"])));
                    }
                    tools.push(tool);
                }
                Some(tools)
            }
            Some(_) => return Err(("tools".into(), "must be a list of tool definitions".into())),
        };
        Ok(Self { function, qualifier, tools })
    }

    /// The `outputSchema` of a configured tool, `None` for an unknown tool, `Some(None)` without one.
    fn output_schema(&self, name: &str) -> Option<Option<&Value>> {
        let tools = self.tools.as_ref()?;
        let tool = tools.iter().find(|t| t["name"] == name)?;
        Some(tool.get("outputSchema"))
    }
}

/// A tool definition checked as MCP requires it: a valid name, object schemas that compile. The error is
/// `(field suffix, message)`.
fn definition(spec: Value) -> Result<Value, (String, String)> {
    let spec: ToolSpec = serde_json::from_value(spec).map_err(|e| (String::new(), e.to_string()))?;
    if spec.name.is_empty() || spec.name.len() > 128 || !spec.name.chars().all(name_char) {
        return Err((".name".into(), format!("{:?} must be 1-128 characters of [A-Za-z0-9_.-]", spec.name)));
    }
    let mut tool = json!({ "name": spec.name, "inputSchema": object_schema(spec.input_schema, ".inputSchema")? });
    if let Some(schema) = spec.output_schema {
        tool["outputSchema"] = object_schema(schema, ".outputSchema")?;
    }
    for (field, value) in [("title", spec.title), ("description", spec.description)] {
        if let Some(text) = value {
            tool[field] = json!(text);
        }
    }
    if let Some(annotations) = spec.annotations {
        tool["annotations"] = Value::Object(annotations);
    }
    Ok(tool)
}

/// MCP tool schemas describe an object; an uncompilable one would let every call through unchecked.
fn object_schema(schema: Value, field: &str) -> Result<Value, (String, String)> {
    if schema.get("type") != Some(&json!("object")) {
        return Err((field.into(), "must be a JSON Schema with \"type\": \"object\"".into()));
    }
    jsonschema::validator_for(&schema).map_err(|e| (field.into(), format!("is not a valid JSON Schema: {e}")))?;
    Ok(schema)
}

/// The tools of `function`: configured, or described by the function (one invoke, bounded like a call).
pub(super) async fn tools(
    client: &McpHttpClient,
    backend: &Backend,
    function: &LambdaBackend,
    request_id: &str,
) -> Result<Vec<Value>, BackendError> {
    if let Some(tools) = &function.tools {
        return Ok(tools.clone());
    }
    let event = json!({ "tool": DESCRIBE, "arguments": {}, "context": { "principal": null, "requestId": request_id } });
    let invoked = invoke(client, backend, function, &event).await?;
    if invoked.function_error.is_some() {
        return Err(BackendError::InvalidResponse("the function failed to describe its tools".into()));
    }
    let described: Value = serde_json::from_slice(&invoked.payload)
        .map_err(|_| BackendError::InvalidResponse("the function's tool description is not JSON".into()))?;
    let Some(Value::Array(listed)) = described.get("tools") else {
        return Err(BackendError::InvalidResponse("the function's tool description has no \"tools\" list".into()));
    };
    // A function is trusted no more than an MCP server: invalid definitions are left out, not relayed.
    let mut seen = std::collections::HashSet::new();
    let mut tools = Vec::new();
    for (i, spec) in listed.iter().enumerate().take(MAX_TOOLS) {
        match definition(spec.clone()) {
            Ok(tool) if seen.insert(tool["name"].as_str().unwrap_or_default().to_owned()) => tools.push(tool),
            Ok(_) => tracing::warn!(backend = %backend.id, index = i, "function described a tool twice; skipped"),
            Err((field, message)) => {
                tracing::warn!(backend = %backend.id, index = i, field, message, "invalid tool description skipped")
            }
        }
    }
    Ok(tools)
}

/// One tool call: the event, the invoke, the reply mapped to a tool result.
pub(super) async fn call(call: &tool_server::ToolCall<'_>, function: &LambdaBackend) -> Result<Reply, BackendError> {
    let output_schema = match function.output_schema(call.name) {
        Some(schema) => schema.is_some(),
        None if function.tools.is_some() => return Ok(tool_server::unknown_tool(call.name)),
        None => false,
    };
    let event = json!({
        "tool": call.name,
        "arguments": call.arguments,
        "context": { "principal": caller::principal(), "requestId": call.request_id },
    });
    let invoked = invoke(call.client, call.backend, function, &event).await?;
    let result = reply::tool_result(invoked, output_schema)?;
    Ok(Reply::Result(result))
}

async fn invoke(
    client: &McpHttpClient,
    backend: &Backend,
    function: &LambdaBackend,
    event: &Value,
) -> Result<Invoked, BackendError> {
    let Some(invoker) = client.lambda() else {
        return Err(BackendError::Unreachable("this function has no Lambda client".into()));
    };
    let limit = backend.max_response_bytes;
    let payload = event.to_string().into_bytes();
    let qualifier = function.qualifier.as_deref();
    client
        .guarded(backend, async {
            let invoked = invoker.invoke(&function.function, qualifier, payload).await?;
            // Lambda caps a synchronous reply at 6 MB; the backend's own limit may be lower.
            if invoked.payload.len() > limit {
                return Err(BackendError::TooLarge(limit));
            }
            Ok(invoked)
        })
        .await
}
