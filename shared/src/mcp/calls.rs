//! Methods aimed at one item, routed to the backend that owns it: tools and prompts by their exposed
//! name, resources by URI.

use futures_util::future::join_all;
use serde_json::{json, Value};

use super::{lists, upstream::Ctx};
use crate::{
    backend::{Backend, BackendError, Reply, Resolved},
    GatewayError,
};

const LOG_LEVELS: [&str; 8] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

fn required_str<'p>(params: &'p Value, field: &str) -> Result<&'p str, GatewayError> {
    params
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| GatewayError::InvalidParams(format!("\"{field}\" must be a string")))
}

/// Sends `params` with `field` replaced by the backend's own name.
fn renamed(params: &Value, field: &str, name: &str) -> Value {
    let mut params = params.clone();
    params[field] = Value::String(name.to_owned());
    params
}

fn into_result(backend: &Backend, reply: Result<Reply, BackendError>) -> Result<Value, GatewayError> {
    match reply {
        Ok(Reply::Result(result)) => Ok(result),
        Ok(Reply::Error(error)) => Err(GatewayError::BackendRpc(error)),
        Err(source) => Err(GatewayError::BackendUnavailable { backend: backend.id.clone(), source }),
    }
}

pub async fn call_tool(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let name = required_str(params, "name")?;
    let Resolved { backend, name: original } = ctx
        .app
        .config
        .backends
        .resolve(name)
        .filter(|_| ctx.principal.scopes.may_call_tool(name))
        // A tool the caller may not call gets the same answer as one that does not exist: no oracle.
        .ok_or_else(|| GatewayError::InvalidParams(format!("unknown tool: {name}")))?;
    if ctx.app.tools.has(&backend.id, &original).is_none() {
        // Not in a fresh listing: ask the backend once. If it cannot answer, the call below reports it.
        if let Some(tools) = lists::tool_names(ctx, &backend).await {
            if !tools.contains(&original) {
                return Err(GatewayError::InvalidParams(format!("unknown tool: {name}")));
            }
        }
    }
    match ctx.call(&backend, "tools/call", renamed(params, "name", &original)).await {
        // A backend that cannot be reached is a tool failure the model can read, not a protocol error.
        Err(error) => {
            tracing::warn!(backend = %backend.id, %error, "tools/call failed");
            Ok(json!({
                "content": [{ "type": "text", "text": format!("Backend '{}' is unavailable: {error}. The tool was not run, or its result was lost.", backend.id) }],
                "isError": true,
            }))
        }
        reply => into_result(&backend, reply),
    }
}

pub async fn get_prompt(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let name = required_str(params, "name")?;
    let Resolved { backend, name: original } = ctx
        .app
        .config
        .backends
        .resolve(name)
        .ok_or_else(|| GatewayError::InvalidParams(format!("unknown prompt: {name}")))?;
    into_result(&backend, ctx.call(&backend, "prompts/get", renamed(params, "name", &original)).await)
}

pub async fn read_resource(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let uri = required_str(params, "uri")?;
    by_uri(ctx, uri, "resources/read", "resources", params.clone())
        .await?
        .ok_or_else(|| GatewayError::ResourceNotFound(uri.to_owned()))
}

/// Routes a URI-addressed request to its owner, or asks every backend that declares `capability` and
/// takes the first success in configuration order (learning the owner for next time).
async fn by_uri(
    ctx: &Ctx<'_>,
    uri: &str,
    method: &str,
    capability: &str,
    params: Value,
) -> Result<Option<Value>, GatewayError> {
    let backends = &ctx.app.config.backends;
    if let Some(backend) = ctx.app.owners.owner_of(uri).and_then(|id| backends.get(&id).cloned()) {
        return into_result(&backend, ctx.call(&backend, method, params).await).map(Some);
    }
    let asks = backends.iter().map(|b| {
        let params = params.clone();
        async move {
            ctx.backend_session(b).await.ok()?.has(capability).then_some(())?;
            match ctx.call(b, method, params).await {
                Ok(Reply::Result(result)) => Some(result),
                _ => None,
            }
        }
    });
    let answers = join_all(asks).await;
    Ok(backends.iter().zip(answers).find_map(|(b, answer)| {
        let result = answer?;
        ctx.app.owners.learn_uri(uri, &b.id);
        Some(result)
    }))
}

pub async fn complete(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let reference = params.get("ref").filter(|r| r.is_object());
    let kind = reference.and_then(|r| r.get("type")).and_then(Value::as_str);
    let empty = json!({ "completion": { "values": [], "hasMore": false } });
    match (kind, reference) {
        (Some("ref/prompt"), Some(reference)) => {
            let name = required_str(reference, "name")?;
            let Some(Resolved { backend, name: original }) = ctx.app.config.backends.resolve(name) else {
                return Err(GatewayError::InvalidParams(format!("unknown prompt: {name}")));
            };
            let mut params = params.clone();
            params["ref"]["name"] = Value::String(original);
            into_result(&backend, ctx.call(&backend, "completion/complete", params).await)
        }
        (Some("ref/resource"), Some(reference)) => {
            let uri = required_str(reference, "uri")?;
            Ok(by_uri(ctx, uri, "completion/complete", "completions", params.clone()).await?.unwrap_or(empty))
        }
        _ => Err(GatewayError::InvalidParams("\"ref\" must be a ref/prompt or ref/resource object".into())),
    }
}

/// Sets the level on every backend that logs. Messages cannot reach the client over a buffered
/// response, but backends still honour the level in their own logs.
pub async fn set_level(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let level = required_str(params, "level")?;
    if !LOG_LEVELS.contains(&level) {
        return Err(GatewayError::InvalidParams(format!("level must be one of {}", LOG_LEVELS.join(", "))));
    }
    let sets = ctx.app.config.backends.iter().map(|b| async move {
        let state = ctx.backend_session(b).await.ok()?;
        state.has("logging").then_some(())?;
        ctx.call(b, "logging/setLevel", json!({ "level": level })).await.ok()
    });
    join_all(sets).await;
    Ok(json!({}))
}
