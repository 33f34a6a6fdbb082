//! Method → handler for requests inside an established session.

use serde_json::{json, Value};

use super::{
    calls,
    lists::{self, ListKind},
    privacy,
    upstream::Ctx,
};
use crate::{auth::CODE_EXECUTE, code, gate, GatewayError};

pub async fn request(ctx: &Ctx<'_>, method: &str, params: &Value) -> Result<Value, GatewayError> {
    if let Some(kind) = ListKind::from_method(method) {
        let mut result = lists::list(ctx, kind, params).await?;
        // The gateway's own tool, for callers allowed to run code. Added here, not in the backend lists,
        // so code that lists its callable tools never sees (and recurses into) itself.
        if kind == ListKind::Tools && ctx.principal.scopes.allows(CODE_EXECUTE) {
            if let Some(Value::Array(tools)) = result.get_mut("tools") {
                tools.push(code::tool_definition());
            }
        }
        return Ok(result);
    }
    match method {
        "ping" => Ok(json!({})),
        "tools/call" if params.get("name").and_then(Value::as_str) == Some(code::TOOL_NAME) => {
            gate::charge_tool(ctx.app, ctx.principal, code::TOOL_NAME).await?;
            let arguments = params.get("arguments").cloned().unwrap_or_else(|| json!({}));
            code::execute_tool(ctx.app, ctx.principal, &privacy::scope(ctx), arguments).await
        }
        "tools/call" => calls::call_tool(ctx, params).await,
        "prompts/get" => calls::get_prompt(ctx, params).await,
        "resources/read" => calls::read_resource(ctx, params).await,
        "completion/complete" => calls::complete(ctx, params).await,
        "logging/setLevel" => calls::set_level(ctx, params).await,
        "initialize" => Err(GatewayError::InvalidRequest(
            "this session is already initialized; send initialize without Mcp-Session-Id to start another".into(),
        )),
        // Includes resources/subscribe: not offered, since updates could never be delivered.
        _ => Err(GatewayError::MethodNotFound(method.to_owned())),
    }
}
