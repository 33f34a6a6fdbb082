//! Code execution as the gateway tool `gateway_execute_code` on `/mcp`, for MCP clients. The same
//! execution as `POST /api/code/execute`, run where the tool's [`CodeExecutor`] says (in a deployment:
//! the `code` function, never the `mcp` function); the result is a `CallToolResult` whose
//! `structuredContent` is the execution result.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{
    config::{MAX_CODE_CHARS, TIMEOUT_RANGE_MS},
    error::CodeError,
    execute::{Caller, ExecuteRequest},
    executor::{CodeExecutor, LocalExecutor},
    ExecutionResult,
};
use crate::{
    app::{GatewayTool, ToolCall},
    auth::{Principal, CODE_EXECUTE},
    App, GatewayError,
};

pub const TOOL_NAME: &str = "gateway_execute_code";

/// The tool's entry for `tools/list` (list it only for callers with `code:execute`).
pub fn tool_definition() -> Value {
    json!({
        "name": TOOL_NAME,
        "title": "Execute JavaScript with tool access",
        "description": "Runs a JavaScript snippet in a sandbox (no network, files, timers or eval) as the body of an async \
            function: use await and return. Call tools with await callTool('<tool name>', {...}) or a helper named after \
            the tool; batch independent calls with Promise.all. Returns console output and the JSON of the returned value, \
            so many tool calls cost one round trip and only the distilled result reaches you.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "code": { "type": "string", "minLength": 1, "maxLength": MAX_CODE_CHARS,
                          "description": "Plain JavaScript (not TypeScript)." },
                "timeout": { "type": "integer", "minimum": TIMEOUT_RANGE_MS.start(), "maximum": TIMEOUT_RANGE_MS.end(),
                             "description": "Wall-time limit in milliseconds (default 30000)." },
                "context": { "type": "object", "description": "Values for the code: `context.<key>`, and each identifier key as a variable." }
            },
            "required": ["code"],
            "additionalProperties": false
        },
        "annotations": { "readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": true }
    })
}

/// `gateway_execute_code` as the MCP layer sees it: listed to callers with `code:execute`, run where its
/// [`CodeExecutor`] says (the `code` function in a deployment) in the caller's own PII vault, its tool
/// calls charged to the caller's budget.
pub struct CodeTool {
    executor: Arc<dyn CodeExecutor>,
}

impl CodeTool {
    pub fn new(executor: Arc<dyn CodeExecutor>) -> Self {
        Self { executor }
    }

    /// In this process's own sandbox (refused where there is none).
    pub fn local() -> Self {
        Self::new(Arc::new(LocalExecutor))
    }
}

#[async_trait::async_trait]
impl GatewayTool for CodeTool {
    fn name(&self) -> &'static str {
        TOOL_NAME
    }

    fn allowed(&self, principal: &Principal) -> bool {
        principal.scopes.allows(CODE_EXECUTE)
    }

    fn definition(&self) -> Value {
        tool_definition()
    }

    async fn call(&self, app: &App, call: ToolCall<'_>) -> Result<Value, GatewayError> {
        let caller = Caller { principal: call.principal, vault: call.vault, budget: call.budget };
        execute_tool_with(app, &caller, self.executor.as_ref(), call.arguments).await
    }
}

/// Runs the tool through `executor`. Without `code:execute` the tool does not exist for the caller: the
/// same -32602 as any tool they may not call (no oracle). Bad arguments and failed code are `isError`
/// results the model can read; only gateway faults (store, auth backend) are errors.
pub async fn execute_tool_with(
    app: &App,
    caller: &Caller<'_>,
    executor: &dyn CodeExecutor,
    arguments: Value,
) -> Result<Value, GatewayError> {
    if !caller.principal.scopes.allows(CODE_EXECUTE) {
        return Err(GatewayError::InvalidParams(format!("unknown tool: {TOOL_NAME}")));
    }
    let outcome = match ExecuteRequest::from_json(&arguments) {
        Ok(request) => executor.execute(app, caller, request).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(result) => Ok(call_tool_result(&result)),
        Err(CodeError::Gateway(error)) => Err(error),
        Err(error) => Ok(json!({ "content": [{ "type": "text", "text": error.to_string() }], "isError": true })),
    }
}

fn call_tool_result(result: &ExecutionResult) -> Value {
    let structured = result.to_value();
    json!({
        "content": [{ "type": "text", "text": structured.to_string() }],
        "structuredContent": structured,
        "isError": !result.success,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_schema_accepts_what_the_endpoint_accepts() {
        let schema = &tool_definition()["inputSchema"];
        assert_eq!(crate::schema::validate_arguments(schema, &json!({"code": "return 1", "timeout": 5000})), Ok(()));
        assert!(crate::schema::validate_arguments(schema, &json!({"code": "x", "timeout": 10})).is_err());
        assert!(crate::schema::validate_arguments(schema, &json!({})).is_err());
    }
}
