//! `resources/subscribe` and `resources/unsubscribe` (session era, `GATEWAY_STREAMING=on`): passed to the
//! backend that owns the URI, on the client's backend session. The backend then sends
//! `notifications/resources/updated` on that session's standalone stream, which the gateway relays on the
//! client's `GET /mcp` stream.

use serde_json::Value;

use crate::{
    mcp::{calls, upstream::Ctx},
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
    let found = calls::by_uri_from(ctx, uri, method, "resources", params.clone()).await?;
    found.map(|(_, result)| result).ok_or_else(|| GatewayError::ResourceNotFound(uri.to_owned()))
}
