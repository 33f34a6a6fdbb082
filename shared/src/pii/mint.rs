//! Giving tokens to values a request has not seen before: look their fingerprints up (one batch read),
//! then mint the new ones — one conditional update of the meta item reserves their numbers under the cap,
//! then per value its token item and its fingerprint item are written, each only if no live item has its
//! key. Two instances minting the same value at once both reserve a number, but only one fingerprint can be
//! written: the other instance reads it back and uses that token, so a value has one token per scope. A
//! reserved number that lost is never handed out (a gap in the numbering).
//!
//! Cost per request that mints, whatever the size of the vault: one `BatchGetItem` of the values' own
//! fingerprints, one `UpdateItem` of the meta item, and two `PutItem`s of small items per new value.

use std::collections::{BTreeMap, HashMap};

use super::{
    request::PiiRequest,
    vault::{Inserted, Reservation, Reserved, VaultEntry, VaultMeta, MAX_NUMBER},
    PiiError, PiiKind,
};
use crate::store::now_secs;

/// Distinct new values looked up and minted per tokenize call; the rest are redacted. Bounds the reads and
/// writes one result can cause (an echo tool would otherwise let a caller make the gateway issue thousands).
pub(crate) const MAX_VALUES_PER_CALL: usize = 1000;

/// Longest value given a token (bytes); longer ones are redacted: an item must stay well under DynamoDB's
/// 400 KB, and minting must stay cheap (a PEM private key is 1.7–3.3 KB).
pub(crate) const MAX_VALUE_BYTES: usize = 16 * 1024;

/// Reservations tried when the meta item changed under us (another instance minted in the same scope).
const RESERVE_ATTEMPTS: u32 = 4;

/// What `resolve` did.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub minted: usize,
    /// Values left without a token because the scope is at its cap (or out of numbers).
    pub full: usize,
}

impl PiiRequest<'_> {
    /// Finds or mints a token for each of `values` (none of them known yet). Values left without one are
    /// redacted by the caller.
    pub(super) async fn resolve(&mut self, values: &[(PiiKind, String)]) -> Result<Outcome, PiiError> {
        let now = now_secs();
        let values: Vec<&(PiiKind, String)> =
            values.iter().filter(|(_, v)| v.len() <= MAX_VALUE_BYTES).take(MAX_VALUES_PER_CALL).collect();
        if values.is_empty() {
            return Ok(Outcome::default());
        }
        let missing = self.look_up(&values, now).await?;
        let mut outcome = Outcome::default();
        if missing.is_empty() {
            return Ok(outcome);
        }
        let Some((granted, reserved_meta)) = self.reserve(&missing, now, &mut outcome).await? else {
            return Ok(outcome);
        };
        self.meta = Some(reserved_meta.clone());
        let numbered = number(&missing[..granted], &reserved_meta);
        let expires_at = now + self.pii.config().vault_ttl.as_secs();
        let mut pairs = Vec::with_capacity(numbered.len());
        for (kind, value, n) in &numbered {
            let fingerprint = self.items.fingerprint_key(*kind, value);
            let token = VaultEntry {
                key: self.items.token_key(*kind, *n),
                sealed: self.items.seal_value(*kind, *n, value)?,
                expires_at,
            };
            let number = VaultEntry { sealed: self.items.seal_number(&fingerprint, *n)?, key: fingerprint, expires_at };
            pairs.push((token, number));
        }
        let inserted = self.pii.store.insert(&pairs, now).await?;
        let mut lost: Vec<(PiiKind, String)> = Vec::new();
        for ((kind, value, n), result) in numbered.into_iter().zip(inserted) {
            match result {
                Inserted::Inserted => {
                    self.known.insert(kind, n, &value);
                    outcome.minted += 1;
                }
                Inserted::Taken => lost.push((kind, value)),
            }
        }
        if !lost.is_empty() {
            // Another instance minted these first: its tokens are the ones.
            self.look_up(&lost.iter().collect::<Vec<_>>(), now).await?;
        }
        Ok(outcome)
    }

    /// Reads the fingerprints of `values` (and the meta item); returns those still without a token.
    async fn look_up<'v>(
        &mut self,
        values: &[&'v (PiiKind, String)],
        now: u64,
    ) -> Result<Vec<&'v (PiiKind, String)>, PiiError> {
        let keys: Vec<String> = values.iter().map(|(k, v)| self.items.fingerprint_key(*k, v)).collect();
        let (meta, entries) = self.pii.store.read(&self.items.meta_key(), &keys).await?;
        let live = meta.as_ref().is_some_and(|m| m.live(now));
        self.meta = meta;
        let entries: HashMap<&str, &VaultEntry> = entries.iter().map(|e| (e.key.as_str(), e)).collect();
        let mut missing = Vec::new();
        let mut aging = Vec::new();
        for (value, key) in values.iter().zip(&keys) {
            let entry = entries.get(key.as_str()).filter(|e| live && e.live(now));
            let Some(entry) = entry else {
                missing.push(*value);
                continue;
            };
            let n = self.items.open_number(key, &entry.sealed)?;
            if self.aging(entry.expires_at, now) {
                aging.push(key.clone());
                aging.push(self.items.token_key(value.0, n));
            }
            self.known.insert(value.0, n, &value.1);
        }
        self.refresh(aging, now).await;
        Ok(missing)
    }

    /// Reserves numbers for as many of `missing` (in order) as the cap allows; returns how many, and the meta
    /// item after the reservation. `None` when none can be minted (forgotten, full).
    async fn reserve(
        &mut self,
        missing: &[&(PiiKind, String)],
        now: u64,
        outcome: &mut Outcome,
    ) -> Result<Option<(usize, VaultMeta)>, PiiError> {
        let cap = self.pii.config().vault_max_tokens;
        for attempt in 0..RESERVE_ATTEMPTS {
            if attempt > 0 {
                // The meta item changed since it was read: read it again (no entries).
                self.meta = self.pii.store.read(&self.items.meta_key(), &[]).await?.0;
            }
            let meta = self.meta.clone().unwrap_or_default();
            if meta.deleted {
                return Ok(None);
            }
            let restart = self.meta.as_ref().filter(|m| m.expires_at <= now).map(|m| m.expires_at);
            let used = if restart.is_some() || self.meta.is_none() { 0 } else { meta.total };
            let mut granted = missing.len().min(usize::try_from(cap.saturating_sub(used)).unwrap_or(usize::MAX));
            // Numbers have nine digits at most: a kind that ran out is full too.
            while granted > 0 && !numbers_left(&missing[..granted], &meta) {
                granted -= 1;
            }
            outcome.full = missing.len() - granted;
            if granted == 0 {
                return Ok(None);
            }
            let reservation = Reservation {
                counts: counts(&missing[..granted]),
                cap,
                expires_at: now + self.pii.config().vault_ttl.as_secs(),
                restart_from: restart,
            };
            match self.pii.store.reserve(&self.items.meta_key(), &reservation).await? {
                Reserved::Granted(after) => return Ok(Some((granted, after))),
                Reserved::Refused => tracing::debug!(attempt, "pii vault meta changed or is full; reading it again"),
            }
        }
        Err(PiiError::Contention(RESERVE_ATTEMPTS))
    }

    /// Whether an item expiring at `expires_at` is in the second half of its life: refreshed when used, so a
    /// scope in use keeps its tokens (DynamoDB TTL would otherwise expire them mid-session).
    pub(super) fn aging(&self, expires_at: u64, now: u64) -> bool {
        expires_at < now + self.pii.config().vault_ttl.as_secs() / 2
    }

    /// Extends `keys` (and the meta item) to a full TTL. A failure costs nothing now (the items still live),
    /// so it is logged, not raised.
    pub(super) async fn refresh(&self, keys: Vec<String>, now: u64) {
        if keys.is_empty() {
            return;
        }
        let expires_at = now + self.pii.config().vault_ttl.as_secs();
        if let Err(error) = self.pii.store.refresh(&self.items.meta_key(), &keys, expires_at, now).await {
            tracing::warn!(%error, "could not extend the PII vault's expiry");
        }
    }
}

/// Per kind, how many numbers `values` need (kinds in a fixed order).
fn counts(values: &[&(PiiKind, String)]) -> Vec<(PiiKind, u32)> {
    let mut counts: BTreeMap<PiiKind, u32> = BTreeMap::new();
    for (kind, _) in values {
        *counts.entry(*kind).or_default() += 1;
    }
    counts.into_iter().collect()
}

fn numbers_left(values: &[&(PiiKind, String)], meta: &VaultMeta) -> bool {
    counts(values)
        .iter()
        .all(|(kind, n)| meta.counters[*kind as usize].checked_add(*n).is_some_and(|m| m <= MAX_NUMBER))
}

/// The reserved numbers, handed out in document order: for a kind that reserved `c`, the last `c` up to its
/// counter.
fn number(values: &[&(PiiKind, String)], after: &VaultMeta) -> Vec<(PiiKind, String, u32)> {
    let counts: HashMap<PiiKind, u32> = counts(values).into_iter().collect();
    let mut next: HashMap<PiiKind, u32> =
        counts.iter().map(|(kind, c)| (*kind, after.counters[*kind as usize] + 1 - c)).collect();
    values
        .iter()
        .map(|(kind, value)| {
            let slot = next.entry(*kind).or_default();
            let n = *slot;
            *slot += 1;
            (*kind, value.clone(), n)
        })
        .collect()
}
