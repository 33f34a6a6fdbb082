//! Typed configuration, parsed once per cold start. Every error names the variable and the bad value, so a
//! misconfigured deployment fails at start-up with a message an operator can act on.

use std::time::Duration;

pub mod code;
mod follow;
pub mod meta;
pub mod stored;
pub mod streaming;

pub use code::{CodeConfig, CodeConfigError, Limits};
pub use follow::{Applied, Changes, ConfigFollower};
pub use meta::MetaConfig;
pub use streaming::{StreamingConfig, StreamingMode};

use crate::{
    auth::{AuthConfig, AuthConfigError},
    backend::{BackendOptions, BackendSet, BackendSetError, ClientSettings, Defaults},
    env::{Env, EnvError},
    ratelimit::RateLimitConfig,
};

/// Backends served when neither `GATEWAY_BACKENDS_FILE` nor `GATEWAY_BACKENDS_JSON` is set: the two demo
/// servers the local stack starts, so `make dev` works without any configuration.
pub const DEFAULT_BACKENDS_JSON: &str = include_str!("default_backends.json");

#[derive(thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Invalid(#[from] EnvError),
    #[error("{var}: cannot read {path:?}: {source}")]
    Unreadable {
        var: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{var}: {source}")]
    Backends {
        var: &'static str,
        #[source]
        source: BackendSetError,
    },
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    #[error(transparent)]
    Code(#[from] CodeConfigError),
}

/// A function's `main` returning this prints it with `Debug`: show the readable message (variable, field,
/// value) rather than the nested enum.
impl std::fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Everything the functions need to know, read from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `serverInfo.name` of the gateway (`GATEWAY_NAME`).
    pub gateway_name: String,
    /// DynamoDB table holding sessions and other state (`TABLE_NAME`).
    pub table_name: String,
    /// The enabled backends of the deployment's document and how their names are exposed. Backends
    /// stored through the admin API are merged in at run time: read `App::backends()`, not this.
    pub backends: BackendSet,
    /// The deployment's backends document as written (the bootstrap default stored backends override).
    pub backends_document: serde_json::Value,
    /// How often an instance checks for stored configuration changes at most (`GATEWAY_CONFIG_POLL_SECS`,
    /// default 2, 1-60): the bound on how long a change made through the admin API takes to apply.
    pub config_poll: Duration,
    /// Idle lifetime of a client session (`GATEWAY_SESSION_TTL_SECS`, default 24 h).
    pub session_ttl: Duration,
    /// How long an instance trusts its copy of a session it read or wrote (`GATEWAY_SESSION_CACHE_SECS`,
    /// default 5, 0 = read the store on every request): also how long another instance may still serve
    /// a deleted session to its owner (see `store::CachedSessionStore`).
    pub session_cache: Duration,
    /// Largest accepted request body (`GATEWAY_MAX_BODY_BYTES`, default 1 MiB); larger bodies get 413.
    pub max_body_bytes: usize,
    /// Most messages in one JSON-RPC batch (`GATEWAY_MAX_BATCH`, default 20); a larger batch gets 400.
    /// Each message is admitted and charged like a request of its own.
    pub max_batch: usize,
    /// Largest accepted backend response (`GATEWAY_MAX_BACKEND_RESPONSE_BYTES`, default 8 MiB); a backend's
    /// `maxResponseBytes` overrides it.
    pub max_backend_response_bytes: usize,
    /// SSRF policy, breaker defaults, fan-out bound, list and secret caching (`GATEWAY_ALLOW_*`,
    /// `GATEWAY_BREAKER_*`, `GATEWAY_BACKEND_CONCURRENCY`, `GATEWAY_LIST_CACHE_SECS`, …).
    pub backend_options: BackendOptions,
    /// `Host` names accepted (`GATEWAY_ALLOWED_HOSTS`, comma list; empty = any). DNS-rebinding guard.
    pub allowed_hosts: Vec<String>,
    /// Browser origins accepted (`GATEWAY_ALLOWED_ORIGINS`, comma list). Empty = same origin as `Host` only.
    pub allowed_origins: Vec<String>,
    /// Who may call: mode, API-key secret, OAuth issuer (`AUTH_MODE`, `API_KEYS_SECRET_ID`, `OAUTH_*`).
    pub auth: AuthConfig,
    /// Request limits (`RATE_LIMIT_*`).
    pub ratelimit: RateLimitConfig,
    /// Limits of sandboxed code, on `/api/code` and `gateway_execute_code` alike (`CODE_*`).
    pub code: CodeConfig,
    /// What `tools/list` shows, the meta-tools' limits and their result cache (`GATEWAY_TOOLS_MODE`,
    /// `GATEWAY_PINNED_TOOLS`, `GATEWAY_CALL_TOOLS_MAX`, `GATEWAY_RESULT_CACHE*`).
    pub meta: MetaConfig,
    /// Whether `/mcp` streams replies and standalone streams (`GATEWAY_STREAMING`, `GATEWAY_STREAM_*`).
    pub streaming: StreamingConfig,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup);
        let get = |var: &str| env.get(var);
        let max_backend_response_bytes = env.number("GATEWAY_MAX_BACKEND_RESPONSE_BYTES", 8 << 20, 1024..=64 << 20)?;
        let backend_options =
            BackendOptions::from_lookup(&get).map_err(|(var, value, reason)| EnvError::new(var, value, reason))?;
        let (backends, backends_document) =
            backends(&get, &backend_options.defaults(max_backend_response_bytes as usize))?;
        Ok(Self {
            gateway_name: get("GATEWAY_NAME").unwrap_or_else(|| "mcp-gateway".into()),
            table_name: get("TABLE_NAME").unwrap_or_else(|| "mcp-gateway".into()),
            backends,
            backends_document,
            config_poll: env.secs("GATEWAY_CONFIG_POLL_SECS", 2, 1..=60)?,
            session_ttl: env.secs("GATEWAY_SESSION_TTL_SECS", 86_400, 60..=2_592_000)?,
            session_cache: env.secs("GATEWAY_SESSION_CACHE_SECS", 5, 0..=60)?,
            max_body_bytes: env.number("GATEWAY_MAX_BODY_BYTES", 1 << 20, 1024..=10 << 20)? as usize,
            max_batch: env.number("GATEWAY_MAX_BATCH", 20, 1..=100)? as usize,
            max_backend_response_bytes: max_backend_response_bytes as usize,
            backend_options,
            allowed_hosts: env.lowercase_list("GATEWAY_ALLOWED_HOSTS"),
            allowed_origins: env.lowercase_list("GATEWAY_ALLOWED_ORIGINS"),
            auth: AuthConfig::from_lookup(&lookup)?,
            ratelimit: RateLimitConfig::from_lookup(&lookup)?,
            code: CodeConfig::from_lookup(&lookup)?,
            meta: MetaConfig::from_lookup(&lookup)?,
            streaming: StreamingConfig::from_lookup(&lookup)?,
        })
    }
}

impl Config {
    /// The defaults and network policy a backends document is validated with: the same for the
    /// configured document and for backends stored later (the admin API).
    pub fn backend_defaults(&self) -> Defaults {
        self.backend_options.defaults(self.max_backend_response_bytes)
    }
}

impl<'a> From<&'a Config> for ClientSettings<'a> {
    fn from(config: &'a Config) -> Self {
        ClientSettings {
            backends: &config.backends,
            options: &config.backend_options,
            gateway_name: &config.gateway_name,
        }
    }
}

fn backends(
    get: &impl Fn(&str) -> Option<String>,
    defaults: &Defaults,
) -> Result<(BackendSet, serde_json::Value), ConfigError> {
    let (var, text) = if let Some(path) = get("GATEWAY_BACKENDS_FILE") {
        let var = "GATEWAY_BACKENDS_FILE";
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Unreadable { var, path, source })?;
        (var, text)
    } else if let Some(json) = get("GATEWAY_BACKENDS_JSON") {
        ("GATEWAY_BACKENDS_JSON", json)
    } else {
        ("built-in default backends", DEFAULT_BACKENDS_JSON.to_owned())
    };
    let set = BackendSet::parse(&text, defaults).map_err(|source| ConfigError::Backends { var, source })?;
    // It parsed as a backends document, so it is JSON.
    Ok((set, serde_json::from_str(&text).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `vars` plus the loopback opt-in the built-in demo backends need.
    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(&str, &str)> =
            [("GATEWAY_ALLOW_LOOPBACK_BACKENDS", "1")].into_iter().chain(vars.iter().copied()).collect();
        Config::from_lookup(|k| vars.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_serve_the_demo_backends() {
        let c = config(&[]).unwrap();
        assert_eq!(c.table_name, "mcp-gateway");
        assert_eq!(c.max_body_bytes, 1 << 20);
        assert_eq!(c.backends.len(), 2);
    }

    #[test]
    fn loopback_backends_need_the_explicit_opt_in() {
        let err = config(&[("GATEWAY_ALLOW_LOOPBACK_BACKENDS", "0")]).unwrap_err().to_string();
        assert!(err.contains("backends[0].url") && err.contains("GATEWAY_ALLOW_LOOPBACK_BACKENDS=1"), "{err}");
    }

    #[test]
    fn metadata_backend_is_refused_naming_the_variable_and_field() {
        let json = r#"{"backends":[{"id":"a","url":"http://169.254.169.254/latest/meta-data/"}]}"#;
        let vars = [("GATEWAY_BACKENDS_JSON", json), ("GATEWAY_ALLOW_PRIVATE_BACKENDS", "1")];
        let err = config(&vars).unwrap_err().to_string();
        assert!(err.starts_with("GATEWAY_BACKENDS_JSON: backends[0].url:") && err.contains("never allowed"), "{err}");
        let json = r#"{"backends":[{"id":"a","url":"https://x.example/mcp",
            "auth":{"type":"oauth-client-credentials","tokenUrl":"http://10.1.2.3/token","clientId":"c","secret":"mcp-gateway/backends/s"}}]}"#;
        let err = config(&[("GATEWAY_BACKENDS_JSON", json)]).unwrap_err().to_string();
        assert!(err.contains("backends[0].auth.tokenUrl") && err.contains("GATEWAY_ALLOW_PRIVATE_BACKENDS"), "{err}");
    }

    #[test]
    fn backend_secrets_must_be_under_the_stack_prefix_and_never_the_gateway_s_own() {
        let doc = |secret: &str| {
            format!(
                r#"{{"backends":[{{"id":"a","url":"https://x.example/mcp","auth":{{"type":"bearer","secret":"{secret}"}}}}]}}"#
            )
        };
        let stack = [
            ("GATEWAY_BACKEND_SECRETS_PREFIX", "prod-gw/backends/"),
            ("API_KEYS_SECRET_ID", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod-gw/api-keys-Ab12Cd"),
            ("PII_KEY_SECRET_ID", "prod-gw/pii-key"),
        ];
        let with = |secret: &str| {
            let json = doc(secret);
            let mut vars = stack.to_vec();
            vars.push(("GATEWAY_BACKENDS_JSON", &json));
            config(&vars).map(drop).map_err(|e| e.to_string())
        };
        assert!(with("prod-gw/backends/github").is_ok());
        for secret in ["prod-gw/api-keys", "prod-gw/pii-key", "mcp-gateway/backends/github", "other/backends/x"] {
            let err = with(secret).unwrap_err();
            assert!(err.starts_with("GATEWAY_BACKENDS_JSON: backends[0].auth.secret:"), "{secret}: {err}");
        }
        let err = config(&[("GATEWAY_BACKEND_SECRETS_PREFIX", "prod-gw/"), ("PII_KEY_SECRET_ID", "prod-gw/pii-key")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("GATEWAY_BACKEND_SECRETS_PREFIX") && err.contains("prod-gw/pii-key"), "{err}");
    }

    #[test]
    fn bad_number_names_the_variable_and_value() {
        let err = config(&[("GATEWAY_MAX_BODY_BYTES", "lots")]).unwrap_err().to_string();
        assert!(err.contains("GATEWAY_MAX_BODY_BYTES") && err.contains("lots"), "{err}");
    }

    #[test]
    fn bad_backends_json_names_the_field() {
        let json = r#"{"backends":[{"id":"a","url":"ftp://x"}]}"#;
        let err = config(&[("GATEWAY_BACKENDS_JSON", json)]).unwrap_err().to_string();
        assert!(err.contains("GATEWAY_BACKENDS_JSON") && err.contains("backends[0].url"), "{err}");
    }

    #[test]
    fn lists_are_trimmed_and_lowercased() {
        let c = config(&[("GATEWAY_ALLOWED_HOSTS", " LocalHost, 127.0.0.1 ,")]).unwrap();
        assert_eq!(c.allowed_hosts, vec!["localhost", "127.0.0.1"]);
    }
}
