//! API keys: the key file kept in Secrets Manager, its parsing, and the constant-time lookup.
//!
//! Secret JSON: `{"keys":[{"id":"k_…","name":"…","hash":"sha256:<hex>","scopes":["*"],"disabled":false,
//! "expiresAt":"2027-01-01T00:00:00Z"}]}`. Only hashes are stored; `infra/create-api-key.py` prints a new
//! key once and stores its hash.
//!
//! Why plain SHA-256 and not a password hash: keys are 256 bits from a CSPRNG, so the hash needs no salt
//! or work factor to resist guessing (2^256 candidates); argon2/bcrypt defend low-entropy passwords and
//! would cost tens of milliseconds on every request.

pub mod admin;
mod cache;
mod memory;
mod secrets_manager;

use async_trait::async_trait;
use aws_sdk_secretsmanager::primitives::{DateTime, DateTimeFormat};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

pub use admin::KeyAdmin;
pub(crate) use cache::KeyCache;
pub use memory::{MemoryKeySecret, MemoryKeySource};
pub use secrets_manager::SecretsManagerKeySource;

use super::{InvalidReason, Principal, Scopes};

/// Every key starts with this, so leaked keys are recognisable by secret scanners.
pub const KEY_PREFIX: &str = "mcpgw_";
/// 32 random bytes in unpadded base64url.
const KEY_BODY_LEN: usize = 43;

/// Why the key file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("API key store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("API key secret is not a valid key file: {0}")]
    Corrupt(String),
}

/// Where the key file comes from. Read at cold start and on refresh, never per request.
#[async_trait]
pub trait KeySource: Send + Sync {
    async fn load(&self) -> Result<KeyFile, KeyError>;
}

/// SHA-256 of a key. Not secret by itself, but redacted in `Debug` all the same.
#[derive(Clone, Copy, PartialEq, Eq)]
struct KeyHash([u8; 32]);

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHash(..)")
    }
}

impl KeyHash {
    fn of(key: &str) -> Self {
        Self(Sha256::digest(key.as_bytes()).into())
    }

    fn parse(text: &str) -> Option<Self> {
        let hex_digits = text.strip_prefix("sha256:")?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_digits, &mut bytes).ok()?;
        Some(Self(bytes))
    }
}

/// One accepted key.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// Becomes the principal id (sessions, audit). Not secret.
    pub id: String,
    pub name: String,
    hash: KeyHash,
    pub scopes: Scopes,
    pub disabled: bool,
    /// Epoch seconds after which the key is refused.
    pub expires_at: Option<u64>,
}

/// The loaded key secret.
#[derive(Debug, Clone, Default)]
pub struct KeyFile {
    records: Vec<KeyRecord>,
}

#[derive(Deserialize)]
struct RawFile {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawKey {
    id: String,
    #[serde(default)]
    name: String,
    hash: String,
    scopes: Vec<String>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    expires_at: Option<String>,
    // Bookkeeping of the admin CLI, accepted so `deny_unknown_fields` can catch typos such as
    // `"disable": true`, which would otherwise leave a key silently enabled.
    #[serde(default)]
    #[allow(dead_code)]
    created_at: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    revoked_at: Option<String>,
}

impl KeyFile {
    /// Parses the secret. A malformed entry is skipped with a log line (that key is refused, which is
    /// the safe side) rather than failing the whole file and locking every caller out.
    pub fn parse(json: &str) -> Result<Self, KeyError> {
        let raw: RawFile = serde_json::from_str(json).map_err(|e| KeyError::Corrupt(e.to_string()))?;
        let mut records = Vec::with_capacity(raw.keys.len());
        for (index, entry) in raw.keys.into_iter().enumerate() {
            match record(entry) {
                Ok(record) => records.push(record),
                Err(reason) => tracing::error!(index, %reason, "skipping malformed API key entry"),
            }
        }
        Ok(Self { records })
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The principal for `presented`, or why it is refused. `now` is epoch seconds.
    pub fn authenticate(&self, presented: &str, now: u64) -> Result<Principal, InvalidReason> {
        if !is_well_formed(presented) {
            return Err(InvalidReason::MalformedKey);
        }
        let (index, _) = self.position(&KeyHash::of(presented));
        let record = index.and_then(|i| self.records.get(i)).ok_or(InvalidReason::UnknownKey)?;
        if record.disabled {
            return Err(InvalidReason::DisabledKey);
        }
        if record.expires_at.is_some_and(|at| at <= now) {
            return Err(InvalidReason::ExpiredKey);
        }
        Ok(Principal::api_key(&record.id, record.scopes.clone()))
    }

    /// Index of the record whose hash equals `hash`, and how many hashes were compared. Every stored hash
    /// is compared with `ct_eq` and the match is selected without branching, so the time taken does not
    /// depend on which (or whether a) key matched.
    fn position(&self, hash: &KeyHash) -> (Option<usize>, usize) {
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        let mut compared = 0;
        for (i, record) in self.records.iter().enumerate() {
            let equal = record.hash.0.ct_eq(&hash.0);
            index.conditional_assign(&(i as u64), equal);
            found |= equal;
            compared += 1;
        }
        let index = bool::from(found).then_some(index as usize);
        (index, compared)
    }
}

/// `mcpgw_` followed by 43 base64url characters.
pub fn is_well_formed(key: &str) -> bool {
    key.strip_prefix(KEY_PREFIX).is_some_and(|body| {
        body.len() == KEY_BODY_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

fn record(entry: serde_json::Value) -> Result<KeyRecord, String> {
    let raw: RawKey = serde_json::from_value(entry).map_err(|e| e.to_string())?;
    // The id becomes the principal id, part of store keys and log lines: short and plain.
    if raw.id.is_empty()
        || raw.id.len() > 128
        || !raw.id.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        return Err(format!("key {:?}: id must be 1-128 characters of [A-Za-z0-9_.-]", raw.id));
    }
    let hash =
        KeyHash::parse(&raw.hash).ok_or_else(|| format!("key {:?}: hash is not \"sha256:<64 hex digits>\"", raw.id))?;
    let expires_at = match raw.expires_at.as_deref() {
        None => None,
        Some(text) => Some(
            DateTime::from_str(text, DateTimeFormat::DateTimeWithOffset)
                .map_err(|_| format!("key {:?}: expiresAt {text:?} is not an RFC 3339 time", raw.id))?
                .secs()
                .max(0) as u64,
        ),
    };
    Ok(KeyRecord {
        id: raw.id,
        name: raw.name,
        hash,
        scopes: raw.scopes.into_iter().collect(),
        disabled: raw.disabled,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{
        testing::{demo_tool, key_file, KEY_A, KEY_B, KEY_DISABLED, KEY_EXPIRED},
        PrincipalKind,
    };

    #[test]
    fn valid_key_gives_its_principal() {
        let p = key_file().authenticate(KEY_A, 1_800_000_000).unwrap();
        assert_eq!((p.id.as_str(), p.kind), ("key:k_a", PrincipalKind::ApiKey));
        assert!(demo_tool(&p.scopes, "demo_add"));
        let p = key_file().authenticate(KEY_B, 1_800_000_000).unwrap();
        assert!(demo_tool(&p.scopes, "demo_add") && !demo_tool(&p.scopes, "demo_echo"));
    }

    #[test]
    fn wrong_disabled_and_expired_keys_are_refused() {
        let wrong = format!("{KEY_PREFIX}{}", "A".repeat(43));
        let file = key_file();
        assert_eq!(file.authenticate(&wrong, 0), Err(InvalidReason::UnknownKey));
        assert_eq!(file.authenticate(KEY_DISABLED, 0), Err(InvalidReason::DisabledKey));
        assert_eq!(file.authenticate(KEY_EXPIRED, 1_800_000_000), Err(InvalidReason::ExpiredKey));
        // Before its expiry the same key works.
        assert!(file.authenticate(KEY_EXPIRED, 1_000_000_000).is_ok());
    }

    #[test]
    fn malformed_keys_are_refused_before_lookup() {
        let file = key_file();
        for key in ["", "mcpgw_", "mcpgw_short", &KEY_A[1..], &format!("{KEY_A}x"), &KEY_A.replace('_', "+")] {
            assert_eq!(file.authenticate(key, 0), Err(InvalidReason::MalformedKey), "{key:?}");
        }
    }

    #[test]
    fn lookup_compares_every_hash_even_after_a_match() {
        let file = key_file();
        let (index, compared) = file.position(&KeyHash::of(KEY_A));
        assert_eq!((index, compared), (Some(0), file.len()));
        let (index, compared) = file.position(&KeyHash::of("mcpgw_nothing"));
        assert_eq!((index, compared), (None, file.len()));
    }

    #[test]
    fn malformed_entries_are_skipped_not_fatal() {
        let zero = format!("sha256:{}", "0".repeat(64));
        let json = serde_json::json!({"keys": [
            {"id": "bad1", "hash": "md5:00", "scopes": []},
            {"id": "bad2", "hash": "sha256:zz", "scopes": []},
            {"id": "bad3", "hash": zero, "scopes": ["*"], "disabled": "no"},
            {"id": "bad4", "hash": zero, "scopes": ["*"], "expiresAt": "soon"},
            {"id": "bad5", "hash": zero, "scopes": ["*"], "disable": true},
            {"id": "bad6", "hash": zero},
            {"id": "ok", "hash": zero, "scopes": ["*"], "expiresAt": null, "createdAt": "2026-01-01T00:00:00Z"}
        ]});
        let file = KeyFile::parse(&json.to_string()).unwrap();
        assert_eq!(file.len(), 1);
        assert_eq!(file.records[0].id, "ok");
        assert!(matches!(KeyFile::parse("[]"), Err(KeyError::Corrupt(_))));
    }

    #[test]
    fn debug_output_never_shows_hashes() {
        let text = format!("{:?}", key_file());
        assert!(!text.contains("sha256") && text.contains("KeyHash(..)"), "{text}");
    }
}
