//! `gateway_call_tools`: several calls in one request, run in parallel (at most `PARALLEL` at a time),
//! each through the same path as `gateway_call_tool` and reported on its own: one failing call never
//! fails the others. At most `GATEWAY_CALL_TOOLS_MAX` calls per request.

use std::sync::Arc;

use futures_util::{stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    arguments,
    call::{call_schema, failure, protect_text, run, CallSpec, Caller},
    refusal, structured, Meta, CALL_TOOLS,
};
use crate::{
    app::{GatewayTool, ToolCall},
    auth::Principal,
    schema::ToolSchema,
    App, GatewayError,
};

/// Calls in flight at once for one request (each also takes a backend exchange slot of the instance).
const PARALLEL: usize = 4;

pub fn definition(max_calls: usize) -> Value {
    json!({
        "name": CALL_TOOLS,
        "title": "Call several tools",
        "description": format!("Run up to {max_calls} independent tool calls in parallel (each as in gateway_call_tool); \
            every call reports its own result or error."),
        "inputSchema": {
            "type": "object",
            "properties": { "calls": { "type": "array", "items": call_schema(), "minItems": 1, "maxItems": max_calls } },
            "required": ["calls"],
            "additionalProperties": false
        },
        "annotations": { "readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": true }
    })
}

#[derive(Deserialize)]
struct Arguments {
    calls: Vec<CallSpec>,
}

pub struct CallToolsTool {
    meta: Arc<Meta>,
    max_calls: usize,
    schema: ToolSchema,
}

impl CallToolsTool {
    pub fn new(meta: Arc<Meta>, max_calls: usize) -> Self {
        Self { meta, max_calls, schema: ToolSchema::new(CALL_TOOLS, definition(max_calls)["inputSchema"].clone()) }
    }
}

#[async_trait::async_trait]
impl GatewayTool for CallToolsTool {
    fn name(&self) -> &'static str {
        CALL_TOOLS
    }

    fn allowed(&self, principal: &Principal) -> bool {
        principal.scopes.may_call_gateway_tool(CALL_TOOLS)
    }

    fn definition(&self) -> Value {
        definition(self.max_calls)
    }

    async fn call(&self, app: &App, call: ToolCall<'_>) -> Result<Value, GatewayError> {
        let given = call.arguments.get("calls").and_then(Value::as_array).map_or(0, Vec::len);
        if given > self.max_calls {
            let max = self.max_calls;
            return Ok(refusal(&format!(
                "{CALL_TOOLS} takes at most {max} calls per request ({given} given): split them over several requests."
            )));
        }
        let caller = Caller::of(&call);
        let args: Arguments = match arguments(&self.schema, call.arguments) {
            Ok(args) => args,
            Err(refusal) => return Ok(refusal),
        };
        let (meta, caller) = (&self.meta, &caller);
        let outcomes: Vec<Value> = stream::iter(args.calls)
            .map(|spec| async move {
                let name = spec.name.clone();
                match run(meta, app, caller, spec).await {
                    Ok(result) => json!({ "name": name, "result": result }),
                    Err(error) => {
                        tracing::info!(tool = %name, %error, "call from gateway_call_tools failed");
                        let message = match failure(&error) {
                            Some(message) => protect_text(app, caller, &name, message).await,
                            None => fault(&error),
                        };
                        json!({ "name": name, "error": message })
                    }
                }
            })
            .buffered(PARALLEL)
            .collect()
            .await;
        let failed = outcomes
            .iter()
            .filter(|o| o.get("error").is_some() || o.pointer("/result/isError") == Some(&Value::Bool(true)))
            .count();
        Ok(structured(json!({ "results": outcomes, "failed": failed })))
    }
}

/// A gateway fault as one call's error: what the caller can act on (a limit and its retry time), never an
/// internal detail.
fn fault(error: &GatewayError) -> String {
    match error {
        GatewayError::Internal(_) => "internal error".into(),
        other => other.to_string(),
    }
}
