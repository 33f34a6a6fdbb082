//! The vault: a scope's token↔value pairs, stored as small items that are appended, never rewritten, behind
//! the `VaultStore` port. The design and its reasons are in `shared/src/pii/README.md` ("The vault").
//!
//! Per scope (a session, or a principal without one), under the table's only key `pk`:
//! - one **meta** item: per-kind counters (the next `[EMAIL_n]`), the token count held against the cap,
//!   the expiry, and a tombstone set when the scope is forgotten;
//! - per token, one **token** item: the value, sealed, bound to its scope and its token text;
//! - per value, one **fingerprint** item, keyed by a keyed hash of the value: the token number, sealed,
//!   bound to its scope and its fingerprint. Lookups by value need no plaintext in any key.
//!
//! Minting writes the meta item once per request and one token + one fingerprint item per new value,
//! whatever the number of tokens the scope already holds; reads fetch only the items a request needs.

mod cipher;
mod dynamodb;
mod items;
mod memory;

#[cfg(test)]
mod dynamodb_tests;

use async_trait::async_trait;

pub use cipher::{CipherError, VaultKey};
pub use dynamodb::DynamoVaultStore;
pub(crate) use items::ScopeItems;
pub use memory::{MemoryVaultStore, VaultCalls};

use super::PiiKind;
use crate::store::StoreError;

/// Number of kinds, the length of the meta item's counter array.
pub(crate) const KINDS: usize = PiiKind::ALL.len();

/// Largest token number: nine digits, so every token stays canonical (`token::parse`).
pub(crate) const MAX_NUMBER: u32 = 999_999_999;

/// A scope's meta item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VaultMeta {
    /// Per kind (indexed by `PiiKind as usize`): the highest number handed out. Only ever grows while the
    /// item exists, so a number never stands for two values.
    pub counters: [u32; KINDS],
    /// Numbers handed out since this generation of the scope started, held against the cap.
    pub total: u64,
    /// Epoch seconds (the TTL attribute). Never earlier than the expiry of any token of the scope.
    pub expires_at: u64,
    /// Set by `forget`: nothing resolves and nothing is minted in this scope any more.
    pub deleted: bool,
}

impl VaultMeta {
    /// Whether the scope's tokens may be used at `now`: not forgotten, not expired.
    pub fn live(&self, now: u64) -> bool {
        !self.deleted && self.expires_at > now
    }
}

/// A token or fingerprint item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultEntry {
    /// The item's `pk`.
    pub key: String,
    /// `format ‖ nonce ‖ ciphertext ‖ tag`, see `VaultKey::seal`.
    pub sealed: Vec<u8>,
    /// Epoch seconds (the TTL attribute). An entry past it is treated as absent: DynamoDB deletes expired
    /// items lazily.
    pub expires_at: u64,
}

impl VaultEntry {
    pub fn live(&self, now: u64) -> bool {
        self.expires_at > now
    }
}

/// A request for token numbers: `counts` more per kind, all or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub counts: Vec<(PiiKind, u32)>,
    /// The scope's cap: refused when `total` would exceed it.
    pub cap: u64,
    /// The meta item's new expiry.
    pub expires_at: u64,
    /// `Some(expiry as read)` when the meta item had expired: its counters go on (numbers are never reused)
    /// but the total restarts from this reservation — only if no other writer touched the item since.
    pub restart_from: Option<u64>,
}

impl Reservation {
    pub fn size(&self) -> u64 {
        self.counts.iter().map(|(_, n)| u64::from(*n)).sum()
    }
}

/// What a reservation got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reserved {
    /// The meta item after the update: the numbers reserved for a kind are the last `count` up to its counter.
    Granted(VaultMeta),
    /// The scope is forgotten, at its cap, or changed since it was read: read it again to know which.
    Refused,
}

/// What became of one token + fingerprint pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Inserted,
    /// A live fingerprint for this value exists: another writer minted it first; its token wins.
    Taken,
}

/// Where vault items live between requests, so that a token minted by one instance resolves on another.
/// Every read is strongly consistent; every write is conditional where two writers could meet.
#[async_trait]
pub trait VaultStore: Send + Sync {
    /// The meta item and those of `keys` that exist (expired or not), in one round trip where possible.
    async fn read(&self, meta_key: &str, keys: &[String]) -> Result<(Option<VaultMeta>, Vec<VaultEntry>), StoreError>;

    /// Adds the reservation's counts to the meta item (creating it), unless the scope is forgotten, the
    /// total would pass the cap, or (`restart_from`) the item changed since it was read.
    async fn reserve(&self, meta_key: &str, reservation: &Reservation) -> Result<Reserved, StoreError>;

    /// Writes each (token, fingerprint) pair, each item only where no live item has its key, the token
    /// first: a fingerprint never points at a missing token. One outcome per pair, in order.
    async fn insert(&self, pairs: &[(VaultEntry, VaultEntry)], now: u64) -> Result<Vec<Inserted>, StoreError>;

    /// Moves the expiry of the meta item and of the live items among `keys` to `expires_at` (tokens in use
    /// keep resolving); items forgotten, expired or gone are left alone.
    async fn refresh(&self, meta_key: &str, keys: &[String], expires_at: u64, now: u64) -> Result<(), StoreError>;

    /// Marks the scope forgotten until `expires_at` (one write, no enumeration): from then on nothing of it
    /// resolves, and a request still in flight cannot mint into it again.
    async fn forget(&self, meta_key: &str, expires_at: u64) -> Result<(), StoreError>;
}
