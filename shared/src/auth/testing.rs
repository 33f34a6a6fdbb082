//! Shared fixtures for the auth unit tests: configurations, a key file with known keys, and a test RSA
//! key pair (testdata/, test-only, never used outside tests) to mint JWTs.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{AuthConfig, BackendItem, ItemKind, KeyFile, Scopes};
use crate::store::now_secs;

pub const KEY_A: &str = "mcpgw_1eNOK8NR0iC3tw6uKg5RTB7Y49tKZLMU9Nn_au5NCTs";
pub const KEY_B: &str = "mcpgw__qPDCkSSzjnvrFfT6gqnG5XRuMNaGaiFLHv9IF2R_LA";
pub const KEY_DISABLED: &str = "mcpgw_2pn2x9s2-tK4f38pwXsrinmhVDyVkNuC-2L93DbLkCI";
pub const KEY_EXPIRED: &str = "mcpgw_8oSXyZvzzem2Z3b26gjLRGOX5e0DAmIO-EbbwRglISs";

pub const RESOURCE: &str = "https://gw.example.com/mcp";
pub const ISSUER: &str = "https://id.example.com";
pub const KID: &str = "gw-test-1";
pub const PRIVATE_PEM: &[u8] = include_bytes!("testdata/jwt_rsa_private.pem");
pub const PUBLIC_PEM: &[u8] = include_bytes!("testdata/jwt_rsa_public.pem");
pub const ATTACKER_PEM: &[u8] = include_bytes!("testdata/attacker_rsa_private.pem");
pub const JWKS: &str = include_str!("testdata/jwks.json");

/// Whether `scopes` reach the tool exposed as `exposed` of the backend `demo` (prefix `demo_`).
pub fn demo_tool(scopes: &Scopes, exposed: &str) -> bool {
    scopes.may_reach(&BackendItem { kind: ItemKind::Tool, backend: "demo", prefix: "demo_", exposed })
}

fn config(vars: &[(&str, &str)]) -> AuthConfig {
    AuthConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
        .expect("test configuration is valid")
}

pub fn api_key_config() -> AuthConfig {
    config(&[("AUTH_MODE", "api-key"), ("GATEWAY_RESOURCE_URI", RESOURCE)])
}

pub fn oauth_config() -> AuthConfig {
    config(&[
        ("AUTH_MODE", "oauth"),
        ("GATEWAY_RESOURCE_URI", RESOURCE),
        ("OAUTH_ISSUER", ISSUER),
        ("OAUTH_JWKS_URI", "https://id.example.com/jwks.json"),
        ("OAUTH_SCOPES_SUPPORTED", "tool:call code:execute"),
    ])
}

pub fn none_config(allow_insecure: bool) -> AuthConfig {
    let allow = if allow_insecure { "1" } else { "0" };
    config(&[("AUTH_MODE", "none"), ("ALLOW_INSECURE", allow)])
}

pub fn hash_of(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The secret document with the four test keys: `k_a` (`*`), `k_b` (`tool:demo_add` only),
/// `k_disabled`, `k_expired` (expired 2025-01-01).
pub fn key_document() -> Value {
    json!({"keys": [
        {"id": "k_a", "name": "all", "hash": hash_of(KEY_A), "scopes": ["*"], "disabled": false, "expiresAt": null},
        {"id": "k_b", "name": "adder", "hash": hash_of(KEY_B), "scopes": ["tool:demo_add"]},
        {"id": "k_disabled", "name": "off", "hash": hash_of(KEY_DISABLED), "scopes": ["*"], "disabled": true},
        {"id": "k_expired", "name": "old", "hash": hash_of(KEY_EXPIRED), "scopes": ["*"],
         "expiresAt": "2025-01-01T00:00:00Z"},
    ]})
}

pub fn key_file() -> KeyFile {
    key_file_with(|_| true)
}

/// The test key file with only the entries `keep` accepts.
pub fn key_file_with(keep: impl Fn(&Value) -> bool) -> KeyFile {
    let mut doc = key_document();
    if let Some(keys) = doc["keys"].as_array_mut() {
        keys.retain(|k| keep(k));
    }
    KeyFile::parse(&doc.to_string()).expect("test key file parses")
}

/// Valid claims for `oauth_config()`, expiring in 5 minutes.
pub fn claims() -> Value {
    let now = now_secs();
    json!({"iss": ISSUER, "aud": RESOURCE, "sub": "user-1", "iat": now, "exp": now + 300, "scope": "tool:call"})
}

/// An RS256 token signed with the test key under `kid`.
pub fn mint(claims: &Value, kid: Option<&str>) -> String {
    mint_with(claims, kid, Algorithm::RS256, PRIVATE_PEM)
}

pub fn mint_with(claims: &Value, kid: Option<&str>, alg: Algorithm, pem: &[u8]) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    let key = EncodingKey::from_rsa_pem(pem).expect("test PEM parses");
    encode(&header, claims, &key).expect("test token encodes")
}

/// base64url without padding, for hand-built (malicious) tokens.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
