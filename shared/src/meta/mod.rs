//! The gateway's meta-tools: progressive disclosure of a large tool catalog. A client in lite mode
//! (`GATEWAY_TOOLS_MODE`) lists only these; it finds backend tools by searching, reads the schemas of the
//! few it needs, and calls them — alone, or several at once — with the results cut to what it asked for.
//!
//! - `gateway_search_tools` (`search_tool`): ranked search over the caller's catalog (`search`).
//! - `gateway_describe_tools` (`describe`): full definitions for a list of names.
//! - `gateway_call_tool` / `gateway_call_tools` (`call`, `call_many`): calls with result shaping
//!   (`shape`) and the opt-in result cache (`cache`).
//!
//! Every meta-tool needs its scope `gateway:<tool name>` (or `gateway:call`), and everything it shows or
//! reaches is filtered by the caller's tool scopes: the catalog it searches is the caller's own
//! `tools/list`, and every call goes through `mcp::tools::call`, the path of `tools/call` on `/mcp` (scope
//! check, routing, argument validation, PII restore and tokenize in the caller's vault), charged to the
//! caller's budget once per backend call on top of the meta-tool's own request.

pub mod cache;
mod call;
mod call_many;
mod catalog;
mod describe;
pub mod search;
mod search_tool;
pub mod shape;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

pub use cache::{DynamoResultStore, MemoryResultStore, ResultStore};
use catalog::Catalogs;

use crate::{app::GatewayTool, schema::ToolSchema, Config};

pub const SEARCH_TOOLS: &str = "gateway_search_tools";
pub const DESCRIBE_TOOLS: &str = "gateway_describe_tools";
pub const CALL_TOOL: &str = "gateway_call_tool";
pub const CALL_TOOLS: &str = "gateway_call_tools";

/// What the meta-tools of one instance share: the catalog snapshots and the result store.
pub struct Meta {
    catalogs: Catalogs,
    results: Arc<dyn ResultStore>,
}

/// The four meta-tools, for the composition root to register.
pub fn tools(config: &Config, results: Arc<dyn ResultStore>) -> Vec<Arc<dyn GatewayTool>> {
    let meta = Arc::new(Meta { catalogs: Catalogs::new(config.backend_options.list_cache_ttl), results });
    vec![
        Arc::new(search_tool::SearchTool::new(meta.clone())),
        Arc::new(describe::DescribeTool::new(meta.clone())),
        Arc::new(call::CallTool::new(meta.clone())),
        Arc::new(call_many::CallToolsTool::new(meta, config.meta.max_calls)),
    ]
}

/// A successful meta-tool result: the JSON as text (what most clients hand the model) and as
/// `structuredContent`.
fn structured(value: Value) -> Value {
    json!({ "content": [{ "type": "text", "text": value.to_string() }], "structuredContent": value, "isError": false })
}

/// An `isError` result the model can read and act on.
fn refusal(message: &str) -> Value {
    crate::schema::invalid_arguments_result(message)
}

/// A meta-tool's arguments, checked against its own `inputSchema` (the problem is named, the value never
/// echoed) and then read into `T`.
fn arguments<T: DeserializeOwned>(schema: &ToolSchema, arguments: Value) -> Result<T, Value> {
    schema.check(&arguments).map_err(|problem| refusal(&problem))?;
    serde_json::from_value(arguments).map_err(|_| refusal("Invalid arguments"))
}
