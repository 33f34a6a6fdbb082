//! `gateway_search_tools`: ranked search over the caller's catalog (see `search` for the ranking).

use std::{collections::BTreeMap, sync::Arc};

use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    arguments,
    search::{render, Detail, Query},
    structured, Meta, SEARCH_TOOLS,
};
use crate::{
    app::{GatewayTool, ToolCall},
    auth::Principal,
    schema::ToolSchema,
    App, GatewayError,
};

const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: u64 = 100;
const MAX_QUERY_CHARS: u64 = 500;

pub fn definition() -> Value {
    json!({
        "name": SEARCH_TOOLS,
        "title": "Search tools",
        "description": "Find tools of the connected servers (most are not listed). Exact and prefix name \
            matches rank first, then relevance of name, title, description and argument names. Then \
            gateway_describe_tools for schemas, gateway_call_tool to call.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "query": { "type": "string", "maxLength": MAX_QUERY_CHARS, "description": "Words or a tool name; empty lists all." },
                "backend": { "type": "string", "description": "Only this server's tools (its id)." },
                "limit": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "description": "Default 10." },
                "offset": { "type": "integer", "minimum": 0, "maximum": 100_000 },
                "detail": { "enum": ["name", "summary", "schema"], "description": "Default summary." }
            },
            "additionalProperties": false
        },
        "annotations": { "readOnlyHint": true, "idempotentHint": true, "openWorldHint": false }
    })
}

#[derive(Deserialize)]
struct Arguments {
    #[serde(default)]
    query: String,
    backend: Option<String>,
    limit: Option<usize>,
    #[serde(default)]
    offset: usize,
    detail: Option<String>,
}

pub struct SearchTool {
    meta: Arc<Meta>,
    schema: ToolSchema,
}

impl SearchTool {
    pub fn new(meta: Arc<Meta>) -> Self {
        Self { meta, schema: ToolSchema::new(SEARCH_TOOLS, definition()["inputSchema"].clone()) }
    }
}

#[async_trait::async_trait]
impl GatewayTool for SearchTool {
    fn name(&self) -> &'static str {
        SEARCH_TOOLS
    }

    fn allowed(&self, principal: &Principal) -> bool {
        principal.scopes.may_call_gateway_tool(SEARCH_TOOLS)
    }

    fn definition(&self) -> Value {
        definition()
    }

    async fn call(&self, app: &App, call: ToolCall<'_>) -> Result<Value, GatewayError> {
        let args: Arguments = match arguments(&self.schema, call.arguments) {
            Ok(args) => args,
            Err(refusal) => return Ok(refusal),
        };
        let detail = match args.detail.as_deref() {
            Some("name") => Detail::Name,
            Some("schema") => Detail::Schema,
            _ => Detail::Summary,
        };
        let index = self.meta.catalogs.of(app, call.principal).await?;
        let query = Query {
            text: &args.query,
            backend: args.backend.as_deref(),
            offset: args.offset,
            limit: args.limit.unwrap_or(DEFAULT_LIMIT),
        };
        // The index is the caller's own catalog; the scope check here is a second line, not the filter.
        let page = index.search(&query, |entry| crate::mcp::tools::may_call(app, call.principal, entry.name()));
        let tools: Vec<Value> = page.hits.iter().map(|entry| render(entry, detail)).collect();
        let mut found = json!({
            "tools": tools,
            "total": page.total,
            "hasMore": query.offset + page.hits.len() < page.total,
        });
        // Browsing (no query, no backend): also say which servers there are, and how many tools each has.
        if query.text.trim().is_empty() && query.backend.is_none() {
            let all = index.search(&Query { limit: usize::MAX, ..Query::default() }, |_| true);
            let mut backends: BTreeMap<&str, usize> = BTreeMap::new();
            for entry in &all.hits {
                *backends.entry(entry.backend.as_str()).or_default() += 1;
            }
            found["backends"] = json!(backends);
        }
        Ok(structured(found))
    }
}
