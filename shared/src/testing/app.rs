//! Apps made of memory fakes, built exactly as the composition root builds the real one, so a test can
//! run the handlers a Lambda function runs. Two apps built over the same [`Stores`] behave like two
//! instances of one deployment: they share sessions, limits, vaults and keys, and nothing else.

use std::sync::Arc;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{
    auth::{Authenticator, MemoryKeySecret},
    boot::Parts,
    meta::MemoryResultStore,
    pii::{DynamoVaultStore, MemoryVaultStore, Pii, PiiConfig, VaultKey, VaultStore},
    ratelimit::{DynamoRateLimitStore, MemoryRateLimitStore, RateLimitStore},
    store::{DynamoStore, MemoryConfigStore, MemoryStore, MemoryStreamStore, SessionStore},
    App, Config,
};

/// An API key of the test deployment: its id, the key a client sends, and its scopes.
#[derive(Debug, Clone)]
pub struct TestKey {
    pub id: &'static str,
    pub key: String,
    pub scopes: Vec<&'static str>,
}

impl TestKey {
    /// A well-formed key derived from `id` (`mcpgw_` + 43 characters).
    pub fn new(id: &'static str, scopes: &[&'static str]) -> Self {
        let body: String = format!("{id}{}", "x".repeat(43)).chars().take(43).collect();
        Self { id, key: format!("mcpgw_{body}"), scopes: scopes.to_vec() }
    }

    /// The `Authorization` header value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.key)
    }
}

/// The state of one test deployment, shared by every app built over it.
#[derive(Clone)]
pub struct Stores {
    pub sessions: Arc<MemoryStore>,
    pub streams: Arc<MemoryStreamStore>,
    pub limits: Arc<MemoryRateLimitStore>,
    pub vault: Arc<MemoryVaultStore>,
    /// The key secret: read by every instance, written by the admin API.
    pub keys: Arc<MemoryKeySecret>,
    /// The configuration stored through the admin API.
    pub config: Arc<MemoryConfigStore>,
    /// The meta-tools' result cache.
    pub results: Arc<MemoryResultStore>,
}

impl Stores {
    /// Empty stores with `keys` in the key secret.
    pub fn with_keys(keys: &[TestKey]) -> Self {
        Self {
            sessions: Arc::default(),
            streams: Arc::default(),
            limits: Arc::default(),
            vault: Arc::new(MemoryVaultStore::new()),
            keys: Arc::new(MemoryKeySecret::new(key_document(keys))),
            config: Arc::default(),
            results: Arc::default(),
        }
    }

    /// Replaces the key secret's content (a key created or revoked).
    pub fn set_keys(&self, keys: &[TestKey]) {
        self.keys.set_text(key_document(keys));
    }
}

fn key_document(keys: &[TestKey]) -> String {
    let entries: Vec<_> = keys
        .iter()
        .map(|k| {
            let hash: String = Sha256::digest(k.key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
            json!({ "id": k.id, "name": k.id, "hash": format!("sha256:{hash}"), "scopes": k.scopes })
        })
        .collect();
    json!({ "keys": entries }).to_string()
}

/// A configuration from `vars`, over the defaults a test deployment needs (loopback backends allowed).
pub fn config(vars: &[(&str, &str)]) -> Config {
    let lookup = lookup(vars);
    Config::from_lookup(lookup).expect("test configuration is valid")
}

fn lookup<'v>(vars: &'v [(&'v str, &'v str)]) -> impl Fn(&str) -> Option<String> + 'v {
    const DEFAULTS: [(&str, &str); 3] = [
        ("GATEWAY_ALLOW_LOOPBACK_BACKENDS", "1"),
        ("GATEWAY_RESOURCE_URI", "https://gw.example.com/mcp"),
        ("GATEWAY_BACKENDS_JSON", r#"{"backends":[]}"#),
    ];
    move |k: &str| {
        let own = vars.iter().rev().find(|(n, _)| *n == k);
        own.or_else(|| DEFAULTS.iter().find(|(n, _)| *n == k)).map(|(_, v)| v.to_string())
    }
}

/// An app over `stores` with the settings `vars` (`AUTH_MODE`, `RATE_LIMIT_*`, `PII_*`, backends, …).
pub fn app(vars: &[(&str, &str)], stores: &Stores) -> App {
    build(vars, stores, stores.sessions.clone(), stores.limits.clone(), stores.vault.clone())
}

/// An app whose sessions, limits and PII vaults are the DynamoDB adapters on `sdk` (the moto emulator),
/// with `keys` in memory: for tests of what a request costs in AWS calls. Apps built on the same table
/// are instances of one deployment.
pub fn aws_app(vars: &[(&str, &str)], keys: &[TestKey], sdk: &aws_config::SdkConfig) -> App {
    let table = config(vars).table_name;
    build(
        vars,
        &Stores::with_keys(keys),
        Arc::new(DynamoStore::new(sdk, table.clone())),
        Arc::new(DynamoRateLimitStore::new(sdk, table.clone())),
        Arc::new(DynamoVaultStore::new(sdk, table)),
    )
}

fn build(
    vars: &[(&str, &str)],
    stores: &Stores,
    sessions: Arc<dyn SessionStore>,
    limits: Arc<dyn RateLimitStore>,
    vault: Arc<dyn VaultStore>,
) -> App {
    // A test's output is for its failures, not for the EMF metric line of every request.
    crate::telemetry::disable_emf_for_tests();
    let config = config(vars);
    let auth = Authenticator::new(config.auth.clone(), stores.keys.clone(), None).expect("test auth is valid");
    let pii = Pii::new(
        PiiConfig::from_lookup(lookup(vars)).expect("test PII configuration is valid"),
        vault,
        VaultKey::derive("test-only-vault-secret-0123456789abcdef").expect("test vault key"),
    )
    .expect("test PII");
    let parts = Parts {
        sessions,
        streams: stores.streams.clone(),
        auth,
        limits,
        pii,
        credentials: None,
        lambda: None,
        stored: crate::boot::follower(&config, stores.config.clone()),
        key_admin: Some(stores.keys.clone()),
        results: stores.results.clone(),
    };
    if let Some(worker) = sandbox_worker() {
        crate::code::sandbox::use_worker(worker);
    }
    App::assemble(config, parts).expect("test app")
}

/// The crate's test-only sandbox worker (`shared/bin/sandbox-worker.rs`), which cargo builds for the crate's
/// tests and benchmarks into the profile directory, above the harnesses in `deps/`.
fn sandbox_worker() -> Option<std::path::PathBuf> {
    let harness = std::env::current_exe().ok()?;
    let profile = harness.parent()?.parent()?;
    Some(profile.join("sandbox-worker")).filter(|path| path.is_file())
}

/// The backends document for `backends`: `(id, url)` pairs, exposed with their id as prefix.
pub fn backends_json(backends: &[(&str, &str)]) -> String {
    let entries: Vec<_> = backends.iter().map(|(id, url)| json!({ "id": id, "url": url })).collect();
    json!({ "backends": entries }).to_string()
}
