//! The vault: one scope's token↔value map, and the port where its encrypted form is stored.
//!
//! One item per scope (`pii#<scope-id>`) holds the whole map as one AEAD blob with a version number. Why
//! not one item per token: a request needs *every* value→token lookup for the values it found (one
//! `GetItem` instead of a `BatchGetItem` over hashed values), minting needs per-kind counters (which would be
//! one more item, written on every mint), and a single version attribute makes "two instances minting at
//! once" one conditional `PutItem` that either wins or reloads. A session's map is small (tens to
//! hundreds of values); the plaintext is capped well under DynamoDB's 400 KB item limit, and values that
//! would not fit are redacted irreversibly rather than leaked.

mod cipher;
mod dynamodb;
mod memory;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use cipher::{CipherError, VaultKey};
pub use dynamodb::DynamoVaultStore;
pub use memory::MemoryVaultStore;

use super::PiiKind;
use crate::store::StoreError;

/// Largest plaintext map, in bytes of its JSON encoding (the item limit is 400 KB, including the AEAD
/// overhead and attribute names).
pub(crate) const MAX_PLAINTEXT_BYTES: usize = 320 * 1024;

/// A vault as stored: the sealed map, its version (incremented on every write) and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedVault {
    /// `format byte ‖ nonce ‖ ciphertext ‖ tag`, see `VaultKey`.
    pub blob: Vec<u8>,
    pub version: u64,
    /// Epoch seconds; the DynamoDB TTL attribute.
    pub expires_at: u64,
}

/// Result of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved,
    /// Another writer got there first: reload and try again.
    Conflict,
}

/// Where sealed vaults live between requests, so that a token minted by one instance resolves on another.
#[async_trait]
pub trait VaultStore: Send + Sync {
    /// The stored vault, expired or not: an expired item still has the version the next write must
    /// replace (DynamoDB deletes expired items lazily), and the caller treats it as empty.
    async fn load(&self, scope_id: &str) -> Result<Option<SealedVault>, StoreError>;
    /// Writes `vault` only if the stored version is still `expected` (`None`: only if there is no item).
    async fn save(&self, scope_id: &str, vault: &SealedVault, expected: Option<u64>)
        -> Result<SaveOutcome, StoreError>;
    /// Removes the vault (session deleted); removing an absent one is not an error.
    async fn delete(&self, scope_id: &str) -> Result<(), StoreError>;
}

/// The plaintext map: per kind, the values in token order (`[EMAIL_3]` is `values[EMAIL][2 - base]`).
#[derive(Clone)]
pub(crate) struct Vault {
    /// Per kind, how many numbers were used by earlier (expired) generations of this scope's vault: a
    /// number is never given to a second value while the item exists, so a stale `[EMAIL_1]` in a client's
    /// context cannot resolve to someone else's address.
    base: Vec<u32>,
    values: Vec<Vec<String>>,
    /// Value → number, per kind; rebuilt on decode, never stored.
    numbers: Vec<std::collections::HashMap<String, u32>>,
    /// Size of the JSON encoding, kept up to date to enforce `MAX_PLAINTEXT_BYTES`.
    bytes: usize,
}

/// The minting refused a value: the vault is at its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VaultFull;

#[derive(Serialize, Deserialize)]
struct Stored {
    /// Format version of the plaintext.
    v: u8,
    /// Kind name → values in token order.
    kinds: std::collections::BTreeMap<String, Vec<String>>,
    /// Kind name → numbers used by expired generations (absent when zero).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    base: std::collections::BTreeMap<String, u32>,
}

/// Why a plaintext could not be read (or written). Carries no text from the plaintext (it holds PII).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Undecodable;

impl Vault {
    pub fn new() -> Self {
        Self {
            base: vec![0; PiiKind::ALL.len()],
            values: vec![Vec::new(); PiiKind::ALL.len()],
            numbers: vec![Default::default(); PiiKind::ALL.len()],
            bytes: 32,
        }
    }

    /// The original value of `[KIND_n]`.
    pub fn value(&self, kind: PiiKind, n: u32) -> Option<&str> {
        let index = usize::try_from(n.checked_sub(self.base[kind as usize])?).ok()?.checked_sub(1)?;
        self.values[kind as usize].get(index).map(String::as_str)
    }

    /// The number already given to `value`.
    pub fn number(&self, kind: PiiKind, value: &str) -> Option<u32> {
        self.numbers[kind as usize].get(value).copied()
    }

    /// Gives `value` the next number of its kind (or returns the one it has).
    pub fn mint(&mut self, kind: PiiKind, value: &str) -> Result<u32, VaultFull> {
        if let Some(n) = self.number(kind, value) {
            return Ok(n);
        }
        let cost = json_len(value) + 1;
        let values = &mut self.values[kind as usize];
        let n = self.base[kind as usize].saturating_add(values.len() as u32 + 1);
        // Nine digits at most: longer numbers would not be canonical tokens.
        if self.bytes + cost > MAX_PLAINTEXT_BYTES || n > 999_999_999 {
            return Err(VaultFull);
        }
        values.push(value.to_owned());
        self.numbers[kind as usize].insert(value.to_owned(), n);
        self.bytes += cost;
        Ok(n)
    }

    /// An empty vault that goes on numbering where this one stopped (this one expired).
    pub fn successor(&self) -> Self {
        let mut next = Vault::new();
        for (i, values) in self.values.iter().enumerate() {
            next.base[i] = self.base[i].saturating_add(values.len() as u32);
        }
        next.bytes += 24 * next.base.iter().filter(|b| **b > 0).count();
        next
    }

    pub fn len(&self) -> usize {
        self.values.iter().map(Vec::len).sum()
    }

    pub fn encode(&self) -> Result<Vec<u8>, Undecodable> {
        let kinds = PiiKind::ALL
            .into_iter()
            .filter(|k| !self.values[*k as usize].is_empty())
            .map(|k| (k.name().to_owned(), self.values[k as usize].clone()))
            .collect();
        let base = PiiKind::ALL
            .into_iter()
            .filter(|k| self.base[*k as usize] > 0)
            .map(|k| (k.name().to_owned(), self.base[k as usize]))
            .collect();
        // Serializing strings and numbers cannot fail; if it ever did, nothing must be written.
        serde_json::to_vec(&Stored { v: 1, kinds, base }).map_err(|_| Undecodable)
    }

    pub fn decode(plaintext: &[u8]) -> Result<Self, Undecodable> {
        // serde's error text may quote the plaintext: it is dropped, not logged.
        let stored: Stored = serde_json::from_slice(plaintext).map_err(|_| Undecodable)?;
        if stored.v != 1 {
            return Err(Undecodable);
        }
        let mut vault = Vault::new();
        for (name, base) in stored.base {
            vault.base[PiiKind::from_name(&name).ok_or(Undecodable)? as usize] = base;
        }
        for (name, values) in stored.kinds {
            let kind = PiiKind::from_name(&name).ok_or(Undecodable)?;
            for value in values {
                // A value listed twice would make two tokens for one value: keep the first.
                let n = vault.base[kind as usize].saturating_add(vault.values[kind as usize].len() as u32 + 1);
                vault.numbers[kind as usize].entry(value.clone()).or_insert(n);
                vault.values[kind as usize].push(value);
            }
        }
        vault.bytes = plaintext.len();
        Ok(vault)
    }
}

fn json_len(value: &str) -> usize {
    serde_json::to_string(value).map_or(value.len() * 6 + 2, |s| s.len())
}

impl std::fmt::Debug for Vault {
    // Never the values: they are the PII.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("entries", &self.len()).field("bytes", &self.bytes).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minting_is_stable_per_value_and_counts_per_kind() {
        let mut vault = Vault::new();
        assert_eq!(vault.mint(PiiKind::Email, "a@x.io"), Ok(1));
        assert_eq!(vault.mint(PiiKind::Email, "b@x.io"), Ok(2));
        assert_eq!(vault.mint(PiiKind::Phone, "a@x.io"), Ok(1));
        assert_eq!(vault.mint(PiiKind::Email, "a@x.io"), Ok(1));
        assert_eq!(vault.value(PiiKind::Email, 2), Some("b@x.io"));
        assert_eq!(vault.value(PiiKind::Email, 0), None);
        assert_eq!(vault.value(PiiKind::Email, 3), None);
    }

    #[test]
    fn encoding_round_trips_and_debug_shows_no_values() {
        let mut vault = Vault::new();
        vault.mint(PiiKind::Ssn, "123-45-6789").unwrap();
        vault.mint(PiiKind::PrivateKey, "-----BEGIN\n\"quoted\"\\").unwrap();
        let decoded = Vault::decode(&vault.encode().unwrap()).unwrap();
        assert_eq!(decoded.value(PiiKind::PrivateKey, 1), Some("-----BEGIN\n\"quoted\"\\"));
        assert_eq!(decoded.number(PiiKind::Ssn, "123-45-6789"), Some(1));
        assert!(!format!("{decoded:?}").contains("123-45"));
        assert_eq!(Vault::decode(b"{\"v\":2,\"kinds\":{}}").err(), Some(Undecodable));
        assert_eq!(Vault::decode(b"{\"v\":1,\"kinds\":{\"PASSPORT\":[\"x\"]}}").err(), Some(Undecodable));
    }

    #[test]
    fn a_successor_never_reuses_a_number() {
        let mut vault = Vault::new();
        vault.mint(PiiKind::Email, "a@x.io").unwrap();
        vault.mint(PiiKind::Email, "b@x.io").unwrap();
        let mut next = Vault::decode(&vault.successor().encode().unwrap()).unwrap();
        assert_eq!(next.value(PiiKind::Email, 1), None);
        assert_eq!(next.mint(PiiKind::Email, "c@x.io"), Ok(3));
        assert_eq!(next.mint(PiiKind::Phone, "+1 415 555 2671"), Ok(1));
        let again = Vault::decode(&next.encode().unwrap()).unwrap();
        assert_eq!(again.value(PiiKind::Email, 3), Some("c@x.io"));
        assert_eq!(again.number(PiiKind::Email, "c@x.io"), Some(3));
    }

    #[test]
    fn a_full_vault_refuses_new_values_but_keeps_known_ones() {
        let mut vault = Vault::new();
        let big = "x".repeat(100 * 1024);
        for i in 0..3 {
            vault.mint(PiiKind::ApiToken, &format!("{big}{i}")).unwrap();
        }
        assert_eq!(vault.mint(PiiKind::ApiToken, &format!("{big}3")), Err(VaultFull));
        assert_eq!(vault.mint(PiiKind::ApiToken, &format!("{big}0")), Ok(1));
        assert!(vault.encode().unwrap().len() <= MAX_PLAINTEXT_BYTES);
    }
}
