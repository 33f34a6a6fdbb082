//! The gateway behind `callTool`: every call goes through `mcp::tools::call`, the same path as
//! `tools/call` on `/mcp` (scope check per call, routing, backend handling), after the deployment's
//! code allowlist. Also the tools a caller may use from code, and their JS-safe helper names.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use serde_json::Value;

use super::{
    config::CodeConfig,
    engine::{is_bindable, ToolFailure},
    execute::Caller,
    sandbox::ToolHost,
    sanitize::sanitize,
};
use crate::{auth::Principal, mcp, App, GatewayError};

/// Tool access of one caller from code.
pub struct GatewayTools<'a> {
    pub app: &'a App,
    pub caller: &'a Caller<'a>,
    pub config: &'a CodeConfig,
}

fn not_found(name: &str) -> ToolFailure {
    ToolFailure::NotFound(format!("Tool not found: {name}"))
}

#[async_trait::async_trait]
impl ToolHost for GatewayTools<'_> {
    async fn call(&self, name: &str, arguments: Value) -> Result<Value, ToolFailure> {
        // Not allowed from code looks exactly like unknown, as on /mcp: no oracle.
        if !self.config.allows_tool(name) {
            return Err(not_found(name));
        }
        let caller = self.caller;
        // Each call costs what a `tools/call` on /mcp costs: code is no way around the caller's limit.
        let budget = caller.budget.as_ref();
        match mcp::tools::call_charged(self.app, caller.principal, &caller.vault, budget, name, arguments).await {
            Ok(result) => Ok(result),
            Err(GatewayError::InvalidParams(message)) if message.starts_with("unknown tool") => Err(not_found(name)),
            Err(error) => {
                tracing::info!(tool = name, %error, "tool call from code failed");
                Err(ToolFailure::Failed(sanitize(&failure_text(name, &error))))
            }
        }
    }
}

/// What the code learns about a failed call: the backend's JSON-RPC message, or the gateway's own
/// client-safe text (internal causes stay in the logs).
fn failure_text(name: &str, error: &GatewayError) -> String {
    match error {
        GatewayError::BackendRpc(rpc) => {
            let message = rpc.get("message").and_then(Value::as_str).unwrap_or("error");
            format!("Tool {name} failed: {message}")
        }
        GatewayError::Internal(_) | GatewayError::Store(_) => format!("Tool {name} failed: internal error"),
        other => format!("Tool {name} failed: {other}"),
    }
}

/// Every tool `principal` may call from code: their scopes and the deployment allowlist both allow it.
pub async fn callable(app: &App, principal: &Principal, config: &CodeConfig) -> Result<Vec<Value>, GatewayError> {
    let mut tools = mcp::tools::list(app, principal).await?;
    tools.retain(|tool| tool.get("name").and_then(Value::as_str).is_some_and(|name| config.allows_tool(name)));
    Ok(tools)
}

/// The helper name of a tool: characters outside `[A-Za-z0-9_]` become `_`; `None` when that is not a
/// usable identifier (empty, reserved).
pub fn helper_name(tool: &str) -> Option<String> {
    let mut name: String = tool.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    is_bindable(&name).then_some(name)
}

/// `(helper, tool)` pairs. Two tools with the same helper name get none (ambiguous), unless one of
/// them is named exactly like the helper.
pub fn helpers<'t>(names: impl IntoIterator<Item = &'t str>) -> Vec<(String, String)> {
    let mut by_helper: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for tool in names {
        if let Some(helper) = helper_name(tool) {
            by_helper.entry(helper).or_default().push(tool);
        }
    }
    by_helper
        .into_iter()
        .filter_map(|(helper, tools)| {
            let tool = match tools.as_slice() {
                [only] => *only,
                many => *many.iter().find(|t| **t == helper)?,
            };
            Some((helper, tool.to_owned()))
        })
        .collect()
}

/// Helper lists are kept this long per principal: listing asks every backend.
const HELPERS_FRESH_FOR: Duration = Duration::from_secs(30);
/// Bound on the wait for a listing; past it the code runs with `callTool` only.
const LISTING_BUDGET: Duration = Duration::from_secs(3);
const MAX_CACHED: usize = 1_000;

type HelperCache = HashMap<String, (Instant, Vec<(String, String)>)>;

/// Per instance, like the gateway's tool catalog. Helpers are a convenience, not a grant: every call
/// is checked again on its way out, so a stale entry can only offer a helper that then fails.
static HELPERS: LazyLock<Mutex<HelperCache>> = LazyLock::new(Mutex::default);

/// The helpers for `principal`, and a hint when they could not be listed.
pub async fn helpers_for(
    app: &App,
    principal: &Principal,
    config: &CodeConfig,
) -> (Vec<(String, String)>, Option<String>) {
    let key = format!("{}\n{}", principal.id, principal.scopes.iter().collect::<Vec<_>>().join(" "));
    let cached = HELPERS.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
    if let Some((_, helpers)) = cached.filter(|(at, _)| at.elapsed() < HELPERS_FRESH_FOR) {
        return (helpers, None);
    }
    let listed = match tokio::time::timeout(LISTING_BUDGET, callable(app, principal, config)).await {
        Ok(Ok(tools)) => tools,
        outcome => {
            tracing::warn!(timed_out = outcome.is_err(), "listing tools for code helpers failed");
            let hint = "Tool helper functions are unavailable right now (listing tools failed); callTool(name, args) still works.";
            return (Vec::new(), Some(hint.into()));
        }
    };
    let helpers = helpers(listed.iter().filter_map(|t| t.get("name").and_then(Value::as_str)));
    let mut cache = HELPERS.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= MAX_CACHED {
        cache.clear();
    }
    cache.insert(key, (Instant::now(), helpers.clone()));
    (helpers, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_names_are_identifiers() {
        assert_eq!(helper_name("demo_add").as_deref(), Some("demo_add"));
        assert_eq!(helper_name("gh.search-issues").as_deref(), Some("gh_search_issues"));
        assert_eq!(helper_name("3d_render").as_deref(), Some("_3d_render"));
        assert_eq!(helper_name("delete"), None);
        assert_eq!(helper_name(""), None);
    }

    #[test]
    fn ambiguous_helpers_are_left_out_unless_one_name_is_exact() {
        let h = helpers(["a-b", "a.b", "x-y", "x_y", "solo"]);
        assert_eq!(h, [("solo".to_owned(), "solo".to_owned()), ("x_y".into(), "x_y".into())]);
    }
}
