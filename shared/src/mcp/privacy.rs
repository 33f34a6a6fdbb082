//! PII on the request path: tokens in tool arguments are restored before a backend sees them, and PII in
//! results becomes tokens before the client sees it. The vault scope is the client session, or the
//! principal for stateless (2026-07-28) clients, so another session's tokens never resolve.

use serde_json::Value;

use super::upstream::Ctx;
use crate::{
    auth::Principal,
    pii::{allows_raw, raw_requested, PiiError, PiiRequest},
    protocol::VaultScope,
    App, GatewayError,
};

/// Whose vault this request uses: the one it was given (code runs with its caller's), else its session's,
/// else (no session: a stateless request) its principal's.
pub fn scope(ctx: &Ctx<'_>) -> VaultScope {
    if let Some(scope) = &ctx.vault {
        return scope.clone();
    }
    match ctx.session.id.as_str() {
        "" => VaultScope::Principal(ctx.principal.id.clone()),
        id => VaultScope::Session(id.to_owned()),
    }
}

/// Restores the tokens in `params.arguments` to the values they stand for.
pub async fn restore(request: &mut PiiRequest<'_>, params: &mut Value) -> Result<(), GatewayError> {
    if let Some(arguments) = params.get_mut("arguments") {
        request.detokenize(arguments).await.map_err(vault_error)?;
    }
    Ok(())
}

/// Tokenizes PII in a result, unless the caller asked for raw values and holds `pii:raw`. When the vault
/// cannot be used, values are redacted instead: raw PII never leaves because a store is down.
pub async fn protect(
    app: &App,
    principal: &Principal,
    request: &mut PiiRequest<'_>,
    backend: &str,
    tool: Option<&str>,
    params: &Value,
    result: &mut Value,
) {
    if raw_requested(params) && allows_raw(&principal.scopes) {
        return;
    }
    match request.tokenize(backend, tool, result).await {
        Ok(stats) => crate::telemetry::note_pii_tokens(stats.minted as u64),
        Err(error) => {
            tracing::warn!(%error, backend, "PII vault unavailable; redacting instead of tokenizing");
            if let Err(error) = app.pii.redact(backend, tool, result) {
                tracing::error!(%error, backend, "PII redaction failed; withholding the result");
                *result = serde_json::json!({
                    "content": [{ "type": "text", "text": "The result was withheld: it could not be checked for personal data." }],
                    "isError": true,
                });
            }
        }
    }
}

fn vault_error(error: PiiError) -> GatewayError {
    // The message names no value: PiiError never carries one.
    GatewayError::Internal(format!("PII vault: {error}"))
}
