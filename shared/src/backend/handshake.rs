//! The two ways to open a session with a backend: the 2025 handshake (`initialize`, then
//! `notifications/initialized`), and the 2026-07-28 `server/discover` of a stateless server.

use std::time::Duration;

use serde_json::{json, Value};

use super::{
    wire::{BackendHandshake, Exchange, Reply, BACKEND_VERSIONS, MODERN_VERSION},
    Backend, BackendError, McpHttpClient, Transport,
};

/// How long an instance remembers that a backend answers the handshake era only.
const ERA_MEMORY: Duration = Duration::from_secs(15 * 60);

impl McpHttpClient {
    /// Opens a session on `backend`: `initialize` at `version`, then `notifications/initialized`,
    /// declaring no client capabilities: a buffered response cannot relay sampling, elicitation or roots
    /// requests, so they are not invited.
    pub async fn initialize(&self, backend: &Backend, version: &str) -> Result<BackendHandshake, BackendError> {
        self.initialize_as(backend, version, json!({})).await
    }

    /// [`initialize`](Self::initialize) declaring `capabilities` (the client capabilities the gateway can
    /// relay for its client: sampling, elicitation, roots on a streamed session).
    pub async fn initialize_as(
        &self,
        backend: &Backend,
        version: &str,
        capabilities: Value,
    ) -> Result<BackendHandshake, BackendError> {
        let params =
            json!({ "protocolVersion": version, "capabilities": capabilities, "clientInfo": self.client_info() });
        let exchange = self.exchange(backend, None, None, &self.message("initialize", params)).await?;
        let result = match exchange.reply {
            Some(Reply::Result(result)) => result,
            Some(Reply::Error(error)) => {
                return Err(BackendError::InvalidResponse(format!("initialize failed: {error}")))
            }
            None => return Err(BackendError::InvalidResponse("no reply to initialize".into())),
        };
        let negotiated = result.get("protocolVersion").and_then(Value::as_str).unwrap_or_default();
        if !BACKEND_VERSIONS.contains(&negotiated) {
            return Err(BackendError::UnsupportedVersion(negotiated.to_owned()));
        }
        let handshake = BackendHandshake::new(exchange.session_id, negotiated, result.get("capabilities"))?;
        // On the legacy transport the handshake already sent `initialized` on its own stream.
        if self.transport(backend) != Transport::Sse {
            let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
            self.exchange(backend, handshake.session_id.as_deref(), Some(negotiated), &initialized).await?;
        }
        Ok(handshake)
    }

    /// Asks whether `backend` serves the stateless 2026-07-28 era. `None` means it answers only the
    /// handshake era (a legacy server rejects a session-less `server/discover`).
    /// A backend that answered so is not asked again for `ERA_MEMORY` (each new caller of a modern client
    /// would otherwise cost it one refused request before its `initialize`); one whose answer said nothing
    /// definite (an outage, a timeout) is asked again next time.
    pub async fn discover(&self, backend: &Backend) -> Result<Option<BackendHandshake>, BackendError> {
        if self.transport(backend) == Transport::Sse || self.fleet.handshake_only(&backend.id, ERA_MEMORY) {
            return Ok(None);
        }
        let params = json!({ "_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN_VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": self.client_info(),
        }});
        let message = self.message("server/discover", params);
        let definite = match self.exchange(backend, None, Some(MODERN_VERSION), &message).await {
            Ok(Exchange { reply: Some(Reply::Result(result)), .. }) => {
                let versions = result.get("supportedVersions").and_then(Value::as_array);
                if versions.is_some_and(|v| v.iter().any(|v| v == MODERN_VERSION)) {
                    return BackendHandshake::new(None, MODERN_VERSION, result.get("capabilities")).map(Some);
                }
                true
            }
            // A JSON-RPC error (method not found) or a refusal of the session-less request (400, 404, 405).
            Ok(_) => true,
            Err(error @ BackendError::Status(_)) => !error.is_outage(),
            Err(BackendError::InvalidResponse(_)) => false,
            Err(error) => return Err(error),
        };
        if definite {
            self.fleet.remember_handshake_only(&backend.id);
        }
        Ok(None)
    }
}
