//! Legacy-era client sessions. A session lives in the store, not in the instance: any Lambda instance
//! can continue it. It is bound to the principal that created it and never authenticates anyone.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub id: String,
    /// Principal id of the creator; a request from anyone else sees "not found".
    pub owner: String,
    pub protocol_version: String,
    #[serde(default)]
    pub client_capabilities: Value,
    #[serde(default)]
    pub client_info: Value,
    /// Each backend's own session, opened by the gateway on the client's behalf.
    #[serde(default)]
    pub backends: BTreeMap<String, BackendSession>,
    #[serde(default)]
    pub log_level: Option<String>,
    /// Epoch seconds; also the store's TTL attribute.
    pub expires_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BackendSession {
    pub session_id: Option<String>,
    pub protocol_version: String,
    pub capabilities: Value,
}

impl BackendSession {
    /// Whether the backend declared `capability` (e.g. `"tools"`) at initialize.
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.get(capability).is_some_and(|c| !c.is_null())
    }
}

/// A new session id: 256 bits from the OS CSPRNG, base64url (visible ASCII, 43 characters).
pub fn mint_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_visible_ascii() {
        let (a, b) = (mint_id().unwrap(), mint_id().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| (0x21..=0x7e).contains(&c)));
    }
}
