//! A legacy-era client session on the request path: found (and checked against its owner and version)
//! at the start of a request, saved at its end only when something changed, ended by `DELETE`.

use ::http::HeaderMap;
use futures_util::future::join_all;

use super::upstream::Ctx;
use crate::{
    auth::Principal,
    http,
    protocol::{now_secs, Session, VaultScope},
    App, GatewayError,
};

/// The session the request names, if it exists, belongs to the caller and matches the version header.
pub async fn load(app: &App, headers: &HeaderMap, principal: &Principal) -> Result<Session, GatewayError> {
    let id = http::header(headers, "mcp-session-id").ok_or(GatewayError::SessionRequired)?;
    let session = app.sessions.load(id).await?.ok_or(GatewayError::SessionNotFound)?;
    // A session belongs to its creator; to anyone else it does not exist (no oracle for valid ids).
    if session.owner != principal.id {
        return Err(GatewayError::SessionNotFound);
    }
    match http::header(headers, "mcp-protocol-version") {
        Some(v) if v != session.protocol_version => Err(GatewayError::InvalidRequest(format!(
            "MCP-Protocol-Version {v} does not match the version negotiated for this session ({})",
            session.protocol_version
        ))),
        _ => Ok(session),
    }
}

/// Saves the session when backend sessions were opened, or to slide its expiry forward (at most once
/// per half TTL, so a busy session does not cost a write per request). The write is conditional: a
/// session deleted while this request ran stays deleted.
pub async fn save(app: &App, ctx: Ctx<'_>) {
    let (mut session, changed) = ctx.finish();
    let ttl = app.config.session_ttl.as_secs();
    let now = now_secs();
    if changed || session.expires_at < now + ttl / 2 {
        session.expires_at = now + ttl;
        match app.sessions.update(&session).await {
            Ok(true) => {}
            Ok(false) => tracing::info!("the session was deleted while a request ran; it stays deleted"),
            Err(error) => tracing::warn!(%error, "could not save the session; backend sessions will be reopened"),
        }
    }
}

/// Ends the session: the stored session, its PII vault, and its backend sessions (best effort).
pub async fn end(app: &App, headers: &HeaderMap, principal: &Principal) -> Result<(), GatewayError> {
    let session = load(app, headers, principal).await?;
    app.sessions.delete(&session.id).await?;
    if let Err(error) = app.pii.forget(&VaultScope::Session(session.id.clone()).key()).await {
        tracing::warn!(%error, "could not delete the session's PII vault; it expires with its TTL");
    }
    let backends = app.backends();
    let ends = session.backends.iter().filter_map(|(id, state)| {
        let backend = backends.get(id)?;
        let backend_session = state.session_id.as_deref()?;
        Some(app.client.end_session(backend, backend_session, &state.protocol_version))
    });
    join_all(ends).await;
    Ok(())
}
