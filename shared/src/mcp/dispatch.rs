//! Method → handler for requests inside an established session (or a stateless modern request).

use serde_json::{json, Value};

use super::{
    calls,
    lists::{self, ListKind},
    privacy, stream,
    upstream::Ctx,
};
use crate::{app::ToolCall, gate, protocol::params::CallToolParams, GatewayError};

pub async fn request(ctx: &Ctx<'_>, method: &str, params: &Value) -> Result<Value, GatewayError> {
    if let Some(kind) = ListKind::from_method(method) {
        let mut result = lists::list(ctx, kind, params).await?;
        // The gateway's own tools, for the callers allowed to use them. Added here, not in the backend
        // lists, so code that lists its callable tools never sees (and recurses into) them.
        if kind == ListKind::Tools {
            if let Some(Value::Array(tools)) = result.get_mut("tools") {
                // Lite listing (`GATEWAY_TOOLS_MODE`): backend tools other than the pinned ones are found
                // through the meta-tools; every one stays callable by name, with the same checks.
                let listing = &ctx.app.config.meta;
                if listing.is_lite(tools.len()) {
                    tools.retain(|t| t.get("name").and_then(Value::as_str).is_some_and(|n| listing.is_pinned(n)));
                }
                tools.extend(ctx.app.gateway_tools.definitions(ctx.principal));
            }
        }
        return Ok(result);
    }
    match method {
        "ping" => Ok(json!({})),
        "tools/call" => call_tool(ctx, params).await,
        "prompts/get" => calls::get_prompt(ctx, params).await,
        "resources/read" => calls::read_resource(ctx, params).await,
        "completion/complete" => calls::complete(ctx, params).await,
        "logging/setLevel" => calls::set_level(ctx, params).await,
        // Offered only when the updates can be delivered: on the session's standalone stream.
        "resources/subscribe" if ctx.app.config.streaming.standalone() => stream::subscribe(ctx, params).await,
        "resources/unsubscribe" if ctx.app.config.streaming.standalone() => stream::unsubscribe(ctx, params).await,
        "initialize" => Err(GatewayError::InvalidRequest(
            "this session is already initialized; send initialize without Mcp-Session-Id to start another".into(),
        )),
        // Includes resources/subscribe without standalone streams: updates could never be delivered.
        _ => Err(GatewayError::MethodNotFound(method.to_owned())),
    }
}

/// A gateway tool, else a backend tool. A gateway tool's name is reserved: a backend tool exposed under
/// the same name is never reached through it, and a caller who may not use the gateway tool gets the
/// answer for an unknown tool.
async fn call_tool(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let call = CallToolParams::parse(params)?;
    let tools = &ctx.app.gateway_tools;
    if !tools.is_gateway_tool(call.name) {
        return calls::call_tool(ctx, params).await;
    }
    let Some(tool) = tools.get(call.name, ctx.principal) else {
        return Err(GatewayError::InvalidParams(format!("unknown tool: {}", call.name)));
    };
    gate::charge_tool(ctx.app, ctx.principal, call.name).await?;
    let call = ToolCall {
        principal: ctx.principal,
        vault: privacy::scope(ctx),
        budget: ctx.budget.clone().or_else(|| gate::budget(ctx.app, ctx.principal, None)),
        arguments: call.arguments.cloned().unwrap_or_else(|| json!({})),
    };
    tool.call(ctx.app, call).await
}
