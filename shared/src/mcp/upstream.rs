//! A client session's view of the backends during one request: opens backend sessions on demand,
//! re-opens one the backend has forgotten, and collects those changes so they are saved once.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use serde_json::Value;

use super::stream::Relay;
use crate::{
    auth::Principal,
    backend::{Backend, BackendError, BackendHandshake, Reply, MODERN_VERSION},
    protocol::{BackendSession, Era, Session, VaultScope},
    ratelimit::Limit,
    App,
};

pub struct Ctx<'a> {
    pub app: &'a App,
    /// Who is calling: lists show, and calls reach, only what their scopes allow.
    pub principal: &'a Principal,
    pub session: Session,
    /// For a modern (2026-07-28) client: its `_meta` envelope, forwarded to modern backends so they
    /// see the real client capabilities (and can answer with `input_required`).
    envelope: Option<Value>,
    /// Whose PII vault this request uses, when not its own session's (see `privacy::scope`).
    pub vault: Option<VaultScope>,
    /// The limit the request was charged to: work done on its behalf by gateway tools is charged to it.
    pub budget: Option<Limit>,
    /// When the request is answered with an event stream: what relays the backend's traffic to it.
    pub relay: Option<Arc<Relay>>,
    opened: Mutex<BTreeMap<String, BackendSession>>,
}

impl From<BackendHandshake> for BackendSession {
    fn from(h: BackendHandshake) -> Self {
        Self { session_id: h.session_id, protocol_version: h.protocol_version, capabilities: h.capabilities }
    }
}

impl<'a> Ctx<'a> {
    pub fn new(app: &'a App, principal: &'a Principal, session: Session) -> Self {
        let opened = Mutex::new(BTreeMap::new());
        Self { app, principal, session, envelope: None, vault: None, budget: None, relay: None, opened }
    }

    /// A context for a caller without a client session (code execution), with the backend sessions this
    /// instance holds for the principal; end it with [`Ctx::keep_stateless`].
    pub fn stateless(app: &'a App, principal: &'a Principal) -> Self {
        let session = app.modern.session(Era::Legacy, &principal.id, Value::Object(Default::default()));
        Self::new(app, principal, session)
    }

    /// A context for a stateless modern request carrying `envelope` and the client's capabilities.
    pub fn modern(app: &'a App, principal: &'a Principal, capabilities: Value, envelope: Value) -> Self {
        let mut ctx = Self::new(app, principal, app.modern.session(Era::Modern, &principal.id, capabilities));
        ctx.envelope = Some(envelope);
        ctx
    }

    /// The era of the client: what it is listed and may call (backends can offer each era a different
    /// catalog).
    pub fn era(&self) -> Era {
        if self.envelope.is_some() {
            Era::Modern
        } else {
            Era::Legacy
        }
    }

    fn opened(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BackendSession>> {
        self.opened.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// This client session's session with `backend`, opened now if there is none yet (the backend was
    /// down at initialize, or was added since).
    pub async fn backend_session(&self, backend: &Backend) -> Result<BackendSession, BackendError> {
        let known = self.opened().get(&backend.id).or_else(|| self.session.backends.get(&backend.id)).cloned();
        match known {
            Some(state) => Ok(state),
            None => self.open(backend).await,
        }
    }

    /// Opens a session with `backend`. Modern clients reach backends that serve 2026-07-28 statelessly
    /// (no session, the client's own envelope); everything else goes through `initialize`.
    async fn open(&self, backend: &Backend) -> Result<BackendSession, BackendError> {
        let client = &self.app.client;
        let modern = match self.envelope {
            Some(_) => client.discover(backend).await?,
            None => None,
        };
        let handshake = match modern {
            Some(handshake) => handshake,
            None => {
                let capabilities = relayed_capabilities(self.app, &self.session.client_capabilities);
                client.initialize_as(backend, &self.session.protocol_version, capabilities).await?
            }
        };
        let state = BackendSession::from(handshake);
        self.opened().insert(backend.id.clone(), state.clone());
        Ok(state)
    }

    /// One request to `backend`, made for this context's principal (a Lambda backend's event names it).
    pub async fn call(&self, backend: &Backend, method: &str, params: Value) -> Result<Reply, BackendError> {
        crate::backend::caller::on_behalf_of(&self.principal.id, self.call_once(backend, method, params)).await
    }

    /// Never retried, except after a 404 on the backend session: then the backend did not process it, so
    /// a fresh session and one resend are safe even for `tools/call`.
    async fn call_once(&self, backend: &Backend, method: &str, params: Value) -> Result<Reply, BackendError> {
        let state = self.backend_session(backend).await?;
        if state.protocol_version == MODERN_VERSION {
            // A stateless backend session (opened for a modern client of this principal) needs an envelope
            // on every request; callers without their own (the code sandbox) declare no capabilities.
            let envelope = self.envelope.clone().unwrap_or_else(|| {
                serde_json::json!({
                    "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
                    "io.modelcontextprotocol/clientCapabilities": {},
                })
            });
            return self.send(backend, &state, method, with_envelope(params, &envelope)).await;
        }
        match self.send(backend, &state, method, params.clone()).await {
            Err(BackendError::SessionExpired) => {
                tracing::info!(backend = %backend.id, "backend session expired; opening a new one");
                let state = self.open(backend).await?;
                self.send(backend, &state, method, params).await
            }
            other => other,
        }
    }

    /// Sends one request on backend session `state`: through the relay when the request is answered
    /// with an event stream, else as a buffered exchange.
    async fn send(
        &self,
        backend: &Backend,
        state: &BackendSession,
        method: &str,
        params: Value,
    ) -> Result<Reply, BackendError> {
        match self.relay.as_ref().filter(|relay| relay.relays(method)) {
            Some(relay) => relay.forward(backend, state, method, params).await,
            None => {
                let sid = state.session_id.as_deref();
                self.app.client.request(backend, sid, &state.protocol_version, method, params).await
            }
        }
    }

    /// Ends a stateless request: the backend sessions it opened are kept for the principal's next one.
    pub fn keep_stateless(self) {
        let (app, era) = (self.app, self.era());
        let (session, changed) = self.finish();
        if changed {
            app.modern.keep(era, &session.owner, session.backends);
        }
    }

    /// The session with the backend sessions opened during this request, and whether it changed.
    pub fn finish(self) -> (Session, bool) {
        let Ctx { mut session, opened, .. } = self;
        let opened = opened.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        let changed = !opened.is_empty();
        session.backends.extend(opened);
        (session, changed)
    }
}

/// What a legacy client declared that the gateway can relay for it on a streamed session: sampling,
/// elicitation and roots requests from a backend reach the client on the call's stream. Nothing while
/// replies are buffered (a backend must not be invited to ask what cannot reach the client); roots
/// without `listChanged` (the gateway does not forward the client's list changes).
pub(super) fn relayed_capabilities(app: &App, client: &Value) -> Value {
    let mut relayed = serde_json::Map::new();
    if app.config.streaming.replies() {
        for capability in ["sampling", "elicitation"] {
            if let Some(declared) = client.get(capability).filter(|c| c.is_object()) {
                relayed.insert(capability.to_owned(), declared.clone());
            }
        }
        if client.get("roots").is_some_and(Value::is_object) {
            relayed.insert("roots".to_owned(), serde_json::json!({}));
        }
    }
    Value::Object(relayed)
}

/// `params` with the client's envelope merged into `_meta`.
fn with_envelope(mut params: Value, envelope: &Value) -> Value {
    if !params.is_object() {
        params = Value::Object(Default::default());
    }
    let meta = params.as_object_mut().map(|p| p.entry("_meta").or_insert_with(|| Value::Object(Default::default())));
    if let (Some(Value::Object(meta)), Some(envelope)) = (meta, envelope.as_object()) {
        meta.extend(envelope.clone());
    }
    params
}
