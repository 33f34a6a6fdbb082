//! `gateway_describe_tools`: the full `tools/list` entries (schemas, annotations) of a few tools. A name
//! that does not exist and a name the caller may not use get the same answer: unknown.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{arguments, structured, Meta, DESCRIBE_TOOLS};
use crate::{
    app::{GatewayTool, ToolCall},
    auth::Principal,
    schema::ToolSchema,
    App, GatewayError,
};

/// Most names in one request.
const MAX_NAMES: usize = 20;

pub fn definition() -> Value {
    json!({
        "name": DESCRIBE_TOOLS,
        "title": "Describe tools",
        "description": "Full definitions (input schema, annotations) of tools found with gateway_search_tools.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "names": { "type": "array", "items": { "type": "string" }, "minItems": 1, "maxItems": MAX_NAMES }
            },
            "required": ["names"],
            "additionalProperties": false
        },
        "annotations": { "readOnlyHint": true, "idempotentHint": true, "openWorldHint": false }
    })
}

#[derive(Deserialize)]
struct Arguments {
    names: Vec<String>,
}

pub struct DescribeTool {
    meta: Arc<Meta>,
    schema: ToolSchema,
}

impl DescribeTool {
    pub fn new(meta: Arc<Meta>) -> Self {
        Self { meta, schema: ToolSchema::new(DESCRIBE_TOOLS, definition()["inputSchema"].clone()) }
    }
}

#[async_trait::async_trait]
impl GatewayTool for DescribeTool {
    fn name(&self) -> &'static str {
        DESCRIBE_TOOLS
    }

    fn allowed(&self, principal: &Principal) -> bool {
        principal.scopes.may_call_gateway_tool(DESCRIBE_TOOLS)
    }

    fn definition(&self) -> Value {
        definition()
    }

    async fn call(&self, app: &App, call: ToolCall<'_>) -> Result<Value, GatewayError> {
        let args: Arguments = match arguments(&self.schema, call.arguments) {
            Ok(args) => args,
            Err(refusal) => return Ok(refusal),
        };
        let index = self.meta.catalogs.of(app, call.principal).await?;
        let mut tools = Vec::new();
        let mut unknown = Vec::new();
        for name in args.names {
            match index.get(&name).filter(|_| crate::mcp::tools::may_call(app, call.principal, &name)) {
                Some(entry) if !tools.iter().any(|t: &Value| t["name"] == entry.name()) => {
                    tools.push(entry.tool.clone())
                }
                Some(_) => {}
                None => unknown.push(name),
            }
        }
        let mut described = json!({ "tools": tools });
        if !unknown.is_empty() {
            described["unknown"] = json!(unknown);
        }
        Ok(structured(described))
    }
}
