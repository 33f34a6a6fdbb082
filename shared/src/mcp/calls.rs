//! Methods aimed at one item, routed to the backend that owns it: tools and prompts by exact lookup of
//! their exposed name in the catalog, resources by URI.

use futures_util::future::join_all;
use serde_json::{json, Value};

use super::{
    catalog::{self, Routed},
    lists::ListKind,
    privacy,
    upstream::Ctx,
};
use crate::{
    backend::{Backend, BackendError, Reply},
    gate,
    protocol::params::{CallToolParams, CompletionRef, GetPromptParams, ResourceParams, SetLevelParams},
    routing::Route,
    schema::invalid_arguments_result,
    GatewayError,
};

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

/// Why a backend whose names could not be listed is unavailable: its open breaker, or the failed listing.
fn unlisted(ctx: &Ctx<'_>, backend: &Backend) -> BackendError {
    match ctx.app.client.breaker(&backend.id).and_then(|b| b.retry_in) {
        Some(retry_in) => BackendError::CircuitOpen(retry_in),
        None => BackendError::Unlisted,
    }
}

/// A tool failure the model can read (not a protocol error): the backend could not be reached.
fn unavailable_result(backend: &Backend, error: &BackendError, ran: bool) -> Value {
    let outcome = if ran { "The tool was not run, or its result was lost." } else { "The tool was not run." };
    json!({
        "content": [{ "type": "text", "text": format!("Backend '{}' is unavailable: {error}. {outcome}", backend.id) }],
        "isError": true,
    })
}

pub async fn call_tool(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let CallToolParams { name, .. } = CallToolParams::parse(params)?;
    let unknown = || GatewayError::InvalidParams(format!("unknown tool: {name}"));
    // A tool the caller may not call gets the same answer as one that does not exist: no oracle.
    if !ctx.principal.scopes.may_call_tool(name) {
        return Err(unknown());
    }
    let Route { backend, original, schema } = match catalog::route(ctx, ListKind::Tools, name).await {
        Routed::To(route) => route,
        Routed::Unavailable(backend) => {
            let error = unlisted(ctx, &backend);
            tracing::warn!(backend = %backend.id, %error, "tools/call to an unavailable backend");
            return Ok(unavailable_result(&backend, &error, false));
        }
        Routed::Unknown => return Err(unknown()),
    };
    gate::charge_tool(ctx.app, ctx.principal, name).await?;
    let scope = privacy::scope(ctx).key();
    let mut vault = ctx.app.pii.request(&scope);
    let mut forwarded = renamed(params, "name", &original);
    privacy::restore(&mut vault, &mut forwarded).await?;
    // Checked on the values the backend would get (tokens restored); the backend never sees a bad call.
    let (none, arguments) = (json!({}), forwarded.get("arguments"));
    if let Err(problem) = schema.map_or(Ok(()), |schema| schema.check(arguments.unwrap_or(&none))) {
        tracing::info!(backend = %backend.id, tool = name, "tools/call refused: invalid arguments");
        return Ok(invalid_arguments_result(&problem));
    }
    match ctx.call(&backend, "tools/call", forwarded).await {
        Err(error) => {
            tracing::warn!(backend = %backend.id, %error, "tools/call failed");
            let ran = !matches!(error, BackendError::CircuitOpen(_) | BackendError::Credential(_));
            Ok(unavailable_result(&backend, &error, ran))
        }
        reply => {
            let mut result = into_result(&backend, reply)?;
            privacy::protect(ctx.app, ctx.principal, &mut vault, &backend.id, Some(name), params, &mut result).await;
            Ok(result)
        }
    }
}

/// The backend and original name of a prompt, by exact lookup.
async fn prompt_route(ctx: &Ctx<'_>, name: &str) -> Result<Route, GatewayError> {
    match catalog::route(ctx, ListKind::Prompts, name).await {
        Routed::To(route) => Ok(route),
        Routed::Unavailable(backend) => {
            Err(GatewayError::BackendUnavailable { source: unlisted(ctx, &backend), backend: backend.id.clone() })
        }
        Routed::Unknown => Err(GatewayError::InvalidParams(format!("unknown prompt: {name}"))),
    }
}

pub async fn get_prompt(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let GetPromptParams { name } = GetPromptParams::parse(params)?;
    let Route { backend, original, .. } = prompt_route(ctx, name).await?;
    let mut result =
        into_result(&backend, ctx.call(&backend, "prompts/get", renamed(params, "name", &original)).await)?;
    let scope = privacy::scope(ctx).key();
    privacy::protect(ctx.app, ctx.principal, &mut ctx.app.pii.request(&scope), &backend.id, None, params, &mut result)
        .await;
    Ok(result)
}

pub async fn read_resource(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let ResourceParams { uri } = ResourceParams::parse(params)?;
    let (backend, mut result) = by_uri_from(ctx, uri, "resources/read", "resources", params.clone())
        .await?
        .ok_or_else(|| GatewayError::ResourceNotFound(uri.to_owned()))?;
    let scope = privacy::scope(ctx).key();
    privacy::protect(ctx.app, ctx.principal, &mut ctx.app.pii.request(&scope), &backend, None, params, &mut result)
        .await;
    Ok(result)
}

/// Routes a URI-addressed request to its owner, or asks every backend that declares `capability` and
/// takes the first success in configuration order (learning the owner for next time).
async fn by_uri_from(
    ctx: &Ctx<'_>,
    uri: &str,
    method: &str,
    capability: &str,
    params: Value,
) -> Result<Option<(String, Value)>, GatewayError> {
    let backends = ctx.app.backends();
    if let Some(backend) = ctx.app.owners.owner_of(uri).and_then(|id| backends.get(&id).cloned()) {
        let result = into_result(&backend, ctx.call(&backend, method, params).await)?;
        return Ok(Some((backend.id.clone(), result)));
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
    let found = backends.iter().zip(answers).find_map(|(b, answer)| {
        let result = answer?;
        ctx.app.owners.learn_uri(uri, &b.id);
        Some((b.id.clone(), result))
    });
    Ok(found)
}

pub async fn complete(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    match CompletionRef::parse(params)? {
        CompletionRef::Prompt { name } => {
            let Route { backend, original, .. } = prompt_route(ctx, name).await?;
            let mut params = params.clone();
            params["ref"]["name"] = Value::String(original);
            into_result(&backend, ctx.call(&backend, "completion/complete", params).await)
        }
        CompletionRef::Resource { uri } => {
            let empty = json!({ "completion": { "values": [], "hasMore": false } });
            Ok(by_uri_from(ctx, uri, "completion/complete", "completions", params.clone())
                .await?
                .map_or(empty, |(_, result)| result))
        }
    }
}

/// Sets the level on every backend that logs. Messages cannot reach the client over a buffered
/// response, but backends still honour the level in their own logs.
pub async fn set_level(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let SetLevelParams { level } = SetLevelParams::parse(params)?;
    let backends = ctx.app.backends();
    let sets = backends.iter().map(|b| async move {
        let state = ctx.backend_session(b).await.ok()?;
        state.has("logging").then_some(())?;
        ctx.call(b, "logging/setLevel", json!({ "level": level })).await.ok()
    });
    join_all(sets).await;
    Ok(json!({}))
}
