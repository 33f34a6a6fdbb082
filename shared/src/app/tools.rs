//! The gateway's own tools (`gateway_execute_code`, meta-tools): listed in `tools/list` beside the
//! backends' tools to the callers allowed to use them, and called through `tools/call` like any tool. The
//! MCP layer knows them only through this trait; the modules that implement them sit above it and are
//! registered by the composition root.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::App;
use crate::{auth::Principal, protocol::VaultScope, ratelimit::Limit, GatewayError};

/// One call of a gateway tool on behalf of a caller.
pub struct ToolCall<'a> {
    pub principal: &'a Principal,
    /// The caller's PII vault: tokens in the arguments resolve in it, values in the result are minted in it.
    pub vault: VaultScope,
    /// The rate limit the caller's request was charged to; work done on its behalf (tool calls made by
    /// the tool) is charged to it too. `None` only for an anonymous caller whose address is unknown.
    pub budget: Option<Limit>,
    pub arguments: Value,
}

#[async_trait]
pub trait GatewayTool: Send + Sync {
    /// The exposed name (`gateway_…`); the composition root refuses one that a backend could also expose.
    fn name(&self) -> &'static str;
    /// Whether `principal` sees and may call the tool. For anyone else it does not exist (no oracle).
    fn allowed(&self, principal: &Principal) -> bool;
    /// The `tools/list` entry.
    fn definition(&self) -> Value;
    /// The `CallToolResult`; an error only for a gateway fault (store, limiter), never for bad arguments.
    async fn call(&self, app: &App, call: ToolCall<'_>) -> Result<Value, GatewayError>;
}

/// The registered gateway tools, in listing order.
#[derive(Default)]
pub struct GatewayToolSet {
    tools: Vec<Arc<dyn GatewayTool>>,
}

impl GatewayToolSet {
    pub fn register(&mut self, tool: Arc<dyn GatewayTool>) {
        self.tools.retain(|t| t.name() != tool.name());
        self.tools.push(tool);
    }

    /// The tool exposed as `name` if `principal` may use it.
    pub fn get(&self, name: &str, principal: &Principal) -> Option<Arc<dyn GatewayTool>> {
        self.tools.iter().find(|t| t.name() == name && t.allowed(principal)).cloned()
    }

    /// Whether `name` is one of the gateway's tools (whoever asks).
    pub fn is_gateway_tool(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t.name() == name)
    }

    /// The `tools/list` entries `principal` sees.
    pub fn definitions(&self, principal: &Principal) -> impl Iterator<Item = Value> + '_ {
        let principal = principal.clone();
        self.tools.iter().filter(move |t| t.allowed(&principal)).map(|t| t.definition())
    }
}
