//! The result cache of `gateway_call_tool(s)`: a tool's result kept for a short TTL so that the same call
//! by the same caller does not reach the backend again. Off by default (`GATEWAY_RESULT_CACHE`).
//!
//! - Per principal and PII vault: the key is SHA-256 over the principal id, the vault scope, the exposed
//!   tool name and the canonical arguments (object keys sorted, PII tokens restored), so one caller never
//!   reads another's entry, the tokens in a cached result always resolve in the reader's own vault, and
//!   the key holds no argument in clear.
//! - Stored as the caller received it: PII already tokenized. Errors, `isError` results, incomplete
//!   results and results over `GATEWAY_RESULT_CACHE_MAX_BYTES` are never stored.
//! - One item kind in the gateway's one table (`result#<key>`, TTL `expires_at`) behind the
//!   [`ResultStore`] port, with a DynamoDB adapter and a memory fake beside it.

mod dynamodb;
mod memory;

use async_trait::async_trait;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use dynamodb::DynamoResultStore;
pub use memory::MemoryResultStore;

use crate::{protocol::VaultScope, store::StoreError};

/// The hashed key of one cache entry (64 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of `tool` called with `arguments` (tokens already restored) by `principal` in `vault`.
    pub fn new(principal: &str, vault: &VaultScope, tool: &str, arguments: &Value) -> Self {
        let mut canonical_arguments = String::new();
        canonical(arguments, &mut canonical_arguments);
        let mut hasher = Sha256::new();
        // Each part ends with a NUL, so ("ab", "c") and ("a", "bc") never hash alike.
        for part in ["mcp-gateway/result-cache/v1", principal, &vault.key(), tool, &canonical_arguments] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        Self(hex::encode(hasher.finalize()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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

    fn key(principal: &str, vault: &str, tool: &str, arguments: Value) -> CacheKey {
        CacheKey::new(principal, &VaultScope::Principal(vault.into()), tool, &arguments)
    }

    #[test]
    fn keys_are_canonical_over_argument_order() {
        let a = key("p", "p", "t", json!({"b": 1, "a": {"y": [1, {"q": 2, "p": 3}], "x": "s"}}));
        let b = key("p", "p", "t", json!({"a": {"x": "s", "y": [1, {"p": 3, "q": 2}]}, "b": 1}));
        assert_eq!(a, b);
        assert_ne!(a, key("p", "p", "t", json!({"b": 2, "a": {"x": "s", "y": [1, {"p": 3, "q": 2}]}})));
        assert_ne!(key("p", "p", "t", json!([1, 2])), key("p", "p", "t", json!([2, 1])));
    }

    #[test]
    fn keys_differ_per_principal_vault_and_tool_and_hide_the_arguments() {
        let base = key("alice", "alice", "demo_lookup", json!({"email": "alice@example.com"}));
        assert_ne!(base, key("bob", "alice", "demo_lookup", json!({"email": "alice@example.com"})));
        assert_ne!(base, key("alice", "bob", "demo_lookup", json!({"email": "alice@example.com"})));
        assert_ne!(base, key("alice", "alice", "demo_other", json!({"email": "alice@example.com"})));
        let session = CacheKey::new("alice", &VaultScope::Session("alice".into()), "demo_lookup", &json!({}));
        assert_ne!(session, key("alice", "alice", "demo_lookup", json!({})));
        // Parts cannot slide into each other.
        assert_ne!(key("ab", "x", "c", json!({})), key("a", "x", "bc", json!({})));
        assert_eq!(base.as_str().len(), 64);
        assert!(base.as_str().chars().all(|c| c.is_ascii_hexdigit()) && !base.as_str().contains("alice"));
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
