//! `/admin/api/tools`: every backend tool under its exposed name, with its backend and whether it is
//! enabled; `PUT /admin/api/tools/{name}` with `{"enabled": false}` disables it gateway-wide (left out of
//! every listing and refused like an unknown tool, for every caller), `true` enables it again.

use std::collections::BTreeSet;

use ::http::{Response, StatusCode};
use lambda_http::Body;
use serde_json::{json, Value};

use super::{audit, reply, Admin, AdminError};
use crate::{
    backend::MAX_NAME_LEN,
    config::stored::{Overrides, ToolSwitch},
    mcp,
    store::now_secs,
};

pub(super) async fn list(admin: &Admin<'_>) -> Result<Response<Body>, AdminError> {
    let query = admin.query("query").unwrap_or_default().to_lowercase();
    let words: Vec<&str> = query.split_whitespace().collect();
    // What is stored, not what this instance has applied yet: the admin view is the truth others converge to.
    let stored = admin.app.stored.store().load().await?;
    let disabled = Overrides::parse(&stored.text)
        .map_err(|e| AdminError::Unavailable(format!("the stored configuration is corrupt: {e}")))?
        .disabled_tools();
    let (tools, unavailable) = mcp::tools::catalog(admin.app, &admin.principal).await;
    let mut listed = BTreeSet::new();
    let mut out: Vec<Value> = Vec::new();
    for (tool, backend) in tools {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        listed.insert(name.clone());
        let description = tool.get("description").and_then(Value::as_str).unwrap_or_default();
        let haystack = format!("{} {}", name.to_lowercase(), description.to_lowercase());
        if !words.iter().all(|w| haystack.contains(w)) {
            continue;
        }
        out.push(json!({
            "name": name,
            "backend": backend,
            "title": tool.get("title").cloned().unwrap_or(Value::Null),
            "description": description,
            "enabled": !disabled.contains(&name),
        }));
    }
    // Disabled names no backend lists right now (its backend is down or gone) stay visible, so they can
    // be enabled again.
    for name in disabled.iter().filter(|n| !listed.contains(*n) && words.iter().all(|w| n.to_lowercase().contains(w))) {
        out.push(json!({ "name": name, "backend": null, "title": null, "description": "", "enabled": false }));
    }
    reply(StatusCode::OK, &json!({ "tools": out, "unavailableBackends": unavailable }))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

pub(super) async fn switch(admin: &Admin<'_>, name: &str) -> Result<Response<Body>, AdminError> {
    if !valid_name(name) {
        return Err(AdminError::invalid("name", "must be an exposed tool name: 1-128 characters of [A-Za-z0-9_.-]"));
    }
    if admin.app.gateway_tools.is_gateway_tool(name) {
        let message =
            "is one of the gateway's own tools: who may use it is set by scopes (e.g. code:execute), not here";
        return Err(AdminError::invalid("name", message));
    }
    let body = admin.body()?;
    let enabled = match body.get("enabled") {
        Some(Value::Bool(enabled)) => *enabled,
        Some(_) => return Err(AdminError::invalid("enabled", "must be true or false")),
        None => return Err(AdminError::invalid("enabled", "is required")),
    };
    if let Some(other) = body.keys().find(|k| *k != "enabled") {
        return Err(AdminError::invalid(other.clone(), "is not a tool setting (only \"enabled\")"));
    }
    admin
        .change(|overrides, _| {
            if enabled {
                overrides.tools.remove(name);
            } else {
                let switch = ToolSwitch { enabled, updated_at: now_secs(), updated_by: admin.principal.id.clone() };
                overrides.tools.insert(name.to_owned(), switch);
            }
            Ok(())
        })
        .await?;
    let action = if enabled { "tool.enable" } else { "tool.disable" };
    audit::record(admin, action, name, json!({})).await;
    reply(StatusCode::OK, &json!({ "name": name, "enabled": enabled }))
}
