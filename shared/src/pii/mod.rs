//! PII tokenization: personal data and secrets in backend results become stable tokens (`[EMAIL_1]`),
//! and tokens in later tool arguments are restored before the call reaches a backend, so a model can act
//! on data it never saw.
//!
//! - `detect`: one multi-pattern scan, then per-candidate validation (Luhn, mod-97, ranges).
//! - `walk`: which parts of a JSON value are rewritten (keys, strings, numbers; not `blob`).
//! - `echo`, `scan`: values restored into a call's arguments found again by exact text, merged with the
//!   detections, so a backend echoing its input never hands a restored value back.
//! - `vault`: the per-scope token↔value pairs, one small AEAD-sealed item each in DynamoDB, behind the
//!   `VaultStore` port; appended, never rewritten.
//! - `policy`: `PII_ENABLED`, `PII_TYPES`, per-backend/per-tool `PII_POLICY`, the `pii:raw` opt-out, the cap.
//! - `request`, `mint`: one request's use of a vault (reads only what it needs, mints in bounded writes).
//!
//! No original value ever reaches a log line, an error message or a `Debug` output of this module.

mod detect;
mod echo;
mod kind;
mod mint;
mod policy;
mod request;
mod scan;
mod token;
mod vault;
mod walk;

#[cfg(test)]
mod boundary_tests;
#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod echo_tests;
#[cfg(test)]
mod moto_tests;
#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::Value;

pub use detect::DetectorBuildError;
pub use kind::{KindSet, PiiKind};
pub use policy::{
    allows_raw, raw_requested, PiiConfig, PiiConfigError, PiiPolicy, PiiRule, DEFAULT_VAULT_MAX_TOKENS, PII_RAW_SCOPE,
    RAW_META_KEY,
};
pub use request::{PiiRequest, TokenizeStats};
pub use vault::{
    CipherError, DynamoVaultStore, Inserted, MemoryVaultStore, Reservation, Reserved, VaultCalls, VaultEntry, VaultKey,
    VaultMeta, VaultStore,
};

use crate::store;
use base64::Engine;
use detect::Scanner;

/// Why tokenizing or restoring failed. Messages never contain a value from the vault or the document.
#[derive(Debug, thiserror::Error)]
pub enum PiiError {
    #[error("PII vault store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// Wrong key (rotated?), a tampered item, or one copied from another scope or token. Nothing is reset:
    /// reusing numbers would make old tokens resolve to new values.
    #[error("PII vault cannot be decrypted")]
    Undecryptable,
    #[error("PII vault content is corrupt")]
    Corrupt,
    #[error("PII vault meta item kept changing under concurrent writers; gave up after {0} attempts")]
    Contention(u32),
    #[error("PII key: {0}")]
    Key(CipherError),
    #[error("PII key secret {secret_id:?} cannot be read")]
    KeyUnavailable {
        secret_id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(transparent)]
    Detectors(#[from] DetectorBuildError),
    /// No detectors compiled for a kind set the policy selected (a bug: `PiiConfig::kind_sets` missed it).
    #[error("no PII detectors for {0:?}")]
    NoScanner(KindSet),
}

impl From<CipherError> for PiiError {
    fn from(e: CipherError) -> Self {
        match e {
            CipherError::Open => PiiError::Undecryptable,
            other => PiiError::Key(other),
        }
    }
}

/// The PII service, built once per cold start and shared by all requests.
pub struct Pii {
    config: PiiConfig,
    scanners: Vec<(KindSet, Scanner)>,
    store: Arc<dyn VaultStore>,
    key: VaultKey,
}

impl Pii {
    /// Compiles the detectors for every kind set the policy can select (a few milliseconds, once).
    pub fn new(config: PiiConfig, store: Arc<dyn VaultStore>, key: VaultKey) -> Result<Self, PiiError> {
        let scanners = compile(config.kind_sets())?;
        Ok(Self { config, scanners, store, key })
    }

    /// Production wiring: vaults in DynamoDB (`TABLE_NAME`), key derived from the Secrets Manager secret
    /// `PII_KEY_SECRET_ID`, read once here. A missing or short secret fails the cold start when PII is
    /// active (tokenizing without a durable key would mint tokens no other instance can resolve); when
    /// PII is off everywhere the secret is not read at all.
    pub async fn from_sdk(config: PiiConfig, sdk: &aws_config::SdkConfig) -> Result<Self, PiiError> {
        let store = Arc::new(DynamoVaultStore::new(sdk, config.table_name.clone()));
        // The detectors compile on another thread while the key is read: cold start pays the longer of the
        // two, not their sum.
        let kinds = config.kind_sets();
        let compiling = tokio::task::spawn_blocking(move || compile(kinds));
        let key = if config.is_active() {
            VaultKey::derive(&read_secret(sdk, &config.key_secret_id).await?)?
        } else {
            ephemeral_key()?
        };
        let scanners = compiling.await.unwrap_or_else(|panicked| std::panic::resume_unwind(panicked.into_panic()))?;
        Ok(Self { config, scanners, store, key })
    }

    pub fn config(&self) -> &PiiConfig {
        &self.config
    }

    /// One request's handle on the vault of `scope_id` (`session:<id>`, or `principal:<id>` when there is
    /// no session). Use the same one for `detokenize` of the arguments and for everything the request sends
    /// back (result, relayed error, …): it replaces the restored values there and reads nothing twice.
    pub fn request(&self, scope_id: &str) -> PiiRequest<'_> {
        PiiRequest::new(self, scope_id)
    }

    /// `request(scope_id).tokenize(…)`, for a request that only tokenizes.
    pub async fn tokenize(
        &self,
        scope_id: &str,
        backend: &str,
        tool: Option<&str>,
        value: &mut Value,
    ) -> Result<TokenizeStats, PiiError> {
        self.request(scope_id).tokenize(backend, tool, value).await
    }

    /// `request(scope_id).detokenize(…)`, for a request that only restores.
    pub async fn detokenize(&self, scope_id: &str, value: &mut Value) -> Result<usize, PiiError> {
        self.request(scope_id).detokenize(value).await
    }

    /// Irreversible fallback when the vault cannot be used and no request handle is at hand: every value
    /// found is replaced by `[KIND_REDACTED]`. No I/O; never leaves a detected value in place. With a
    /// handle, prefer `PiiRequest::redact`, which also hides the values that request restored.
    pub fn redact(&self, backend: &str, tool: Option<&str>, value: &mut Value) -> Result<TokenizeStats, PiiError> {
        PiiRequest::new(self, "").redact(backend, tool, value)
    }

    /// Forgets the vault of `scope_id` (on session DELETE): one write marks it deleted; its tokens stop
    /// resolving at once, a request still in flight cannot mint into it again, and its items (never
    /// enumerated) expire with their TTL. The mark outlives every item of the scope.
    pub async fn forget(&self, scope_id: &str) -> Result<(), PiiError> {
        let items = vault::ScopeItems::new(&self.key, scope_id);
        let expires_at = store::now_secs() + 2 * self.config.vault_ttl.as_secs();
        Ok(self.store.forget(&items.meta_key(), expires_at).await?)
    }

    fn scanner(&self, kinds: KindSet) -> Result<&Scanner, PiiError> {
        self.scanners.iter().find(|(k, _)| *k == kinds).map(|(_, s)| s).ok_or(PiiError::NoScanner(kinds))
    }
}

/// The detectors of every kind set the policy can select (a few milliseconds, once per cold start).
fn compile(kinds: Vec<KindSet>) -> Result<Vec<(KindSet, Scanner)>, PiiError> {
    kinds.into_iter().map(|k| Ok((k, Scanner::new(k)?))).collect()
}

async fn read_secret(sdk: &aws_config::SdkConfig, secret_id: &str) -> Result<String, PiiError> {
    let unavailable = |source: Box<dyn std::error::Error + Send + Sync>| PiiError::KeyUnavailable {
        secret_id: secret_id.to_owned(),
        source,
    };
    let output = crate::aws::secrets_manager(sdk)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| unavailable(Box::new(e)))?;
    output.secret_string().map(str::to_owned).ok_or_else(|| unavailable("the secret has no SecretString".into()))
}

/// A random key for a process where PII is off everywhere: nothing is ever sealed with it.
fn ephemeral_key() -> Result<VaultKey, PiiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| PiiError::Key(CipherError::Random))?;
    Ok(VaultKey::derive(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))?)
}
