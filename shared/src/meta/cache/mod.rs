//! The result cache of `gateway_call_tool(s)`: a tool's result kept for a short TTL so that the same call
//! by the same caller does not reach the backend again. Off by default (`GATEWAY_RESULT_CACHE`).
//!
//! - Per principal: the key is SHA-256 over the principal id, the exposed tool name and the canonical
//!   arguments (object keys sorted, PII tokens restored, so a token and the value it stands for are one
//!   call), so one caller never reads another's entry and the key holds no argument in clear.
//! - Stored as the caller received it: PII already tokenized. Tokens resolve only in the vault that minted
//!   them, so an entry holding any token is bound to that vault (a hash of its scope is stored with it):
//!   another session of the same principal misses it, and gets and stores its own.
//! - Errors, `isError` results, incomplete results and results over `GATEWAY_RESULT_CACHE_MAX_BYTES` are
//!   never stored.
//! - One item kind in the gateway's one table (`result#<key>`, TTL `expires_at`) behind the
//!   [`ResultStore`] port, with a DynamoDB adapter and a memory fake beside it.

mod dynamodb;
mod memory;

use std::sync::LazyLock;

use async_trait::async_trait;
use regex::Regex;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub use dynamodb::DynamoResultStore;
pub use memory::MemoryResultStore;

use crate::{protocol::VaultScope, store::StoreError};

/// The hashed key of one cache entry (64 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of `tool` called with `arguments` (tokens already restored) by `principal`.
    pub fn new(principal: &str, tool: &str, arguments: &Value) -> Self {
        let mut canonical_arguments = String::new();
        canonical(arguments, &mut canonical_arguments);
        Self(digest(&["mcp-gateway/result-cache/v1", principal, tool, &canonical_arguments]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 in hex over `parts`, each ending with a NUL, so ("ab", "c") and ("a", "bc") never hash alike.
fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// What may be a PII token (`[EMAIL_1]`): a superset of the real ones, so a result is never taken for
/// token-free when it is not.
static TOKEN_LIKE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\[[A-Z][A-Z_]*_[0-9]+\]").ok());

fn vault_tag(vault: &VaultScope) -> String {
    digest(&["mcp-gateway/result-cache/vault", &vault.key()])
}

/// The stored form of `result` (its JSON text `text`) read by `vault`: bound to the vault when it holds
/// anything that may be a token.
pub fn seal(result: &Value, text: &str, vault: &VaultScope) -> String {
    let bound = TOKEN_LIKE.as_ref().is_none_or(|re| re.is_match(text));
    json!({ "vault": bound.then(|| vault_tag(vault)), "result": result }).to_string()
}

/// The cached result, if `vault` may read it.
pub fn open(data: &str, vault: &VaultScope) -> Option<Value> {
    let mut stored: Value = serde_json::from_str(data).ok()?;
    match stored.get("vault")? {
        Value::Null => {}
        Value::String(tag) if *tag == vault_tag(vault) => {}
        _ => return None,
    }
    Some(stored.get_mut("result")?.take())
}

/// JSON with object keys sorted at every level: equal arguments give equal text whatever their order.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(members) => {
            let mut keys: Vec<&String> = members.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&members[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Where cached results live.
#[async_trait]
pub trait ResultStore: Send + Sync {
    /// The stored result text, if there is one that has not expired.
    async fn get(&self, key: &CacheKey) -> Result<Option<String>, StoreError>;
    /// Stores `data` until `expires_at` (epoch seconds), replacing any entry under `key`.
    async fn put(&self, key: &CacheKey, data: &str, expires_at: u64) -> Result<(), StoreError>;
}

/// Whether `result` may be cached: a complete, successful result whose PII was tokenized (a result the
/// vault could not tokenize was redacted irreversibly; keeping it would serve the redaction for the TTL).
pub fn is_cacheable(result: &Value, text: &str) -> bool {
    let complete = result.get("resultType").is_none_or(|t| t == "complete");
    let failed = result.get("isError").and_then(Value::as_bool).unwrap_or(false);
    complete && !failed && !text.contains("_REDACTED]")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(principal: &str, tool: &str, arguments: Value) -> CacheKey {
        CacheKey::new(principal, tool, &arguments)
    }

    #[test]
    fn keys_are_canonical_over_argument_order() {
        let a = key("p", "t", json!({"b": 1, "a": {"y": [1, {"q": 2, "p": 3}], "x": "s"}}));
        let b = key("p", "t", json!({"a": {"x": "s", "y": [1, {"p": 3, "q": 2}]}, "b": 1}));
        assert_eq!(a, b);
        assert_ne!(a, key("p", "t", json!({"b": 2, "a": {"x": "s", "y": [1, {"p": 3, "q": 2}]}})));
        assert_ne!(key("p", "t", json!([1, 2])), key("p", "t", json!([2, 1])));
    }

    #[test]
    fn keys_differ_per_principal_and_tool_and_hide_the_arguments() {
        let base = key("alice", "demo_lookup", json!({"email": "alice@example.com"}));
        assert_ne!(base, key("bob", "demo_lookup", json!({"email": "alice@example.com"})));
        assert_ne!(base, key("alice", "demo_other", json!({"email": "alice@example.com"})));
        // Parts cannot slide into each other.
        assert_ne!(key("ab", "c", json!({})), key("a", "bc", json!({})));
        assert_eq!(base.as_str().len(), 64);
        assert!(base.as_str().chars().all(|c| c.is_ascii_hexdigit()) && !base.as_str().contains("alice"));
    }

    #[test]
    fn entries_with_tokens_open_only_in_the_vault_that_minted_them() {
        let (a, b) = (VaultScope::Session("a".into()), VaultScope::Session("b".into()));
        let tokenized = json!({"content": [{"type": "text", "text": "mail [EMAIL_1]"}]});
        let sealed = seal(&tokenized, &tokenized.to_string(), &a);
        assert_eq!(open(&sealed, &a), Some(tokenized));
        assert_eq!(open(&sealed, &b), None);
        assert!(!sealed.contains("\"a\""), "the vault is stored as a hash: {sealed}");
        let plain = json!({"content": [{"type": "text", "text": "42 [note]"}]});
        let sealed = seal(&plain, &plain.to_string(), &a);
        assert_eq!(open(&sealed, &b), Some(plain), "token-free results are shared by the principal's sessions");
        assert_eq!(open("not json", &a), None);
    }

    #[test]
    fn only_complete_successful_tokenized_results_are_cacheable() {
        let ok = json!({"content": []});
        assert!(is_cacheable(&ok, &ok.to_string()));
        assert!(!is_cacheable(&json!({"isError": true}), "{}"));
        assert!(!is_cacheable(&json!({"resultType": "input_required"}), "{}"));
        let redacted = json!({"content": [{"type": "text", "text": "[EMAIL_REDACTED]"}]});
        assert!(!is_cacheable(&redacted, &redacted.to_string()));
    }
}
