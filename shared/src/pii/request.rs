//! One request's use of a scope's vault: tokens in arguments restored (`detokenize`), PII in anything that
//! goes back to the client replaced (`tokenize`, `tokenize_text`), and what it learned kept for the rest of
//! the request, so a value is looked up once and a restored value never comes back raw.
//!
//! I/O only when needed: `detokenize` reads the tokens it found (one batch), `tokenize` reads the
//! fingerprints of values it does not know yet (one batch) and mints what is new (`mint.rs`). A request
//! whose arguments hold no token and whose results hold no detected and no restored value makes no vault
//! call at all.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{
    echo::Restored,
    scan::{self, Found, Source},
    token,
    vault::{ScopeItems, VaultMeta},
    walk, KindSet, Pii, PiiError, PiiKind,
};
use crate::store::now_secs;

/// What a tokenize did, for metrics and audit lines: counts and kinds, never values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenizeStats {
    /// Values replaced in the document (each occurrence counts, restored values included).
    pub replaced: usize,
    /// Values that got a new token.
    pub minted: usize,
    /// Occurrences replaced irreversibly (`[EMAIL_REDACTED]`): vault full or unusable, or too much at once.
    pub redacted: usize,
    /// The kinds found.
    pub kinds: KindSet,
    /// New values were redacted because the scope holds `PII_VAULT_MAX_TOKENS` tokens.
    pub vault_full: bool,
    /// The vault could not be used (store down, undecryptable): what was not known already was redacted.
    pub vault_unavailable: bool,
}

/// Token ↔ value pairs of this scope that this request has seen.
#[derive(Default)]
pub(super) struct Known {
    /// Per kind (indexed by `PiiKind as usize`), so a lookup by value borrows it instead of copying it.
    by_value: [HashMap<String, u32>; PiiKind::ALL.len()],
    by_token: HashMap<(PiiKind, u32), String>,
}

impl Known {
    pub fn insert(&mut self, kind: PiiKind, number: u32, value: &str) {
        self.by_value[kind as usize].insert(value.to_owned(), number);
        self.by_token.insert((kind, number), value.to_owned());
    }

    pub fn number(&self, kind: PiiKind, value: &str) -> Option<u32> {
        self.by_value[kind as usize].get(value).copied()
    }

    fn value(&self, kind: PiiKind, number: u32) -> Option<&str> {
        self.by_token.get(&(kind, number)).map(String::as_str)
    }
}

/// See the module documentation. Made by `Pii::request`; use one per MCP request, for its arguments and
/// for everything that goes back to the client.
pub struct PiiRequest<'a> {
    pub(super) pii: &'a Pii,
    pub(super) items: ScopeItems<'a>,
    pub(super) known: Known,
    pub(super) restored: Restored,
    /// The scope's meta item as last read or written (`None`: not read yet, or absent).
    pub(super) meta: Option<VaultMeta>,
    /// The vault-full audit line and metric are emitted once per request.
    pub(super) full_reported: bool,
    /// See `keep_tokens`.
    keep_tokens: bool,
}

impl<'a> PiiRequest<'a> {
    pub(crate) fn new(pii: &'a Pii, scope_id: &str) -> Self {
        Self {
            pii,
            items: ScopeItems::new(&pii.key, scope_id),
            known: Known::default(),
            restored: Restored::default(),
            meta: None,
            full_reported: false,
            keep_tokens: false,
        }
    }

    /// For what the caller produced itself from this scope's tokens — the output, return value and error of
    /// its sandboxed code, whose tool results were tokenized call by call: canonical tokens in it are this
    /// scope's and are left as they are, instead of being taken for lookalikes and tokenized a second time
    /// (which would make `[EMAIL_2]` stand for the text `[EMAIL_1]`). Everything else is tokenized as usual.
    /// Never use it for backend data: a backend could then plant a token to have a value restored.
    pub fn keep_tokens(mut self) -> Self {
        self.keep_tokens = true;
        self
    }

    /// Restores the tokens of this scope found in `value` (tool arguments) to their original values, and
    /// remembers them: whatever this request tokenizes afterwards gets them replaced by their tokens again.
    /// Tokens this scope never minted — another scope's, made up, expired, malformed — are left as they are.
    /// Returns how many were restored.
    pub async fn detokenize(&mut self, value: &mut Value) -> Result<usize, PiiError> {
        if !self.pii.config().is_active() {
            // PII off everywhere: no key was loaded, and no token was minted by this configuration.
            return Ok(0);
        }
        let mut wanted = Vec::new();
        let mut seen = HashSet::new();
        walk::rewrite(value, &mut |_, text| {
            for (_, kind, n) in token::find(text) {
                if self.known.value(kind, n).is_none() && seen.insert((kind, n)) {
                    wanted.push((kind, n));
                }
            }
            None
        });
        if !wanted.is_empty() {
            self.fetch_tokens(&wanted).await?;
        }
        let (known, restored) = (&self.known, &mut self.restored);
        let mut count = 0;
        walk::rewrite(value, &mut |_, text| {
            let mut out = String::new();
            let mut copied = 0;
            for (range, kind, n) in token::find(text) {
                if let Some(original) = known.value(kind, n) {
                    out.push_str(&text[copied..range.start]);
                    out.push_str(original);
                    copied = range.end;
                    count += 1;
                    restored.add(kind, n, original);
                }
            }
            // One pass: a restored value that itself looks like a token is never resolved again.
            (copied > 0).then(|| out + &text[copied..])
        });
        Ok(count)
    }

    /// Replaces the PII in `value` — anything on its way to the client: a tool result of `tool` (its exposed
    /// name; `None` for resources, prompts, completions, lists, errors) from `backend` (its id) — with this
    /// scope's tokens, minting new ones as needed. Values this request restored are replaced wherever their
    /// exact text appears (substring, key, number), whatever the policy says about detection.
    ///
    /// Never leaves a detected or restored value in place: when the vault cannot be used or is full, values
    /// without a token become `[KIND_REDACTED]` (see the stats). Errs only on a bug (`NoScanner`), leaving
    /// `value` untouched.
    pub async fn tokenize(
        &mut self,
        backend: &str,
        tool: Option<&str>,
        value: &mut Value,
    ) -> Result<TokenizeStats, PiiError> {
        let found = self.find(backend, tool, value)?;
        if found.is_empty() {
            return Ok(TokenizeStats::default());
        }
        let mut stats = TokenizeStats::default();
        let unknown: Vec<(PiiKind, String)> =
            found.detected.iter().filter(|(kind, v)| self.known.number(*kind, v).is_none()).cloned().collect();
        if !unknown.is_empty() {
            match self.resolve(&unknown).await {
                Ok(outcome) => {
                    stats.minted = outcome.minted;
                    stats.vault_full = outcome.full > 0;
                }
                Err(error) => {
                    tracing::warn!(%error, backend, "PII vault unavailable; redacting instead of tokenizing");
                    stats.vault_unavailable = true;
                }
            }
        }
        self.apply(value, &found, &mut stats);
        if stats.vault_full {
            self.report_full(&stats);
        }
        tracing::debug!(replaced = stats.replaced, minted = stats.minted, redacted = stats.redacted, kinds = ?stats.kinds, "pii tokenized");
        Ok(stats)
    }

    /// `tokenize` for a plain text on its way to the client: an error message relayed from a backend, a
    /// validation message built from restored arguments, the error text of a code execution.
    pub async fn tokenize_text(
        &mut self,
        backend: &str,
        tool: Option<&str>,
        text: &mut String,
    ) -> Result<TokenizeStats, PiiError> {
        let mut value = Value::String(std::mem::take(text));
        let result = self.tokenize(backend, tool, &mut value).await;
        if let Value::String(done) = value {
            *text = done;
        }
        result
    }

    /// The offline fallback, without any I/O: restored and already known values get their tokens, every
    /// other detected value becomes `[KIND_REDACTED]`.
    pub fn redact(&mut self, backend: &str, tool: Option<&str>, value: &mut Value) -> Result<TokenizeStats, PiiError> {
        let found = self.find(backend, tool, value)?;
        let mut stats = TokenizeStats::default();
        self.apply(value, &found, &mut stats);
        Ok(stats)
    }

    fn find(&mut self, backend: &str, tool: Option<&str>, value: &mut Value) -> Result<Found, PiiError> {
        let kinds = self.pii.config().kinds_for(backend, tool);
        if kinds.is_empty() && self.restored.is_empty() {
            return Ok(Found::default());
        }
        let scanner = if kinds.is_empty() { None } else { Some(self.pii.scanner(kinds)?) };
        Ok(scan::find(scanner, &mut self.restored, self.keep_tokens, value))
    }

    /// Rewrites the texts that had spans. Visit indices match those of the scan: the document was not
    /// changed in between.
    fn apply(&self, value: &mut Value, found: &Found, stats: &mut TokenizeStats) {
        let mut leaves = found.leaves.iter().peekable();
        walk::rewrite_leaves(value, &mut |index, text, _| {
            let (_, spans) = leaves.next_if(|(i, _)| *i == index)?;
            let mut out = String::with_capacity(text.len());
            let mut copied = 0;
            for span in spans {
                out.push_str(&text[copied..span.range.start]);
                let (kind, number) = match span.source {
                    Source::Restored(i) => {
                        let echo = self.restored.get(i);
                        (echo.kind, Some(echo.number))
                    }
                    Source::Detected(kind) => (kind, self.known.number(kind, &text[span.range.clone()])),
                };
                match number {
                    Some(n) => out.push_str(&token::format(kind, n)),
                    None => {
                        out.push_str(&token::redacted(kind));
                        stats.redacted += 1;
                    }
                }
                copied = span.range.end;
                stats.replaced += 1;
                stats.kinds.insert(kind);
            }
            out.push_str(&text[copied..]);
            Some(out)
        });
    }

    /// One audit line and one metric per request that met a full vault: the operator sees a scope being
    /// filled; the line names the scope and counts, never a value.
    fn report_full(&mut self, stats: &TokenizeStats) {
        if std::mem::replace(&mut self.full_reported, true) {
            return;
        }
        tracing::warn!(
            audit = true,
            scope = self.items.scope_id(),
            cap = self.pii.config().vault_max_tokens,
            redacted = stats.redacted,
            kinds = ?stats.kinds,
            "PII vault full: new values redacted"
        );
        crate::telemetry::note_pii_vault_full();
    }

    /// Reads the token items of `wanted` and keeps those that resolve; refreshes those in the second half of
    /// their life.
    async fn fetch_tokens(&mut self, wanted: &[(PiiKind, u32)]) -> Result<(), PiiError> {
        let now = now_secs();
        let keys: Vec<String> = wanted.iter().map(|(k, n)| self.items.token_key(*k, *n)).collect();
        let (meta, entries) = self.pii.store.read(&self.items.meta_key(), &keys).await?;
        let live = meta.as_ref().is_some_and(|m| m.live(now));
        self.meta = meta;
        if !live {
            // Forgotten or expired: nothing of the scope resolves any more.
            return Ok(());
        }
        let entries: HashMap<&str, _> = entries.iter().map(|e| (e.key.as_str(), e)).collect();
        let mut aging = Vec::new();
        for ((kind, n), key) in wanted.iter().zip(&keys) {
            let Some(entry) = entries.get(key.as_str()).filter(|e| e.live(now)) else { continue };
            let value = self.items.open_value(*kind, *n, &entry.sealed)?;
            if self.aging(entry.expires_at, now) {
                aging.push(key.clone());
                aging.push(self.items.fingerprint_key(*kind, &value));
            }
            self.known.insert(*kind, *n, &value);
        }
        self.refresh(aging, now).await;
        Ok(())
    }
}
