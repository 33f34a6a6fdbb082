//! PII on the request path. Every request that reaches a backend holds one [`Shield`]: tokens in what it
//! sends (tool arguments, prompt arguments, a resource URI, a completion value) are restored before the
//! backend sees them, and everything the backend sends back — results, JSON-RPC errors, list metadata,
//! completion values — is tokenized before the client sees it, with the values this request restored
//! replaced by their tokens wherever they reappear. The vault is the client session's, or the principal's
//! for stateless callers, so another session's tokens never resolve.

use serde_json::Value;

use super::upstream::Ctx;
use crate::{
    auth::Principal,
    pii::{allows_raw, raw_requested, PiiError, PiiRequest},
    protocol::VaultScope,
    GatewayError,
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

/// One request's use of the caller's vault.
pub struct Shield<'a> {
    request: PiiRequest<'a>,
    /// The caller asked for raw results and holds `pii:raw`: nothing is tokenized.
    raw: bool,
}

impl<'a> Shield<'a> {
    /// The shield of a request with `params` (which may carry the raw opt-out) in `ctx`'s vault.
    pub fn new(ctx: &Ctx<'a>, params: &Value) -> Self {
        Self::for_scope(ctx.app, ctx.principal, &scope(ctx), params)
    }

    pub fn for_scope(app: &'a crate::App, principal: &Principal, vault: &VaultScope, params: &Value) -> Self {
        let raw = raw_requested(params) && allows_raw(&principal.scopes);
        Self { request: app.pii.request(&vault.key()), raw }
    }

    /// The shield for what a caller produced itself from this vault's tokens (the output, return value
    /// and error of its sandboxed code): its tokens stay as they are, everything else is tokenized.
    pub fn for_own_output(app: &'a crate::App, vault: &VaultScope) -> Self {
        Self { request: app.pii.request(&vault.key()).keep_tokens(), raw: false }
    }

    /// Restores this vault's tokens in `value` (something about to be sent to a backend).
    pub async fn restore(&mut self, value: &mut Value) -> Result<(), GatewayError> {
        self.request.detokenize(value).await.map(drop).map_err(vault_error)
    }

    /// Restores the tokens in the string member `field` of `params` (a URI, a name).
    pub async fn restore_field(&mut self, params: &mut Value, field: &str) -> Result<(), GatewayError> {
        match params.get_mut(field) {
            Some(value @ Value::String(_)) => self.restore(value).await,
            _ => Ok(()),
        }
    }

    /// Tokenizes `value` from `backend` (`tool`: the exposed name of a tool whose result it is), unless
    /// the caller asked for raw values and may have them. Never leaves a value in place: when the vault
    /// cannot be used, values are redacted; if even that fails, the whole value is withheld.
    pub async fn protect(&mut self, backend: &str, tool: Option<&str>, value: &mut Value) {
        if self.raw {
            return;
        }
        match self.request.tokenize(backend, tool, value).await {
            Ok(stats) => crate::telemetry::note_pii_tokens(stats.minted as u64),
            Err(error) => {
                tracing::error!(%error, backend, "PII check failed; withholding the value");
                *value = withheld();
            }
        }
    }

    /// A JSON-RPC error a backend returned, tokenized like its results: its message and data may repeat
    /// what the request sent (a restored value) or carry the backend's own data.
    pub async fn protect_error(&mut self, backend: &str, tool: Option<&str>, error: Value) -> GatewayError {
        let mut error = error;
        self.protect(backend, tool, &mut error).await;
        GatewayError::BackendRpc(error)
    }
}

/// What replaces a value that could not be checked for personal data.
fn withheld() -> Value {
    serde_json::json!({
        "content": [{ "type": "text", "text": "The result was withheld: it could not be checked for personal data." }],
        "isError": true,
    })
}

fn vault_error(error: PiiError) -> GatewayError {
    // The message names no value: PiiError never carries one.
    GatewayError::Internal(format!("PII vault: {error}"))
}
