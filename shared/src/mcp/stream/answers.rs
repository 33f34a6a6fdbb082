//! The client's answer to a request a backend sent it (sampling, elicitation, roots): a POST carrying a
//! JSON-RPC response, which may reach any instance. The pending request recorded by the instance that
//! relayed the request says where the answer goes; it is taken from the store in one conditional step,
//! so it is answered at most once, and only from the session (and principal) it was sent to. An answer
//! for anything else (expired, answered already, another session's, never sent) gets the same refusal.

use serde_json::{json, Value};

use crate::{
    auth::Principal,
    protocol::{Session, VaultScope},
    App, GatewayError,
};

/// Delivers the client's answer `message` to the backend waiting for it.
pub async fn deliver(app: &App, session: &Session, principal: &Principal, message: &Value) -> Result<(), GatewayError> {
    let unknown = || {
        GatewayError::InvalidRequest(
            "no request with this id is waiting for an answer on this session (it was answered already, it \
             expired, or it was never sent here)"
                .into(),
        )
    };
    // The gateway's ids are strings; anything else was never one of them.
    let id = message.get("id").and_then(Value::as_str).ok_or_else(unknown)?;
    let pending = app.streams.take_pending(id, &session.id, &principal.id).await?.ok_or_else(unknown)?;
    let Some(backend) = app.backends().get(&pending.backend).cloned() else {
        tracing::info!(backend = %pending.backend, "an answer for a backend that is gone");
        return Err(unknown());
    };
    let mut answer = json!({ "jsonrpc": "2.0", "id": pending.backend_request_id });
    match (message.get("result"), message.get("error")) {
        (Some(result), _) => {
            // The client saw tokens for the PII in the request; the backend gets the values back.
            let mut result = result.clone();
            let scope = VaultScope::Session(session.id.clone()).key();
            app.pii
                .request(&scope)
                .detokenize(&mut result)
                .await
                .map_err(|e| GatewayError::Internal(format!("PII vault: {e}")))?;
            answer["result"] = result;
        }
        (None, Some(error)) => answer["error"] = error.clone(),
        (None, None) => return Err(GatewayError::InvalidRequest("a response needs a result or an error".into())),
    }
    tracing::info!(backend = %backend.id, method = %pending.method, "client's answer delivered to the backend");
    let sid = pending.backend_session.as_deref();
    app.client
        .deliver(&backend, sid, &pending.backend_version, &answer)
        .await
        .map_err(|source| GatewayError::BackendUnavailable { backend: backend.id.clone(), source })
}
