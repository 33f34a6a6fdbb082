//! The composition root: builds the [`App`] every function shares, in one step, from the environment
//! (production and the local stack) or from given parts (tests, benchmarks). This is the only module
//! that knows every concrete part: the DynamoDB and Secrets Manager adapters, and the gateway's own
//! tools that the MCP layer reaches through [`GatewayTool`](crate::app::GatewayTool).

use std::sync::Arc;

use crate::{
    app::{App, GatewayToolSet},
    auth::{AuthConfigError, Authenticator},
    backend::{
        credentials::{BackendCredentials, SecretsManagerSource},
        McpHttpClient,
    },
    code::CodeTool,
    config::ConfigError,
    pii::{Pii, PiiConfig, PiiConfigError, PiiError},
    ratelimit::{DynamoRateLimitStore, RateLimitStore, RateLimiter},
    routing::{ModernSessions, ResourceOwners, ToolCatalog},
    store::{CachedSessionStore, DynamoStore, SessionStore},
    Config,
};

#[derive(thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Tls(String),
    #[error("authentication: {0}")]
    Auth(#[from] AuthConfigError),
    #[error("PII configuration: {0}")]
    PiiConfig(#[from] PiiConfigError),
    #[error("PII: {0}")]
    Pii(#[from] PiiError),
}

/// `main` returning this error prints it with `Debug`: show the operator the readable message (it names
/// the variable, the field and the value) rather than the nested enum.
impl std::fmt::Debug for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// What an [`App`] is made of, beside its configuration: the adapters behind its ports.
pub struct Parts {
    pub sessions: Arc<dyn SessionStore>,
    pub auth: Authenticator,
    pub limits: Arc<dyn RateLimitStore>,
    pub pii: Pii,
    /// Where backend credentials come from; `None` reaches backends without their `auth` credential.
    pub credentials: Option<Arc<BackendCredentials>>,
}

impl App {
    /// Assembles the app from its parts and registers the gateway's own tools: the one composition step.
    pub fn assemble(config: Config, parts: Parts) -> Result<Self, StartupError> {
        let mut client = McpHttpClient::new(&config)?;
        if let Some(credentials) = parts.credentials {
            client.set_credentials(credentials);
        }
        let mut gateway_tools = GatewayToolSet::default();
        gateway_tools.register(Arc::new(CodeTool));
        Ok(Self {
            client,
            // Each instance keeps short-lived copies of the sessions it reads or writes.
            sessions: Arc::new(CachedSessionStore::new(parts.sessions, config.session_cache)),
            owners: ResourceOwners::default(),
            tools: ToolCatalog::default(),
            modern: ModernSessions::default(),
            auth: parts.auth,
            limiter: RateLimiter::new(config.ratelimit.clone(), parts.limits),
            pii: parts.pii,
            gateway_tools,
            config,
        })
    }

    /// Reads the environment, loads the AWS configuration (honouring `AWS_ENDPOINT_URL` for the local
    /// stack) and builds the DynamoDB stores and the Secrets Manager sources of keys and credentials.
    /// The API keys (or the JWKS) are loaded here too, so the first request does not wait for them.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let sdk = crate::aws::sdk_config().await.map_err(StartupError::Tls)?;
        let options = &config.backend_options;
        let secrets = Arc::new(SecretsManagerSource::new(&sdk));
        let auth = Authenticator::from_sdk(config.auth.clone(), &sdk)?;
        // The key secret and the PII key are read at the same time: one round trip, not two.
        let (pii, ()) = tokio::join!(Pii::from_sdk(PiiConfig::from_env()?, &sdk), auth.prime());
        let parts = Parts {
            sessions: Arc::new(DynamoStore::new(&sdk, config.table_name.clone())),
            auth,
            limits: Arc::new(DynamoRateLimitStore::new(&sdk, config.table_name.clone())),
            pii: pii?,
            credentials: Some(Arc::new(BackendCredentials::new(secrets, options.network, options.secrets_ttl)?)),
        };
        Self::assemble(config, parts)
    }
}
