//! Methods aimed at one item, routed to the backend that owns it: tools and prompts by exact lookup of
//! their exposed name in the catalog, resources by URI. Each is authorized against the backend that owns
//! the item (`access`); an item the caller may not reach gets the answer a missing one gets.

use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::{json, Value};

use super::{
    access,
    catalog::{self, Routed},
    lists::ListKind,
    privacy::Shield,
    upstream::Ctx,
};
use crate::{
    auth::ItemKind,
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

/// A backend's answer on its way to the client: a result or a JSON-RPC error, both tokenized by `shield`
/// (`tool`: the exposed name of the tool whose answer it is).
async fn relay(
    shield: &mut Shield<'_>,
    backend: &Backend,
    tool: Option<&str>,
    reply: Result<Reply, BackendError>,
) -> Result<Value, GatewayError> {
    match reply {
        Ok(Reply::Result(mut result)) => {
            shield.protect(&backend.id, tool, &mut result).await;
            Ok(result)
        }
        Ok(Reply::Error(error)) => Err(shield.protect_error(&backend.id, tool, error).await),
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
    // A tool the caller may not call gets the same answer as one that does not exist: no oracle. The
    // check goes by the backend the name is routed to, never by how the name reads.
    let reaches = |backend: &Backend| access::may_reach(ctx, backend, ItemKind::Tool, name);
    let Route { backend, original, schema } = match catalog::route(ctx, ListKind::Tools, name).await {
        Routed::To(route) if reaches(&route.backend) => route,
        Routed::Unavailable(backend) if reaches(&backend) => {
            let error = unlisted(ctx, &backend);
            tracing::warn!(backend = %backend.id, %error, "tools/call to an unavailable backend");
            return Ok(unavailable_result(&backend, &error, false));
        }
        Routed::To(_) | Routed::Unavailable(_) | Routed::Unknown => return Err(unknown()),
    };
    gate::charge_tool(ctx.app, ctx.principal, name).await?;
    let mut shield = Shield::new(ctx, params);
    let mut forwarded = renamed(params, "name", &original);
    if let Some(arguments) = forwarded.get_mut("arguments") {
        shield.restore(arguments).await?;
    }
    // Checked on the values the backend would get (tokens restored); the backend never sees a bad call.
    let (none, arguments) = (json!({}), forwarded.get("arguments"));
    if let Err(problem) = schema.map_or(Ok(()), |schema| schema.check(arguments.unwrap_or(&none))) {
        tracing::info!(backend = %backend.id, tool = name, "tools/call refused: invalid arguments");
        // The message names fields, and a field name may be a restored value: it is tokenized too.
        let mut result = invalid_arguments_result(&problem);
        shield.protect(&backend.id, Some(name), &mut result).await;
        return Ok(result);
    }
    match ctx.call(&backend, "tools/call", forwarded).await {
        Err(error) => {
            tracing::warn!(backend = %backend.id, %error, "tools/call failed");
            // Refused before anything was sent: the breaker, our credential, or no free slot.
            let ran =
                !matches!(error, BackendError::CircuitOpen(_) | BackendError::Credential(_) | BackendError::Saturated);
            Ok(unavailable_result(&backend, &error, ran))
        }
        reply => relay(&mut shield, &backend, Some(name), reply).await,
    }
}

/// The backend and original name of a prompt the caller may use, by exact lookup.
async fn prompt_route(ctx: &Ctx<'_>, name: &str) -> Result<Route, GatewayError> {
    let reaches = |backend: &Backend| access::may_reach(ctx, backend, ItemKind::Prompt, name);
    match catalog::route(ctx, ListKind::Prompts, name).await {
        Routed::To(route) if reaches(&route.backend) => Ok(route),
        Routed::Unavailable(backend) if reaches(&backend) => {
            Err(GatewayError::BackendUnavailable { source: unlisted(ctx, &backend), backend: backend.id.clone() })
        }
        Routed::To(_) | Routed::Unavailable(_) | Routed::Unknown => {
            Err(GatewayError::InvalidParams(format!("unknown prompt: {name}")))
        }
    }
}

pub async fn get_prompt(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let GetPromptParams { name } = GetPromptParams::parse(params)?;
    let Route { backend, original, .. } = prompt_route(ctx, name).await?;
    let mut shield = Shield::new(ctx, params);
    let mut forwarded = renamed(params, "name", &original);
    if let Some(arguments) = forwarded.get_mut("arguments") {
        shield.restore(arguments).await?;
    }
    let reply = ctx.call(&backend, "prompts/get", forwarded).await;
    relay(&mut shield, &backend, None, reply).await
}

pub async fn read_resource(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    ResourceParams::parse(params)?;
    let mut shield = Shield::new(ctx, params);
    // A URI the client got from a list carries tokens where the backend's had values.
    let mut forwarded = params.clone();
    shield.restore_field(&mut forwarded, "uri").await?;
    let ResourceParams { uri } = ResourceParams::parse(&forwarded)?;
    let found = by_uri_from(ctx, &mut shield, uri, "resources/read", "resources", forwarded.clone()).await?;
    // The URI is named as the client sent it: the restored value never appears in an error.
    found.ok_or_else(|| GatewayError::ResourceNotFound(params["uri"].as_str().unwrap_or_default().to_owned()))
}

/// Routes a URI-addressed request to its owner, or asks every backend that declares `capability` and
/// takes the first success in configuration order (learning the owner for next time). Only backends whose
/// resources the caller may reach are asked: an owner it may not reach is treated as unknown, so a denied
/// resource is answered exactly like a missing one.
pub(super) async fn by_uri_from(
    ctx: &Ctx<'_>,
    shield: &mut Shield<'_>,
    uri: &str,
    method: &str,
    capability: &str,
    params: Value,
) -> Result<Option<Value>, GatewayError> {
    let set = ctx.app.backends();
    let reachable: Vec<&Arc<Backend>> =
        set.iter().filter(|b| access::may_reach(ctx, b, ItemKind::Resource, uri)).collect();
    let owner = ctx.app.owners.owner_of(uri).and_then(|id| reachable.iter().find(|b| b.id == id).copied());
    if let Some(backend) = owner {
        let reply = ctx.call(backend, method, params).await;
        return relay(shield, backend, None, reply).await.map(Some);
    }
    // What a caller who reaches only some backends finds is not what everyone would find: it must not
    // decide where other callers' requests for this URI go.
    let learn = reachable.len() == set.len();
    let asks = reachable.iter().map(|b| {
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
    let found = reachable.iter().zip(answers).find_map(|(b, answer)| {
        let result = answer?;
        if learn {
            ctx.app.owners.learn_uri(uri, &b.id, &set);
        }
        Some((*b, result))
    });
    match found {
        Some((backend, mut result)) => {
            shield.protect(&backend.id, None, &mut result).await;
            Ok(Some(result))
        }
        None => Ok(None),
    }
}

/// `completion/complete`: the argument being completed and the arguments already given are restored on
/// the way out; the completion values come back tokenized, like any backend data.
pub async fn complete(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let mut shield = Shield::new(ctx, params);
    let mut forwarded = params.clone();
    for field in ["argument", "context"] {
        if let Some(value) = forwarded.get_mut(field) {
            shield.restore(value).await?;
        }
    }
    match CompletionRef::parse(params)? {
        CompletionRef::Prompt { name } => {
            let Route { backend, original, .. } = prompt_route(ctx, name).await?;
            forwarded["ref"]["name"] = Value::String(original);
            let reply = ctx.call(&backend, "completion/complete", forwarded).await;
            relay(&mut shield, &backend, None, reply).await
        }
        CompletionRef::Resource { uri } => {
            let empty = json!({ "completion": { "values": [], "hasMore": false } });
            let found = by_uri_from(ctx, &mut shield, uri, "completion/complete", "completions", forwarded).await?;
            Ok(found.unwrap_or(empty))
        }
    }
}

/// Sets the level on every backend that logs and that the caller holds a grant on. Messages cannot reach
/// the client over a buffered response, but backends still honour the level in their own logs.
pub async fn set_level(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    let SetLevelParams { level } = SetLevelParams::parse(params)?;
    let set = ctx.app.backends();
    let usable = set.iter().filter(|b| access::may_use_backend(ctx.principal, &set, b));
    let sets = usable.map(|b| async move {
        let state = ctx.backend_session(b).await.ok()?;
        state.has("logging").then_some(())?;
        ctx.call(b, "logging/setLevel", json!({ "level": level })).await.ok()
    });
    join_all(sets).await;
    Ok(json!({}))
}
