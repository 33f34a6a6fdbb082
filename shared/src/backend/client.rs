//! The gateway as an MCP client of its backends. Every exchange goes through here: the backend's circuit
//! breaker, the instance-wide bound on exchanges in flight, the backend's timeout, its credential, and
//! then the transport it speaks (Streamable HTTP, legacy HTTP+SSE, or the spec's fallback between them).
//! Lambda and OpenAPI backends are answered by `tool_server` as if they were MCP servers; what they do
//! remotely (an invoke, an HTTP request, fetching a document) goes through the same [`guarded`] bounds.
//!
//! [`guarded`]: McpHttpClient::guarded
//!
//! Only the backend's own configured headers and credential are sent: the client's `Authorization`
//! never reaches a backend (no token passthrough); nothing of the client's request is even passed in.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::Duration,
};

use http::HeaderMap;
use serde_json::{json, Value};

use super::{
    breaker::BreakerSnapshot,
    cache::ListCache,
    credentials::BackendCredentials,
    fleet::Fleet,
    kind::BackendKind,
    lambda::LambdaInvoker,
    legacy, streamable, tool_server,
    wire::{Exchange, Reply, BACKEND_VERSIONS},
    Backend, BackendError, BackendSet, Transport,
};

/// What a transport needs for one exchange.
pub(super) struct Call<'a> {
    pub client: &'a McpHttpClient,
    pub http: reqwest::Client,
    pub backend: &'a Backend,
    /// Where the MCP server is (the SSE stream's URL for the legacy transport).
    pub url: &'a reqwest::Url,
    /// The backend's configured headers plus its credential.
    pub headers: HeaderMap,
}

impl Call<'_> {
    /// The GET that opens (or, from `last_event_id`, resumes) a session's event stream.
    pub fn stream_get(
        &self,
        session_id: &str,
        version: Option<&str>,
        last_event_id: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .get(self.url.clone())
            .headers(self.headers.clone())
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .header("mcp-session-id", session_id);
        if let Some(version) = version {
            request = request.header("mcp-protocol-version", version);
        }
        if let Some(last) = last_event_id {
            request = request.header("last-event-id", last);
        }
        request
    }
}

/// What the client is built from: the backends, the backend options and the gateway's name (its
/// `clientInfo`). `&Config` converts into it.
#[derive(Clone, Copy)]
pub struct ClientSettings<'a> {
    pub backends: &'a super::BackendSet,
    pub options: &'a super::BackendOptions,
    pub gateway_name: &'a str,
}

/// The client to all backends, built once per cold start.
pub struct McpHttpClient {
    /// The backends now, with their HTTP clients and breakers.
    pub(super) fleet: Fleet,
    client_info: Value,
    next_id: AtomicU64,
    id_prefix: String,
    credentials: Option<Arc<BackendCredentials>>,
    /// How Lambda backends are invoked (the AWS SDK); `None` where no function may be invoked.
    lambda: Option<Arc<dyn LambdaInvoker>>,
    in_flight: tokio::sync::Semaphore,
    /// `GATEWAY_MAX_BACKEND_STREAM_BYTES`: everything one streamed exchange may read.
    max_stream_bytes: usize,
    lists: ListCache,
    /// What `auto` backends turned out to speak, learned on first contact.
    detected: RwLock<HashMap<String, Transport>>,
}

impl McpHttpClient {
    /// The `mcp` function's client: breakers on, lists cached.
    pub fn new<'a>(settings: impl Into<ClientSettings<'a>>) -> Result<Self, reqwest::Error> {
        let settings = settings.into();
        let mut client = Self::build(settings, true)?;
        client.lists = ListCache::new(settings.options.list_cache_ttl);
        Ok(client)
    }

    /// The health function's client: no breaker (a probe is the ground truth), no cache.
    pub fn for_probes<'a>(settings: impl Into<ClientSettings<'a>>) -> Result<Self, reqwest::Error> {
        Self::build(settings.into(), false)
    }

    fn build(settings: ClientSettings<'_>, breakers: bool) -> Result<Self, reqwest::Error> {
        let ClientSettings { backends, options, gateway_name } = settings;
        let mut seed = [0u8; 4];
        let _ = getrandom::fill(&mut seed); // Only keeps ids distinct across processes; zeroes are harmless.
        Ok(Self {
            fleet: Fleet::new(backends, breakers)?,
            client_info: json!({ "name": gateway_name, "version": env!("CARGO_PKG_VERSION") }),
            next_id: AtomicU64::new(1),
            id_prefix: format!("gw-{:08x}", u32::from_be_bytes(seed)),
            credentials: None,
            lambda: None,
            in_flight: tokio::sync::Semaphore::new(options.concurrency.max(1)),
            max_stream_bytes: options.max_stream_bytes,
            lists: ListCache::new(Duration::ZERO),
            detected: RwLock::new(HashMap::new()),
        })
    }

    /// The backends now (the configured ones, or those an operator stored since).
    pub fn backends(&self) -> Arc<BackendSet> {
        self.fleet.set()
    }

    /// Serves `next` from now on: changed, new and removed backends get fresh clients and breakers and
    /// lose their cached pages and learned transports; unchanged ones keep theirs. Returns the ids of
    /// the backends that changed, appeared or disappeared.
    pub fn replace_backends(&self, next: BackendSet) -> Result<Vec<String>, reqwest::Error> {
        let changed = self.fleet.replace(next)?;
        let mut detected = self.detected.write().unwrap_or_else(|p| p.into_inner());
        for id in &changed {
            self.lists.forget(id);
            detected.remove(id);
        }
        Ok(changed)
    }

    /// Adds the source of backend credentials (Secrets Manager). Without it, backends with an `auth`
    /// object are reached without their credential (health probes: that function reads no secrets).
    pub fn set_credentials(&mut self, credentials: Arc<BackendCredentials>) {
        self.credentials = Some(credentials);
    }

    /// Adds the way Lambda backends are invoked. Without it, their tools can be listed (when configured)
    /// but a call fails as unavailable.
    pub fn set_lambda(&mut self, invoker: Arc<dyn LambdaInvoker>) {
        self.lambda = Some(invoker);
    }

    pub(super) fn lambda(&self) -> Option<&dyn LambdaInvoker> {
        self.lambda.as_deref()
    }

    pub(super) fn credentials(&self) -> Option<&BackendCredentials> {
        self.credentials.as_deref()
    }

    pub fn lists(&self) -> &ListCache {
        &self.lists
    }

    pub(super) fn max_stream_bytes(&self) -> usize {
        self.max_stream_bytes
    }

    /// The state of `backend`'s breaker in this instance (`None` without breakers).
    pub fn breaker(&self, backend: &str) -> Option<BreakerSnapshot> {
        Some(self.fleet.breaker(backend)?.snapshot())
    }

    /// Whether calls to `backend` fail fast right now.
    pub fn is_open(&self, backend: &str) -> bool {
        self.breaker(backend).is_some_and(|b| b.retry_in.is_some())
    }

    /// The transport `backend` is spoken to with: configured, or detected for `auto`. Lambda and OpenAPI
    /// backends are answered in process, as a Streamable HTTP server would answer.
    pub fn transport(&self, backend: &Backend) -> Transport {
        match backend.kind {
            BackendKind::Mcp { transport: Transport::Auto, .. } => {
                let detected = self.detected.read().unwrap_or_else(|p| p.into_inner());
                detected.get(&backend.id).copied().unwrap_or(Transport::Auto)
            }
            BackendKind::Mcp { transport, .. } => transport,
            BackendKind::Lambda(_) | BackendKind::OpenApi(_) => Transport::StreamableHttp,
        }
    }

    pub(super) fn client_info(&self) -> &Value {
        &self.client_info
    }

    pub(super) fn message(&self, method: &str, params: Value) -> Value {
        let id = format!("{}-{}", self.id_prefix, self.next_id.fetch_add(1, Ordering::Relaxed));
        json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
    }

    /// Sends one request and returns the backend's reply.
    pub async fn request(
        &self,
        backend: &Backend,
        session_id: Option<&str>,
        version: &str,
        method: &str,
        params: Value,
    ) -> Result<Reply, BackendError> {
        let exchange = self.exchange(backend, session_id, Some(version), &self.message(method, params)).await?;
        exchange.reply.ok_or_else(|| BackendError::InvalidResponse("request was answered with 202".into()))
    }

    /// Ends a backend session (DELETE), best effort: a backend that does not support it is fine.
    pub async fn end_session(&self, backend: &Backend, session_id: &str, version: &str) {
        if !backend.kind.is_mcp() || self.transport(backend) == Transport::Sse {
            return; // the stream was the session, and it is closed already
        }
        let Ok(call) = self.call(backend).await else { return };
        streamable::end_session(&call, session_id, version).await;
    }

    /// One exchange: refused at once while the breaker is open, otherwise bounded by the backend's
    /// timeout (credential, connect, send, and reading the reply). Waiting for one of the instance's
    /// in-flight slots comes first and is bounded separately: it is this instance being busy, not the
    /// backend being slow, so it never counts against the backend's breaker or its timeout.
    pub async fn exchange(
        &self,
        backend: &Backend,
        session_id: Option<&str>,
        version: Option<&str>,
        message: &Value,
    ) -> Result<Exchange, BackendError> {
        match &backend.kind {
            BackendKind::Mcp { .. } => {
                self.guarded(backend, self.dispatch(backend, session_id, version, message)).await
            }
            // Answered in process; only the remote steps inside are guarded (and count for the breaker).
            BackendKind::Lambda(_) | BackendKind::OpenApi(_) => tool_server::exchange(self, backend, message).await,
        }
    }

    /// Runs `work`, one remote step with `backend`, within its bounds: refused at once while the breaker
    /// is open; then a slot of the instance's in-flight bound, whose wait is bounded separately (it is this
    /// instance being busy, not the backend being slow, so it never counts against the backend's breaker
    /// or its timeout); then the backend's timeout around the work. Outages count against the breaker;
    /// answers (even error answers) count as successes.
    pub(super) async fn guarded<T>(
        &self,
        backend: &Backend,
        work: impl Future<Output = Result<T, BackendError>>,
    ) -> Result<T, BackendError> {
        let breaker = self.fleet.breaker(&backend.id);
        let breaker = breaker.as_deref();
        if let Some(breaker) = breaker {
            breaker.admit().map_err(BackendError::CircuitOpen)?;
        }
        // The semaphore is never closed; a closed one could only mean shutdown.
        let _slot = match tokio::time::timeout(backend.timeout, self.in_flight.acquire()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_)) | Err(_) => return Err(BackendError::Saturated),
        };
        let started = std::time::Instant::now();
        let outcome =
            tokio::time::timeout(backend.timeout, work).await.unwrap_or(Err(BackendError::Timeout(backend.timeout)));
        let reached = !matches!(&outcome, Err(error) if error.is_outage());
        crate::telemetry::note_backend(&backend.id, started.elapsed(), reached);
        match (&outcome, breaker) {
            (Ok(_), Some(breaker)) => breaker.success(),
            (Err(error), breaker) if error.is_outage() => {
                tracing::warn!(backend = %backend.id, %error, cause = %error.root_cause(), "backend exchange failed");
                if let Some(breaker) = breaker {
                    breaker.failure();
                }
            }
            _ => {}
        }
        outcome
    }

    async fn dispatch(
        &self,
        backend: &Backend,
        session_id: Option<&str>,
        version: Option<&str>,
        message: &Value,
    ) -> Result<Exchange, BackendError> {
        let call = self.call(backend).await?;
        // The legacy transport handshakes on every stream; a version is needed even for `initialize`.
        let legacy_version = version.unwrap_or(BACKEND_VERSIONS[0]);
        let outcome = match self.transport(backend) {
            Transport::StreamableHttp => streamable::exchange(&call, session_id, version, message).await,
            Transport::Sse => legacy::exchange(&call, legacy_version, message).await,
            Transport::Auto => match streamable::exchange(&call, session_id, version, message).await {
                // The spec's fallback: a server that rejects the POST with 400/404/405 may be a
                // 2024-11-05 server expecting a GET stream.
                Err(error @ (BackendError::Status(400 | 404 | 405) | BackendError::SessionExpired)) => {
                    match legacy::exchange(&call, legacy_version, message).await {
                        Ok(exchange) => {
                            self.learn(backend, Transport::Sse);
                            Ok(exchange)
                        }
                        Err(legacy_error) => {
                            tracing::debug!(backend = %backend.id, %legacy_error, "SSE fallback failed too");
                            Err(error)
                        }
                    }
                }
                Ok(exchange) => {
                    self.learn(backend, Transport::StreamableHttp);
                    Ok(exchange)
                }
                Err(error) => Err(error),
            },
        };
        if let (Err(BackendError::Status(401)), Some(credentials)) = (&outcome, &self.credentials) {
            credentials.invalidate(&backend.id);
        }
        outcome
    }

    fn learn(&self, backend: &Backend, transport: Transport) {
        let mut detected = self.detected.write().unwrap_or_else(|p| p.into_inner());
        if detected.insert(backend.id.clone(), transport) != Some(transport) {
            tracing::info!(backend = %backend.id, transport = transport.as_str(), "backend transport detected");
        }
    }

    /// The backend's HTTP client (connect timeout, SSRF-guarded resolution, no redirects).
    pub(super) fn http(&self, backend: &Backend) -> Result<reqwest::Client, BackendError> {
        self.fleet.http(backend).map_err(BackendError::Connect)
    }

    /// What a transport needs for one exchange with the MCP server `backend`: its HTTP client, URL and
    /// headers (credential included).
    pub(super) async fn call<'a>(&'a self, backend: &'a Backend) -> Result<Call<'a>, BackendError> {
        let headers = self.headers(backend).await?;
        let BackendKind::Mcp { url, .. } = &backend.kind else {
            return Err(BackendError::Unreachable(format!("backend {} is not an MCP server", backend.id)));
        };
        let http = self.http(backend)?;
        Ok(Call { client: self, http, backend, url, headers })
    }

    /// The backend's configured headers plus its credential.
    pub(super) async fn headers(&self, backend: &Backend) -> Result<HeaderMap, BackendError> {
        let mut headers = backend.headers.clone();
        if let (Some(credential), Some(credentials)) = (&backend.credential, &self.credentials) {
            let (name, value) = credentials.header(&backend.id, credential).await.map_err(BackendError::Credential)?;
            headers.insert(name, value);
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests;
