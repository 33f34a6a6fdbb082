//! The MCP protocol as the gateway serves it: JSON-RPC framing, version negotiation, sessions, and the
//! methods, each routed to the backends that own the items involved.

mod access;
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

    use super::{calls, catalog, lists, upstream::Ctx};
    use crate::{auth::Principal, gate, protocol::VaultScope, ratelimit::Limit, App, GatewayError};

    /// Every backend tool under its exposed name with the id of its backend, disabled ones included,
    /// whatever the caller's tool scopes: the admin API's view. Backends that could not be listed are
    /// returned apart.
    pub async fn catalog(app: &App, principal: &Principal) -> (Vec<(Value, String)>, Vec<String>) {
        let ctx = Ctx::stateless(app, principal);
        let index = catalog::build(&ctx, lists::ListKind::Tools).await;
        ctx.keep_stateless();
        let tools = index.listed.items.iter().map(|(backend, item)| (item.clone(), backend.id.clone())).collect();
        let mut unavailable: Vec<String> = index.unavailable.iter().cloned().collect();
        unavailable.sort();
        (tools, unavailable)
    }

    /// Whether `principal` may call the backend tool exposed as `name`, decided by the backend the
    /// instance's routing index says it belongs to (as `tools/call` decides); false when no backend
    /// listed it.
    pub fn may_call(app: &App, principal: &Principal, name: &str) -> bool {
        let Some(index) = app.tools.latest("tools", crate::protocol::Era::Legacy) else {
            return false;
        };
        index.routes.get(name).is_some_and(|route| {
            super::access::reaches(principal, &app.backends(), &route.backend, crate::auth::ItemKind::Tool, name)
        })
    }

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
        // A gateway tool's name is reserved (as in `tools/call` on /mcp): a backend tool exposed under it
        // is never reached, and the gateway's own tools are not callable from here.
        if app.gateway_tools.is_gateway_tool(name) {
            return Err(GatewayError::InvalidParams(format!("unknown tool: {name}")));
        }
        let mut ctx = Ctx::stateless(app, principal);
        ctx.vault = Some(vault.clone());
        let result = calls::call_tool(&ctx, &json!({ "name": name, "arguments": arguments })).await;
        ctx.keep_stateless();
        result
    }

    /// A call made for a caller by one of the gateway's own tools (code, meta-tools): charged like a
    /// `tools/call` on /mcp — one charge of the caller's budget (`None`: an anonymous caller whose address
    /// is unknown), the tool's own limit in [`call`] — then exactly [`call`].
    pub async fn call_charged(
        app: &App,
        principal: &Principal,
        vault: &VaultScope,
        budget: Option<&Limit>,
        name: &str,
        arguments: Value,
    ) -> Result<Value, GatewayError> {
        if let Some(budget) = budget {
            gate::charge(app, budget).await?;
        }
        call(app, principal, vault, name, arguments).await
    }
}
