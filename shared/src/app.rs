//! The state a function builds once per cold start and shares across invocations.

use std::sync::Arc;

use crate::{
    auth::{AuthConfigError, Authenticator},
    backend::{
        credentials::{BackendCredentials, SecretsManagerSource},
        McpHttpClient,
    },
    code::{CodeConfig, CodeConfigError, CodeExecutor, LocalExecutor},
    config::ConfigError,
    mcp::{ModernSessions, ResourceOwners, ToolCatalog},
    pii::{Pii, PiiConfig, PiiConfigError, PiiError},
    ratelimit::{DynamoRateLimitStore, RateLimitStore, RateLimiter},
    store::{DynamoStore, SessionStore},
    Config,
};

#[derive(thiserror::Error)]
pub enum StartupError {
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("authentication: {0}")]
    Auth(#[from] AuthConfigError),
    #[error("PII configuration: {0}")]
    PiiConfig(#[from] PiiConfigError),
    #[error("PII: {0}")]
    Pii(#[from] PiiError),
    #[error("code execution: {0}")]
    Code(#[from] CodeConfigError),
}

/// `main` returning this error prints it with `Debug`: show the operator the readable message (it names
/// the variable, the field and the value) rather than the nested enum.
impl std::fmt::Debug for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

pub struct App {
    pub config: Config,
    pub client: McpHttpClient,
    pub sessions: Arc<dyn SessionStore>,
    pub owners: ResourceOwners,
    pub tools: ToolCatalog,
    pub modern: ModernSessions,
    pub auth: Authenticator,
    pub limiter: RateLimiter,
    pub pii: Pii,
    /// Limits of sandboxed code, on `/api/code` and `gateway_execute_code` alike (`CODE_*`).
    pub code: CodeConfig,
    /// Where `gateway_execute_code` runs: this process's sandbox, or the `code` function (`CODE_FUNCTION_NAME`).
    pub code_executor: Arc<dyn CodeExecutor>,
}

impl App {
    pub fn new(
        config: Config,
        sessions: Arc<dyn SessionStore>,
        auth: Authenticator,
        limits: Arc<dyn RateLimitStore>,
        pii: Pii,
    ) -> Result<Self, StartupError> {
        let client = McpHttpClient::new(&config)?;
        Ok(Self {
            client,
            sessions,
            owners: ResourceOwners::default(),
            tools: ToolCatalog::default(),
            modern: ModernSessions::default(),
            auth,
            limiter: RateLimiter::new(config.ratelimit.clone(), limits),
            pii,
            code: CodeConfig::default(),
            code_executor: Arc::new(LocalExecutor),
            config,
        })
    }

    /// Reads the environment, loads the AWS configuration (honouring `AWS_ENDPOINT_URL` for the local
    /// stack) and builds the DynamoDB store and the Secrets Manager source of backend credentials.
    pub async fn from_env() -> Result<Self, StartupError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_from_env().await;
        let store = DynamoStore::new(&sdk, config.table_name.clone());
        let auth = Authenticator::from_sdk(config.auth.clone(), &sdk)?;
        let limits = DynamoRateLimitStore::new(&sdk, config.table_name.clone());
        let pii = Pii::from_sdk(PiiConfig::from_env()?, &sdk).await?;
        let mut app = Self::new(config, Arc::new(store), auth, Arc::new(limits), pii)?;
        app.code = CodeConfig::from_env()?;
        app.code_executor = crate::code::executor_for(&app.code, &sdk);
        let options = &app.config.backend_options;
        let secrets = Arc::new(SecretsManagerSource::new(&sdk));
        app.client.set_credentials(Arc::new(BackendCredentials::new(secrets, options.network, options.secrets_ttl)?));
        Ok(app)
    }
}
