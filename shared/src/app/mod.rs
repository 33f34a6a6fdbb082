//! The state every route handler shares, built once per cold start in one step (see `boot`, the
//! composition root) and shared by all requests of the instance. It holds services and caches only: no
//! request data, and nothing another instance would need (sessions, limits and vaults live in DynamoDB).
//!
//! Its place in the layers: above the services (auth, ratelimit, pii, backend) and the routing caches,
//! below the routes (gate, mcp, code, health) that take it as their state. The gateway's own tools
//! (`gateway_execute_code`, meta-tools) reach the MCP layer through the [`GatewayTool`] trait defined
//! here, so the MCP layer never depends on the modules that implement them.

mod tools;

use std::sync::Arc;

pub use tools::{GatewayTool, GatewayToolSet, ToolCall};

use crate::{
    auth::{Authenticator, KeyAdmin},
    backend::{BackendSet, McpHttpClient, Prober},
    config::{Changes, ConfigFollower},
    pii::Pii,
    ratelimit::{PublicLimiter, RateLimiter},
    routing::{DisabledTools, ModernSessions, ResourceOwners, ToolCatalog},
    store::{SessionStore, StreamStore},
    Config,
};

pub struct App {
    pub config: Config,
    /// The gateway as an MCP client of every backend: breakers, list cache, credentials.
    pub client: McpHttpClient,
    /// Legacy-era client sessions (DynamoDB).
    pub sessions: Arc<dyn SessionStore>,
    /// What streamed MCP keeps between instances: requests to clients awaiting their answer, standalone
    /// stream events for resumption (DynamoDB).
    pub streams: Arc<dyn StreamStore>,
    /// Which backend owns which resource URI (learned, per instance).
    pub owners: ResourceOwners,
    /// The exact-lookup index of exposed tool and prompt names (per instance).
    pub tools: ToolCatalog,
    /// Backend sessions of callers without a client session (per instance).
    pub modern: ModernSessions,
    pub auth: Authenticator,
    pub limiter: RateLimiter,
    /// The per-address limit of the public routes (counted in this instance's memory).
    pub public: PublicLimiter,
    /// Backend probes of the detailed health view, shared by every caller of this instance.
    pub probes: Prober,
    pub pii: Pii,
    /// The gateway's own tools, listed beside the backends' to callers allowed to use them.
    pub gateway_tools: GatewayToolSet,
    /// Follows the configuration stored through the admin API (backends, tool switches, key changes).
    pub stored: ConfigFollower,
    /// Tools disabled gateway-wide.
    pub disabled_tools: DisabledTools,
    /// Writes the key secret (the admin API); `None` where the function may not.
    pub key_admin: Option<Arc<dyn KeyAdmin>>,
}

impl App {
    /// The backends now: those of the configuration, or those an operator stored since.
    pub fn backends(&self) -> Arc<BackendSet> {
        self.client.backends()
    }

    /// Serves `next` from now on, without a cold start: the backends that changed, appeared or disappeared
    /// get new HTTP clients and breakers and lose what this instance learned of them (list pages, name
    /// index, resource owners, backend sessions of stateless callers); the others keep theirs.
    pub fn replace_backends(&self, next: BackendSet) -> Result<Vec<String>, reqwest::Error> {
        self.probes.replace_backends(next.clone())?;
        let changed = self.client.replace_backends(next)?;
        if !changed.is_empty() {
            self.tools.clear();
            for id in &changed {
                self.owners.forget_backend(id);
                self.modern.forget_backend(id);
            }
        }
        Ok(changed)
    }

    /// Applies stored changes if this instance has not checked within the poll interval (one small read;
    /// see `config::ConfigFollower`). Every route calls it first; it never fails the request.
    pub async fn sync(&self) {
        self.stored.poll(|changes| self.apply(changes)).await;
    }

    /// Applies stored changes now: after this instance changed the configuration itself.
    pub async fn sync_now(&self) {
        self.stored.poll_now(|changes| self.apply(changes)).await;
    }

    /// Applies what a check of the stored configuration found.
    pub(crate) fn apply(&self, changes: Changes) {
        if changes.keys {
            self.auth.keys_changed();
        }
        let Some(applied) = changes.config else { return };
        match self.replace_backends(applied.backends) {
            Ok(changed) if !changed.is_empty() => tracing::info!(changed = %changed.join(","), "backends replaced"),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "could not build clients for the stored backends"),
        }
        if self.disabled_tools.replace(applied.disabled_tools) {
            self.tools.clear();
        }
    }
}
