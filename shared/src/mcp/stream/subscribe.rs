//! `resources/subscribe` and `resources/unsubscribe` (session era, `GATEWAY_STREAMING=on`): passed to the
//! backend that owns the URI, on the client's backend session. The backend then sends
//! `notifications/resources/updated` on that session's standalone stream, which the gateway relays on the
//! client's `GET /mcp` stream.

use serde_json::Value;

use crate::{
    mcp::{calls, privacy::Shield, upstream::Ctx},
    protocol::params::ResourceParams,
    GatewayError,
};

pub async fn subscribe(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    change(ctx, "resources/subscribe", params).await
}

pub async fn unsubscribe(ctx: &Ctx<'_>, params: &Value) -> Result<Value, GatewayError> {
    change(ctx, "resources/unsubscribe", params).await
}

async fn change(ctx: &Ctx<'_>, method: &str, params: &Value) -> Result<Value, GatewayError> {
    let ResourceParams { uri } = ResourceParams::parse(params)?;
    // The URI may carry tokens, like a resources/read's.
    let mut shield = Shield::new(ctx, params);
    let mut outgoing = params.clone();
    shield.restore_field(&mut outgoing, "uri").await?;
    let restored = outgoing["uri"].as_str().unwrap_or(uri).to_owned();
    let found = calls::by_uri_from(ctx, &mut shield, &restored, method, "resources", outgoing).await?;
    found.ok_or_else(|| GatewayError::ResourceNotFound(uri.to_owned()))
}
