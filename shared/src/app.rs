//! The state a function builds once per cold start and shares across invocations.

use std::sync::Arc;

use crate::{
    auth::{AuthConfigError, Authenticator},
    backend::McpHttpClient,
    config::ConfigError,
    mcp::{ModernSessions, ResourceOwners, ToolCatalog},
    store::{DynamoStore, SessionStore},
    Config,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("authentication: {0}")]
    Auth(#[from] AuthConfigError),
}

pub struct App {
    pub config: Config,
    pub client: McpHttpClient,
    pub sessions: Arc<dyn SessionStore>,
    pub owners: ResourceOwners,
    pub tools: ToolCatalog,
    pub modern: ModernSessions,
    pub auth: Authenticator,
}

impl App {
    pub fn new(config: Config, sessions: Arc<dyn SessionStore>, auth: Authenticator) -> Result<Self, StartupError> {
        let client = McpHttpClient::new(config.max_backend_response_bytes, &config.gateway_name)?;
        Ok(Self {
            config,
            client,
            sessions,
            owners: ResourceOwners::default(),
            tools: ToolCatalog::default(),
            modern: ModernSessions::default(),
            auth,
        })
    }

    /// Reads the environment, loads the AWS configuration (honouring `AWS_ENDPOINT_URL` for the local
    /// stack) and builds the DynamoDB store.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_from_env().await;
        let store = DynamoStore::new(&sdk, config.table_name.clone());
        let auth = Authenticator::from_sdk(config.auth.clone(), &sdk)?;
        Self::new(config, Arc::new(store), auth)
    }
}
