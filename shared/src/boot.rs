//! The composition root: builds the [`App`] every function shares, in one step, from the environment
//! (production and the local stack) or from given parts (tests, benchmarks). This is the only module
//! that knows every concrete part: the DynamoDB and Secrets Manager adapters, and the gateway's own
//! tools (`gateway_execute_code`, the meta-tools) that the MCP layer reaches through
//! [`GatewayTool`](crate::app::GatewayTool).

use std::sync::Arc;

use crate::{
    app::{App, GatewayToolSet},
    auth::{AuthConfigError, Authenticator, KeyAdmin, SecretsManagerKeySource},
    backend::{
        credentials::{BackendCredentials, SecretsManagerSource},
        LambdaInvoker, McpHttpClient, Prober, SdkLambdaInvoker,
    },
    code::CodeTool,
    config::ConfigError,
    config::ConfigFollower,
    meta::{self, DynamoResultStore, ResultStore},
    pii::{Pii, PiiConfig, PiiConfigError, PiiError},
    ratelimit::{DynamoRateLimitStore, PublicLimiter, RateLimitStore, RateLimiter},
    routing::{DisabledTools, ModernSessions, ResourceOwners, ToolCatalog},
    store::{CachedSessionStore, ConfigStore, DynamoConfigStore, DynamoStore, SessionStore, StreamStore},
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
    pub streams: Arc<dyn StreamStore>,
    pub auth: Authenticator,
    pub limits: Arc<dyn RateLimitStore>,
    pub pii: Pii,
    /// Where backend credentials come from; `None` reaches backends without their `auth` credential.
    pub credentials: Option<Arc<BackendCredentials>>,
    /// How Lambda backends are invoked; `None` leaves them unreachable.
    pub lambda: Option<Arc<dyn LambdaInvoker>>,
    /// Follows the configuration stored through the admin API (see [`follower`]).
    pub stored: ConfigFollower,
    /// Writes the key secret (the admin API only).
    pub key_admin: Option<Arc<dyn KeyAdmin>>,
    /// Where the meta-tools' result cache lives (used only when `GATEWAY_RESULT_CACHE` is on).
    pub results: Arc<dyn ResultStore>,
}

/// The follower of the stored configuration for `config`, over `store`.
pub fn follower(config: &Config, store: Arc<dyn ConfigStore>) -> ConfigFollower {
    ConfigFollower::new(store, config.backends_document.clone(), config.backend_defaults(), config.config_poll)
}

impl App {
    /// Assembles the app from its parts and registers the gateway's own tools: the one composition step.
    pub fn assemble(config: Config, parts: Parts) -> Result<Self, StartupError> {
        let mut client = McpHttpClient::new(&config)?;
        // Probes check the backends as the gateway reaches them, its own credentials included.
        let mut probes = McpHttpClient::for_probes(&config)?;
        if let Some(credentials) = parts.credentials {
            probes.set_credentials(credentials.clone());
            client.set_credentials(credentials);
        }
        if let Some(lambda) = parts.lambda {
            probes.set_lambda(lambda.clone());
            client.set_lambda(lambda);
        }
        let mut gateway_tools = GatewayToolSet::default();
        gateway_tools.register(Arc::new(CodeTool::local()));
        for tool in meta::tools(&config, parts.results) {
            gateway_tools.register(tool);
        }
        Ok(Self {
            client,
            // Each instance keeps short-lived copies of the sessions it reads or writes.
            sessions: Arc::new(CachedSessionStore::new(parts.sessions, config.session_cache)),
            streams: parts.streams,
            owners: ResourceOwners::default(),
            tools: ToolCatalog::default(),
            modern: ModernSessions::default(),
            auth: parts.auth,
            limiter: RateLimiter::new(config.ratelimit.clone(), parts.limits),
            public: PublicLimiter::new(&config.ratelimit),
            probes: Prober::new(probes),
            pii: parts.pii,
            gateway_tools,
            stored: parts.stored,
            disabled_tools: DisabledTools::default(),
            key_admin: parts.key_admin,
            config,
        })
    }

    /// Reads the environment, loads the AWS configuration (honouring `AWS_ENDPOINT_URL` for the local
    /// stack) and builds the DynamoDB stores and the Secrets Manager sources of keys and credentials.
    /// The API keys (or the JWKS) are loaded here too, so the first request does not wait for them.
    pub async fn from_env() -> Result<Self, StartupError> {
        Self::from_env_with(false).await
    }

    /// [`App::from_env`] for the admin function: it may also write the key secret.
    pub async fn from_env_for_admin() -> Result<Self, StartupError> {
        Self::from_env_with(true).await
    }

    async fn from_env_with(key_admin: bool) -> Result<Self, StartupError> {
        let started = std::time::Instant::now();
        let config = Config::from_env()?;
        let pii = PiiConfig::from_env()?;
        let sdk = crate::aws::sdk_config().await.map_err(StartupError::Tls)?;
        let app = Self::from_aws(config, pii, &sdk, key_admin).await?;
        tracing::info!(built_ms = started.elapsed().as_secs_f64() * 1e3, "instance ready");
        Ok(app)
    }

    /// The production wiring over `sdk`: the DynamoDB stores and the Secrets Manager sources, with what
    /// the first request needs read before it returns.
    pub(crate) async fn from_aws(
        config: Config,
        pii: PiiConfig,
        sdk: &aws_config::SdkConfig,
        key_admin: bool,
    ) -> Result<Self, StartupError> {
        let options = &config.backend_options;
        let secrets = Arc::new(SecretsManagerSource::new(sdk));
        let auth = Authenticator::from_sdk(config.auth.clone(), sdk)?;
        let stored = follower(&config, Arc::new(DynamoConfigStore::new(sdk, config.table_name.clone())));
        // What the first request needs from the stores is read at the same time, before it arrives: the
        // key secret, the PII key and the stored configuration's version (which also opens the DynamoDB
        // connection the first request's limit charge reuses). One round trip, not three in a row.
        let reading = std::time::Instant::now();
        let (pii, (), changes) = tokio::join!(Pii::from_sdk(pii, sdk), auth.prime(), stored.first_check());
        tracing::info!(store_reads_ms = reading.elapsed().as_secs_f64() * 1e3, "boot reads done");
        let store = Arc::new(DynamoStore::new(sdk, config.table_name.clone()));
        let parts = Parts {
            sessions: store.clone(),
            streams: store,
            auth,
            limits: Arc::new(DynamoRateLimitStore::new(sdk, config.table_name.clone())),
            pii: pii?,
            credentials: Some(Arc::new(BackendCredentials::new(secrets, options.network, options.secrets_ttl)?)),
            lambda: Some(Arc::new(SdkLambdaInvoker::new(sdk))),
            stored,
            key_admin: key_admin.then(|| {
                Arc::new(SecretsManagerKeySource::new(sdk, config.auth.api_keys_secret_id.clone())) as Arc<dyn KeyAdmin>
            }),
            results: Arc::new(DynamoResultStore::new(sdk, config.table_name.clone())),
        };
        let mut app = Self::assemble(config, parts)?;
        // gateway_execute_code runs where CODE_FUNCTION_NAME says: in AWS, the code function (invoked).
        app.gateway_tools.register(Arc::new(CodeTool::new(crate::code::executor_for(&app.config.code, sdk))));
        if let Some(changes) = changes {
            app.apply(changes);
        }
        Ok(app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cold start's store reads, counted by the SDK interceptor against moto (`make test` starts it;
    /// skipped with a message without it): with API keys and PII on, the key secret, the PII key and the
    /// stored configuration are three calls issued together, one round trip. A change that makes them
    /// sequential, or adds one before the instance serves, fails here.
    #[test]
    fn a_cold_start_reads_the_stores_in_one_round_trip() {
        crate::testing::on_deep_stack(boot);
    }

    async fn boot() {
        let Some(sdk) = crate::testing::moto("a_cold_start_reads_the_stores_in_one_round_trip").await else { return };
        let vars = [
            ("AUTH_MODE", "api-key"),
            ("PII_ENABLED", "1"),
            ("GATEWAY_ALLOW_LOOPBACK_BACKENDS", "1"),
            ("GATEWAY_BACKENDS_JSON", r#"{"backends":[{"id":"a","url":"http://127.0.0.1:9/mcp"}]}"#),
        ];
        // The table and the secrets are the local stack's (`TABLE_NAME`, the default secret ids).
        let lookup = |name: &str| match vars.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => Some((*value).to_owned()),
            None => std::env::var(name).ok().filter(|_| name == "TABLE_NAME"),
        };
        let (config, pii) = (Config::from_lookup(lookup).unwrap(), PiiConfig::from_lookup(lookup).unwrap());
        let (app, cost) = crate::aws::counted(App::from_aws(config, pii, &sdk, false)).await;
        let app = app.expect("the instance boots against the local stack");
        assert!(app.pii.config().is_active(), "PII is on, so its key was read");
        assert_eq!((cost.calls, cost.round_trips), (3, 1), "AWS calls and round trips before the instance serves");
    }
}
