//! Changing the key secret while the gateway runs (the admin API): create a key (shown once, stored
//! hashed), list keys (never their hashes), revoke one.
//!
//! Secrets Manager has no conditional write, so every change is a compare-and-swap on the secret's
//! version: read the current version (`VersionId`), write the changed document as a new version, then
//! move the `AWSCURRENT` label to it *from the version that was read*. If another writer moved the label
//! first, that move fails and the change is applied again on top of the newer document. Two concurrent
//! creates therefore both end up in the secret; neither is lost. `infra/create-api-key.py` writes the
//! same way.

use async_trait::async_trait;
use aws_sdk_secretsmanager::primitives::{DateTime, DateTimeFormat};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{KeyError, KEY_PREFIX};

/// How often a change is re-applied after losing a race before giving up.
const ATTEMPTS: usize = 8;

/// The key secret, read and replaced as a whole.
#[async_trait]
pub trait KeyAdmin: Send + Sync {
    /// The document's text and the id of its version.
    async fn read(&self) -> Result<(String, String), KeyError>;
    /// Makes `text` the current document if the current version is still `version`; `false` (nothing
    /// made current) when another change came first.
    async fn replace(&self, version: &str, text: &str) -> Result<bool, KeyError>;
}

/// A key as the admin API shows it: never its hash.
pub fn summary(entry: &Value, now: u64) -> Value {
    let text = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
    let expires = text("expiresAt");
    let expired = expires.as_deref().and_then(parse_time).is_some_and(|at| at <= now);
    let status = match entry.get("disabled") {
        Some(Value::Bool(true)) => "revoked",
        Some(Value::Bool(false)) | None if expired => "expired",
        Some(Value::Bool(false)) | None => "active",
        Some(_) => "invalid",
    };
    json!({
        "id": text("id"),
        "name": text("name").unwrap_or_default(),
        "scopes": entry.get("scopes").cloned().unwrap_or(json!([])),
        "status": status,
        "expiresAt": expires,
        "createdAt": text("createdAt"),
        "revokedAt": text("revokedAt"),
    })
}

/// Every key of the secret, summarized.
pub async fn list(admin: &dyn KeyAdmin, now: u64) -> Result<Vec<Value>, KeyError> {
    let (text, _) = admin.read().await?;
    Ok(entries(&parse(&text)?).iter().map(|e| summary(e, now)).collect())
}

/// A new key: returns the key (the only time it exists outside the caller) and its summary.
pub async fn create(
    admin: &dyn KeyAdmin,
    name: &str,
    scopes: &[String],
    expires_at: Option<u64>,
    now: u64,
) -> Result<(String, Value), KeyError> {
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random::<32>()?));
    let id = format!("k_{}", hex::encode(random::<8>()?));
    let entry = json!({
        "id": id,
        "name": name,
        // Unsalted SHA-256 suits 256-bit random keys (see the module documentation of `api_key`).
        "hash": format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes()))),
        "scopes": scopes,
        "disabled": false,
        "expiresAt": expires_at.map(rfc3339),
        "createdAt": rfc3339(now),
    });
    let added = entry.clone();
    change(admin, move |doc| {
        keys_mut(doc)?.push(added.clone());
        Ok(true)
    })
    .await?;
    Ok((key, summary(&entry, now)))
}

/// Disables the key `id`: `None` when there is no such key, else its summary (already revoked is fine).
pub async fn revoke(admin: &dyn KeyAdmin, id: &str, now: u64) -> Result<Option<Value>, KeyError> {
    let mut found = None;
    change(admin, |doc| {
        let entry = keys_mut(doc)?.iter_mut().find(|k| k.get("id").and_then(Value::as_str) == Some(id));
        let Some(entry) = entry.and_then(Value::as_object_mut) else {
            found = None;
            return Ok(false);
        };
        let changed = entry.get("disabled") != Some(&Value::Bool(true));
        if changed {
            entry.insert("disabled".into(), Value::Bool(true));
            entry.insert("revokedAt".into(), Value::String(rfc3339(now)));
        }
        found = Some(summary(&Value::Object(entry.clone()), now));
        Ok(changed)
    })
    .await?;
    Ok(found)
}

/// Applies `edit` to the current document and replaces it, again and again while other writers win the
/// race. `edit` returns whether it changed anything (nothing is written otherwise).
async fn change(
    admin: &dyn KeyAdmin,
    mut edit: impl FnMut(&mut Value) -> Result<bool, KeyError>,
) -> Result<(), KeyError> {
    for attempt in 0..ATTEMPTS {
        let (text, version) = admin.read().await?;
        let mut doc = parse(&text)?;
        if !edit(&mut doc)? {
            return Ok(());
        }
        let text = serde_json::to_string_pretty(&doc).map_err(|e| KeyError::Corrupt(e.to_string()))?;
        if admin.replace(&version, &text).await? {
            return Ok(());
        }
        tracing::info!(attempt, "the API key secret changed meanwhile; applying the change again");
        // A short random pause, so two writers that collided do not collide again in lockstep.
        let pause = u64::from(random::<1>()?[0]) % 50 + 10;
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
    }
    Err(KeyError::Unavailable("the API key secret kept changing; try again".into()))
}

fn parse(text: &str) -> Result<Value, KeyError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| KeyError::Corrupt(e.to_string()))?;
    // Refuse to rewrite anything that is not a key document rather than replace it with one.
    if !doc.get("keys").is_some_and(Value::is_array) {
        return Err(KeyError::Corrupt("the secret has no \"keys\" list".into()));
    }
    Ok(doc)
}

fn entries(doc: &Value) -> &[Value] {
    doc.get("keys").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

fn keys_mut(doc: &mut Value) -> Result<&mut Vec<Value>, KeyError> {
    doc.get_mut("keys").and_then(Value::as_array_mut).ok_or_else(|| KeyError::Corrupt("no \"keys\" list".into()))
}

fn random<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Unavailable(e.to_string().into()))?;
    Ok(bytes)
}

/// Epoch seconds as RFC 3339 UTC (`2027-01-01T00:00:00Z`).
pub fn rfc3339(secs: u64) -> String {
    DateTime::from_secs(secs as i64).fmt(DateTimeFormat::DateTime).unwrap_or_default()
}

/// RFC 3339 (with any offset) as epoch seconds.
pub fn parse_time(text: &str) -> Option<u64> {
    DateTime::from_str(text, DateTimeFormat::DateTimeWithOffset).ok().map(|t| t.secs().max(0) as u64)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::auth::api_key::{KeySource, MemoryKeySecret};

    const NOW: u64 = 1_800_000_000;

    #[tokio::test]
    async fn a_created_key_authenticates_and_is_listed_without_its_hash() {
        let secret = MemoryKeySecret::new(r#"{"keys":[{"id":"k_old","hash":"sha256:00","scopes":[],"note":"mine"}]}"#);
        let (key, created) = create(&secret, "ci", &["tool:call".into()], None, NOW).await.unwrap();
        assert!(super::super::is_well_formed(&key));
        let principal = secret.load().await.unwrap().authenticate(&key, NOW).unwrap();
        assert_eq!(principal.id, format!("key:{}", created["id"].as_str().unwrap()), "principals are namespaced");
        let listed = list(&secret, NOW).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(!serde_json::to_string(&listed).unwrap().contains("sha256"), "{listed:?}");
        assert_eq!(listed[1]["status"], "active");
        // Entries the admin API did not touch keep their own members.
        assert!(secret.text().contains("\"note\": \"mine\""), "{}", secret.text());
    }

    #[tokio::test]
    async fn revoked_keys_are_refused_and_unknown_ids_say_so() {
        let secret = MemoryKeySecret::new(r#"{"keys":[]}"#);
        let (key, created) = create(&secret, "ci", &["*".into()], Some(NOW + 60), NOW).await.unwrap();
        let id = created["id"].as_str().unwrap();
        let revoked = revoke(&secret, id, NOW).await.unwrap().unwrap();
        assert_eq!(revoked["status"], "revoked");
        assert!(secret.load().await.unwrap().authenticate(&key, NOW).is_err());
        assert!(revoke(&secret, "k_nope", NOW).await.unwrap().is_none());
        assert_eq!(summary(&json!({"id": "x", "expiresAt": rfc3339(NOW)}), NOW)["status"], "expired");
    }

    #[tokio::test]
    async fn concurrent_creates_lose_no_key() {
        let secret = Arc::new(MemoryKeySecret::new(r#"{"keys":[]}"#));
        // Every read waits a little, so the writers interleave and most first attempts lose the race.
        secret.set_read_delay(std::time::Duration::from_millis(5));
        let creates: Vec<_> = (0..6)
            .map(|i| {
                let secret = secret.clone();
                tokio::spawn(async move { create(secret.as_ref(), &format!("k{i}"), &[], None, NOW).await.unwrap().0 })
            })
            .collect();
        let mut keys = Vec::new();
        for create in creates {
            keys.push(create.await.unwrap());
        }
        let file = secret.load().await.unwrap();
        assert_eq!(file.len(), 6);
        assert!(keys.iter().all(|k| file.authenticate(k, NOW).is_ok()));
        assert!(secret.conflicts() > 0, "the test must really race");
    }

    #[tokio::test]
    async fn a_secret_that_is_not_a_key_document_is_never_overwritten() {
        let secret = MemoryKeySecret::new(r#"["not", "keys"]"#);
        assert!(matches!(create(&secret, "x", &[], None, NOW).await, Err(KeyError::Corrupt(_))));
        assert_eq!(secret.text(), r#"["not", "keys"]"#);
    }
}
