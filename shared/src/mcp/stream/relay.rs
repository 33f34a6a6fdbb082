//! What a backend sends while the gateway waits for its answer, on its way to the client's stream.
//!
//! - Notifications: progress (only with the token the gateway minted for this call, given back as the
//!   client's own token), log messages, and in the session era list changes and resource updates.
//!   Anything else is dropped: the gateway forwards only what it understands.
//! - Requests to the client (sampling, elicitation, roots; session era only, and only what the client
//!   declared): forwarded under a fresh random id. The backend's id, session and the client session they
//!   belong to are kept as a pending request in the store, so the client's answer, a new POST that may
//!   reach any instance, is delivered by whichever instance receives it (`answers`). A request not answered
//!   within `GATEWAY_PENDING_REQUEST_SECS` is answered to the backend with an error; one beyond the
//!   stream's `GATEWAY_MAX_PENDING_REQUESTS`, or that the client could not take, is refused at once.
//!   `ping` is answered by the gateway itself.
//!
//! PII in everything forwarded becomes tokens of the request's vault, exactly as in results.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::{
    auth::Principal,
    backend::{refusal, Backend, BackendError, Listener, Reply},
    protocol::{mint_id, now_secs, BackendSession, Era, VaultScope},
    store::PendingRequest,
    App,
};

use super::super::privacy;

/// The progress token the gateway gives a backend for one call, and the client's it stands for.
struct Progress {
    ours: String,
    theirs: Value,
}

/// The relay of one streamed request (or one standalone stream).
pub struct Relay {
    app: Arc<App>,
    principal: Principal,
    era: Era,
    /// The method whose backend exchange is relayed (`None`: a standalone stream, no request of its own).
    method: Option<String>,
    /// The client session (legacy): requests to the client need one, for the client's answer to find.
    session: Option<String>,
    client_capabilities: Value,
    vault: VaultScope,
    /// The request's params (its PII opt-out), for `privacy::protect`.
    params: Value,
    progress: Mutex<Option<Progress>>,
    /// Requests to the client still waiting: gateway id → (backend id, the backend's request id).
    pending: Mutex<HashMap<String, (String, Value)>>,
    out: mpsc::Sender<Value>,
}

/// What a relay needs to know about the request it serves.
pub struct RelayFor {
    pub principal: Principal,
    pub era: Era,
    pub method: Option<String>,
    pub session: Option<String>,
    pub client_capabilities: Value,
    pub vault: VaultScope,
    pub params: Value,
}

impl Relay {
    /// A relay writing the messages for the client to `out`.
    pub fn new(app: Arc<App>, request: RelayFor, out: mpsc::Sender<Value>) -> Arc<Self> {
        let RelayFor { principal, era, method, session, client_capabilities, vault, params } = request;
        Arc::new(Self {
            app,
            principal,
            era,
            method,
            session,
            client_capabilities,
            vault,
            params,
            progress: Mutex::new(None),
            pending: Mutex::new(HashMap::new()),
            out,
        })
    }

    /// Whether a backend exchange of `method` is this relay's to stream.
    pub fn relays(&self, method: &str) -> bool {
        self.method.as_deref() == Some(method)
    }

    /// Sends the request to the backend, relaying what it sends before its answer.
    pub async fn forward(
        self: &Arc<Self>,
        backend: &Backend,
        state: &BackendSession,
        method: &str,
        params: Value,
    ) -> Result<Reply, BackendError> {
        let params = self.with_our_progress_token(params);
        let listener = BackendListener { relay: self, backend, state };
        let sid = state.session_id.as_deref();
        self.app.client.request_streamed(backend, sid, &state.protocol_version, method, params, &listener).await
    }

    /// The listener for a backend's standalone stream, relaying to this relay's client.
    pub fn listener<'a>(self: &'a Arc<Self>, backend: &'a Backend, state: &'a BackendSession) -> BackendListener<'a> {
        BackendListener { relay: self, backend, state }
    }

    /// Replaces the client's progress token by one of the gateway's: the backend's progress for this call
    /// is then recognised by a token nobody else can send, and given back under the client's.
    fn with_our_progress_token(&self, mut params: Value) -> Value {
        let Some(theirs) = params.pointer("/_meta/progressToken").cloned() else { return params };
        let ours = format!("gw-progress-{}", mint_id().unwrap_or_default());
        params["_meta"]["progressToken"] = Value::String(ours.clone());
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = Some(Progress { ours, theirs });
        params
    }

    /// Ends the relay: requests the client never answered are withdrawn, so a late answer is refused
    /// like one for a request that never existed. (Those answered on other instances are gone already.)
    pub async fn finish(&self) {
        let ids: Vec<String> = self.pending().drain().map(|(id, _)| id).collect();
        for id in ids {
            if let Err(error) = self.app.streams.withdraw_pending(&id).await {
                tracing::debug!(%error, "could not withdraw a pending request; it expires with its TTL");
            }
        }
    }

    /// How many of the requests this relay forwarded still wait: the answers went to other instances,
    /// so the store says which were answered.
    async fn still_waiting(&self) -> usize {
        let ids: Vec<String> = self.pending().keys().cloned().collect();
        for id in ids {
            if let Ok(false) = self.app.streams.is_pending(&id).await {
                self.pending().remove(&id);
            }
        }
        self.pending().len()
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Value)>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Protects and sends one message; `false` once the client's stream is gone. The ids in it (a progress
    /// token, a request id) are the gateway's and the client's own, never PII: they are kept as they are.
    async fn emit(&self, backend: &str, mut message: Value) -> bool {
        if let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) {
            let ids: Vec<(String, Value)> = ["progressToken", "requestId"]
                .iter()
                .filter_map(|k| Some((k.to_string(), params.remove(*k)?)))
                .collect();
            let mut protected = Value::Object(std::mem::take(params));
            let mut shield = privacy::Shield::for_scope(&self.app, &self.principal, &self.vault, &self.params);
            shield.protect(backend, None, &mut protected).await;
            if let Value::Object(protected) = protected {
                *params = protected;
            }
            params.extend(ids);
        }
        self.out.send(message).await.is_ok()
    }

    /// A notification from `backend`, forwarded if the client may see it.
    async fn notification(&self, backend: &str, mut message: Value) {
        let method = message["method"].as_str().unwrap_or_default().to_owned();
        match method.as_str() {
            "notifications/progress" => {
                let progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
                let token = message.pointer("/params/progressToken");
                let Some(progress) =
                    progress.as_ref().filter(|p| token.and_then(Value::as_str) == Some(p.ours.as_str()))
                else {
                    return; // not this call's progress: never relayed
                };
                message["params"]["progressToken"] = progress.theirs.clone();
            }
            "notifications/message" => {}
            "notifications/cancelled" => {
                // The backend withdrew a request it sent the client: withdraw it under the gateway's id.
                let backend_id = message.pointer("/params/requestId").cloned().unwrap_or(Value::Null);
                let ours = self
                    .pending()
                    .iter()
                    .find(|(_, (b, id))| b == backend && *id == backend_id)
                    .map(|(k, _)| k.clone());
                let Some(ours) = ours else { return };
                self.pending().remove(&ours);
                let _ = self.app.streams.withdraw_pending(&ours).await;
                message["params"]["requestId"] = Value::String(ours);
            }
            // Session-era streams carry changes too; a 2026-07-28 reply carries only what relates to it.
            "notifications/resources/updated"
            | "notifications/tools/list_changed"
            | "notifications/prompts/list_changed"
            | "notifications/resources/list_changed"
                if self.era == Era::Legacy => {}
            _ => return,
        }
        self.emit(backend, message).await;
    }

    /// A request from `backend` (on session `state`) to the client. `Some(answer)` is posted back at once.
    async fn request(self: &Arc<Self>, backend: &Backend, state: &BackendSession, message: Value) -> Option<Value> {
        let backend_id = message["id"].clone();
        let method = message["method"].as_str().unwrap_or_default().to_owned();
        if method == "ping" {
            return Some(json!({ "jsonrpc": "2.0", "id": backend_id, "result": {} }));
        }
        let refuse = |why: &str| {
            tracing::info!(backend = %backend.id, %method, why, "refusing a server-to-client request");
            Some(refusal(&backend_id, why))
        };
        let Some(session) = self.session.clone().filter(|_| self.era == Era::Legacy) else {
            return refuse("2026-07-28 has no requests from server to client (use an input_required result)");
        };
        let needed = match method.as_str() {
            "sampling/createMessage" => "sampling",
            "elicitation/create" => "elicitation",
            "roots/list" => "roots",
            _ => return refuse("the gateway does not relay this request to its clients"),
        };
        if !self.client_capabilities.get(needed).is_some_and(Value::is_object) {
            return refuse("the client did not declare this capability");
        }
        let streaming = &self.app.config.streaming;
        if self.pending().len() >= streaming.max_pending && self.still_waiting().await >= streaming.max_pending {
            return refuse("too many requests are waiting for the client's answer");
        }
        let Ok(random) = mint_id() else { return refuse("the gateway could not mint an id for the request") };
        let id = format!("gw-{random}");
        let pending = PendingRequest {
            id: id.clone(),
            session,
            owner: self.principal.id.clone(),
            backend: backend.id.clone(),
            backend_request_id: backend_id.clone(),
            backend_session: state.session_id.clone(),
            backend_version: state.protocol_version.clone(),
            method: method.clone(),
            expires_at: now_secs() + streaming.pending_ttl.as_secs(),
        };
        if let Err(error) = self.app.streams.put_pending(&pending).await {
            tracing::warn!(%error, "could not record a request to the client");
            return refuse("the gateway could not record the request");
        }
        self.pending().insert(id.clone(), (backend.id.clone(), backend_id.clone()));
        let mut forwarded = message;
        forwarded["id"] = Value::String(id.clone());
        if !self.emit(&backend.id, forwarded).await {
            let _ = self.app.streams.withdraw_pending(&id).await;
            self.pending().remove(&id);
            return refuse("the client's stream is closed");
        }
        self.expire_later(id, backend.id.clone(), state.clone());
        None
    }

    /// After the pending TTL, answers the backend with an error if the client has not: whoever takes the
    /// pending request from the store (this timer, or the client's answer before it expired) answers.
    fn expire_later(self: &Arc<Self>, id: String, backend: String, state: BackendSession) {
        let relay = Arc::downgrade(self);
        let app = self.app.clone();
        let ttl = app.config.streaming.pending_ttl;
        tokio::spawn(async move {
            tokio::time::sleep(ttl).await;
            let Ok(Some(expired)) = app.streams.withdraw_pending(&id).await else { return };
            if let Some(relay) = relay.upgrade() {
                relay.pending().remove(&id);
            }
            tracing::info!(%backend, method = %expired.method, "the client did not answer in time");
            // The backend as it is configured now (it may have been replaced or removed meanwhile).
            let Some(backend) = app.backends().get(&backend).cloned() else { return };
            let answer = json!({ "jsonrpc": "2.0", "id": expired.backend_request_id, "error": {
                "code": -32001,
                "message": format!("the client did not answer within {} s", ttl.as_secs()),
            }});
            let sid = state.session_id.as_deref();
            if let Err(error) = app.client.deliver(&backend, sid, &state.protocol_version, &answer).await {
                tracing::debug!(backend = %backend.id, %error, "could not tell the backend the request expired");
            }
        });
    }
}

/// The relay as the backend client's listener for one backend session.
pub struct BackendListener<'a> {
    relay: &'a Arc<Relay>,
    backend: &'a Backend,
    state: &'a BackendSession,
}

#[async_trait]
impl Listener for BackendListener<'_> {
    async fn notification(&self, message: Value) {
        self.relay.notification(&self.backend.id, message).await;
    }

    async fn request(&self, message: Value) -> Option<Value> {
        self.relay.request(self.backend, self.state, message).await
    }
}
