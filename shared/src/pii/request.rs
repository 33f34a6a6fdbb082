//! One request's view of a scope's vault: loaded at most once (and only when there is something to
//! tokenize or a token to restore), written at most once per successful tokenize.
//!
//! Tokenizing runs in three steps so that a lost race never leaves stale tokens in the result: find
//! every value (no I/O), then give each a number — reloading and re-minting when a concurrent writer
//! changed the vault first — and only then rewrite the document with the numbers that were stored.

use std::collections::HashMap;

use serde_json::Value;

use super::{
    detect::Detection,
    token,
    vault::{SaveOutcome, SealedVault, Vault, VaultFull},
    walk, KindSet, Pii, PiiError, PiiKind,
};
use crate::store::now_secs;

/// Conditional writes tried before giving up under contention (each loss means another writer succeeded,
/// so this bounds the number of requests minting in the same scope at the same moment).
const MAX_ATTEMPTS: u32 = 8;

/// What a tokenize did, for metrics and audit lines: counts and kinds, never values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenizeStats {
    /// Values replaced in the document (each occurrence counts).
    pub replaced: usize,
    /// Values that got a new token.
    pub minted: usize,
    /// Values replaced irreversibly (`[EMAIL_REDACTED]`) because the vault was full.
    pub redacted: usize,
    /// The kinds found.
    pub kinds: KindSet,
}

struct Loaded {
    vault: Vault,
    /// `None`: no item yet.
    version: Option<u64>,
    expires_at: u64,
}

/// See the module documentation. Made by `Pii::request`; use one per MCP request.
pub struct PiiRequest<'a> {
    pii: &'a Pii,
    scope_id: String,
    loaded: Option<Loaded>,
}

/// What the scan found: per visited string (by visit index) its detections, and the distinct values in
/// document order (so numbers follow the order a reader meets them).
#[derive(Default)]
struct Found {
    leaves: Vec<(usize, Vec<Detection>)>,
    distinct: Vec<(PiiKind, String)>,
}

impl<'a> PiiRequest<'a> {
    pub(crate) fn new(pii: &'a Pii, scope_id: &str) -> Self {
        Self { pii, scope_id: scope_id.to_owned(), loaded: None }
    }

    /// Restores the tokens of this scope found in `value` (tool arguments) to their original values.
    /// Tokens this scope never minted — another session's, made up, or malformed — are left as they are.
    /// Returns how many were restored.
    pub async fn detokenize(&mut self, value: &mut Value) -> Result<usize, PiiError> {
        if !self.pii.config().is_active() {
            // PII off everywhere: no key was loaded, and no token was minted by this configuration.
            return Ok(0);
        }
        let mut any = false;
        walk::rewrite(value, &mut |_, text| {
            any = any || token::may_contain(text);
            None
        });
        if !any {
            return Ok(0);
        }
        let vault = &self.load().await?.vault;
        let mut restored = 0;
        walk::rewrite(value, &mut |_, text| {
            let mut out = String::new();
            let mut copied = 0;
            for (range, kind, n) in token::find(text) {
                if let Some(original) = vault.value(kind, n) {
                    out.push_str(&text[copied..range.start]);
                    out.push_str(original);
                    copied = range.end;
                    restored += 1;
                }
            }
            // One pass: a restored value that itself looks like a token is never resolved again.
            (copied > 0).then(|| out + &text[copied..])
        });
        Ok(restored)
    }

    /// Replaces the PII in `value` (a result of `tool` — its exposed name, `None` for resources and
    /// prompts — from `backend`) with this scope's tokens, minting and storing new ones as needed.
    pub async fn tokenize(
        &mut self,
        backend: &str,
        tool: Option<&str>,
        value: &mut Value,
    ) -> Result<TokenizeStats, PiiError> {
        let kinds = self.pii.config().kinds_for(backend, tool);
        if kinds.is_empty() {
            return Ok(TokenizeStats::default());
        }
        let found = self.find(kinds, value)?;
        if found.distinct.is_empty() && !self.needs_refresh() {
            return Ok(TokenizeStats::default());
        }
        let (tokens, minted, redacted) = self.resolve(&found).await?;
        let mut stats = TokenizeStats { minted, redacted, ..TokenizeStats::default() };
        apply(value, &found, &tokens, &mut stats);
        tracing::debug!(replaced = stats.replaced, minted, redacted, kinds = ?stats.kinds, "pii tokenized");
        Ok(stats)
    }

    fn find(&self, kinds: KindSet, value: &mut Value) -> Result<Found, PiiError> {
        let scanner = self.pii.scanner(kinds)?;
        let mut found = Found::default();
        let mut seen: Vec<std::collections::HashSet<String>> = vec![Default::default(); PiiKind::ALL.len()];
        let mut hits = Vec::new();
        walk::rewrite(value, &mut |index, text| {
            scanner.scan(text, &mut hits);
            if hits.is_empty() {
                return None;
            }
            for hit in &hits {
                let original = &text[hit.range()];
                if seen[hit.kind as usize].insert(original.to_owned()) {
                    found.distinct.push((hit.kind, original.to_owned()));
                }
            }
            found.leaves.push((index, std::mem::take(&mut hits)));
            None
        });
        Ok(found)
    }

    /// Token text per distinct value, after the vault holding any new numbers was stored.
    async fn resolve(&mut self, found: &Found) -> Result<(TokenMap, usize, usize), PiiError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let (pii, scope_id) = (self.pii, self.scope_id.as_str());
            let ttl = pii.config().vault_ttl.as_secs();
            let loaded = load(pii, scope_id, &mut self.loaded).await?;
            let refresh = aging(loaded, ttl);
            let mut tokens = token_map();
            let (mut minted, mut redacted) = (0, 0);
            for (kind, original) in &found.distinct {
                let text = match loaded.vault.number(*kind, original) {
                    Some(n) => token::format(*kind, n),
                    None => match loaded.vault.mint(*kind, original) {
                        Ok(n) => {
                            minted += 1;
                            token::format(*kind, n)
                        }
                        Err(VaultFull) => {
                            redacted += 1;
                            token::redacted(*kind)
                        }
                    },
                };
                tokens[*kind as usize].insert(original.clone(), text);
            }
            if minted == 0 && !refresh {
                return Ok((tokens, 0, redacted));
            }
            let sealed = SealedVault {
                blob: pii.key.seal(scope_id, &loaded.vault.encode().map_err(|_| PiiError::Corrupt)?)?,
                version: loaded.version.map_or(1, |v| v + 1),
                expires_at: now_secs() + ttl,
            };
            match pii.store.save(scope_id, &sealed, loaded.version).await? {
                SaveOutcome::Saved => {
                    loaded.version = Some(sealed.version);
                    loaded.expires_at = sealed.expires_at;
                    return Ok((tokens, minted, redacted));
                }
                SaveOutcome::Conflict => {
                    // Another instance stored first: its numbers win; ours are discarded with the vault.
                    tracing::debug!(attempt, "pii vault changed concurrently, reloading");
                    self.loaded = None;
                    backoff(attempt).await;
                }
            }
        }
        Err(PiiError::Contention(MAX_ATTEMPTS))
    }

    /// A loaded vault in the second half of its life is written back even without new tokens, so a scope
    /// in use keeps its tokens (DynamoDB TTL would otherwise expire them mid-session).
    fn needs_refresh(&self) -> bool {
        self.loaded.as_ref().is_some_and(|l| aging(l, self.pii.config().vault_ttl.as_secs()))
    }

    async fn load(&mut self) -> Result<&mut Loaded, PiiError> {
        load(self.pii, &self.scope_id, &mut self.loaded).await
    }
}

/// Loads the vault into `slot` unless it is there already. A free function so that callers can keep using
/// the request's other fields while holding the loaded vault.
async fn load<'s>(pii: &Pii, scope_id: &str, slot: &'s mut Option<Loaded>) -> Result<&'s mut Loaded, PiiError> {
    if slot.is_none() {
        let loaded = match pii.store.load(scope_id).await? {
            None => Loaded { vault: Vault::new(), version: None, expires_at: 0 },
            Some(sealed) => {
                let plaintext = pii.key.open(scope_id, &sealed.blob)?;
                let vault = Vault::decode(&plaintext).map_err(|_| PiiError::Corrupt)?;
                // Expired but not yet deleted by DynamoDB: empty, numbering on where it stopped.
                let vault = if sealed.expires_at <= now_secs() { vault.successor() } else { vault };
                Loaded { vault, version: Some(sealed.version), expires_at: sealed.expires_at }
            }
        };
        *slot = Some(loaded);
    }
    slot.as_mut().ok_or(PiiError::Corrupt)
}

/// A short random pause before retrying, so writers that collided do not collide again in lockstep.
async fn backoff(attempt: u32) {
    let mut jitter = [0u8; 1];
    let jitter = getrandom::fill(&mut jitter).map_or(10, |_| u64::from(jitter[0] % 20));
    tokio::time::sleep(std::time::Duration::from_millis(jitter + 5 * u64::from(attempt))).await;
}

fn aging(loaded: &Loaded, ttl: u64) -> bool {
    loaded.version.is_some() && loaded.expires_at < now_secs() + ttl / 2
}

/// Per kind: original value → token text.
type TokenMap = Vec<HashMap<String, String>>;

fn token_map() -> TokenMap {
    vec![HashMap::new(); PiiKind::ALL.len()]
}

/// Rewrites the strings that had detections. Visit indices match those of the scan: the document was
/// not changed in between.
fn apply(value: &mut Value, found: &Found, tokens: &TokenMap, stats: &mut TokenizeStats) {
    let mut leaves = found.leaves.iter().peekable();
    walk::rewrite(value, &mut |index, text| {
        let (_, hits) = leaves.next_if(|(i, _)| *i == index)?;
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for hit in hits {
            out.push_str(&text[copied..hit.start]);
            match tokens[hit.kind as usize].get(&text[hit.range()]) {
                Some(token) => out.push_str(token),
                // Cannot happen (every distinct value got a token); if it did, never leave the value.
                None => out.push_str(&token::redacted(hit.kind)),
            }
            copied = hit.end;
            stats.replaced += 1;
            stats.kinds.insert(hit.kind);
        }
        out.push_str(&text[copied..]);
        Some(out)
    });
}
