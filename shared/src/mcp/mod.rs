//! The MCP protocol as the gateway serves it: JSON-RPC framing, version negotiation, sessions, and the
//! methods, each routed to the backends that own the items involved.

mod batch;
mod calls;
mod catalog;
mod dispatch;
pub mod handler;
mod initialize;
mod lists;
pub mod modern;
pub mod privacy;
mod session;
mod stream;
mod upstream;

/// Tool access for other entry points (the code-execution function): the same routing, scope checks and
/// backend handling as `/mcp`, statelessly, with backend sessions held per principal in this instance.
pub mod tools {
    use serde_json::{json, Value};

    use super::{calls, lists, upstream::Ctx};
    use crate::{auth::Principal, protocol::VaultScope, App, GatewayError};

    /// Every tool `principal` may call, with exposed names (all pages of every backend).
    pub async fn list(app: &App, principal: &Principal) -> Result<Vec<Value>, GatewayError> {
        let ctx = Ctx::stateless(app, principal);
        let mut tools = Vec::new();
        let mut params = json!({});
        for _ in 0..50 {
            let mut page = lists::list(&ctx, lists::ListKind::Tools, &params).await?;
            if let Some(Value::Array(found)) = page.get_mut("tools").map(Value::take) {
                tools.extend(found);
            }
            match page.get("nextCursor") {
                Some(cursor) => params = json!({ "cursor": cursor }),
                None => break,
            }
        }
        ctx.keep_stateless();
        Ok(tools)
    }

    /// Calls the tool exposed as `name`, exactly as `tools/call` on `/mcp` would, with PII tokens restored
    /// from and minted into the vault `vault` (the caller's own: its session's, or its principal's).
    pub async fn call(
        app: &App,
        principal: &Principal,
        vault: &VaultScope,
        name: &str,
        arguments: Value,
    ) -> Result<Value, GatewayError> {
        let mut ctx = Ctx::stateless(app, principal);
        ctx.vault = Some(vault.clone());
        let result = calls::call_tool(&ctx, &json!({ "name": name, "arguments": arguments })).await;
        ctx.keep_stateless();
        result
    }
}
