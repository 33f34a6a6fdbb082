//! `/admin/api/keys`: the API keys in the key secret (still hashed there). `POST` creates one and shows
//! it once (`{"name", "scopes", "expires"?}`; `expires` is `90d`, `12h` or an RFC 3339 time); `GET` lists
//! them without hashes; `DELETE /admin/api/keys/{id}` revokes one. Every instance reloads its keys at its
//! next configuration poll after a change (the `keys` counter of the version item), so a created key
//! works, and a revoked one is refused, everywhere within the poll interval plus one reload.

use ::http::{Response, StatusCode};
use lambda_http::Body;
use serde_json::{json, Value};

use super::{audit, reply, Admin, AdminError};
use crate::{
    auth::{
        api_key::admin::{self as key_admin, parse_time},
        KeyAdmin,
    },
    store::now_secs,
};

fn keys<'a>(admin: &'a Admin<'_>) -> Result<&'a dyn KeyAdmin, AdminError> {
    admin
        .app
        .key_admin
        .as_deref()
        .ok_or_else(|| AdminError::Unavailable("this function may not change API keys".into()))
}

/// Tells every instance (and this one at once) that the keys changed.
async fn announce(admin: &Admin<'_>) {
    admin.app.auth.keys_changed();
    if let Err(error) = admin.app.stored.store().touch_keys().await {
        tracing::error!(%error, "could not announce the key change; instances pick it up at their key refresh");
    }
}

pub(super) async fn list(admin: &Admin<'_>) -> Result<Response<Body>, AdminError> {
    let listed = key_admin::list(keys(admin)?, now_secs()).await?;
    reply(StatusCode::OK, &json!({ "keys": listed }))
}

/// `*`, or `<namespace>:<name>` where the name may end in `*` (the same rule as `infra/create-api-key.py`).
fn valid_scope(scope: &str) -> bool {
    if scope == "*" {
        return true;
    }
    let Some((namespace, name)) = scope.split_once(':') else { return false };
    let mut ns = namespace.chars();
    ns.next().is_some_and(|c| c.is_ascii_lowercase())
        && ns.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '*' | '-'))
}

/// `90d`, `12h` or an RFC 3339 time, in the future.
fn expiry(text: &str, now: u64) -> Option<u64> {
    let relative = |unit: char, secs: u64| {
        text.strip_suffix(unit)
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|n| (1..=36_500).contains(n))
            .map(|n| now + n * secs)
    };
    relative('d', 86_400).or_else(|| relative('h', 3_600)).or_else(|| parse_time(text)).filter(|at| *at > now)
}

pub(super) async fn create(admin: &Admin<'_>) -> Result<Response<Body>, AdminError> {
    let body = admin.body()?;
    let now = now_secs();
    let name = match body.get("name") {
        Some(Value::String(name))
            if !name.trim().is_empty() && name.len() <= 100 && !name.chars().any(char::is_control) =>
        {
            name.trim().to_owned()
        }
        _ => {
            return Err(AdminError::invalid(
                "name",
                "is required: 1-100 printable characters (who or what uses the key)",
            ))
        }
    };
    let Some(Value::Array(given)) = body.get("scopes") else {
        return Err(AdminError::invalid(
            "scopes",
            "is required: a list such as [\"tool:call\"] (grant only what is needed)",
        ));
    };
    if given.is_empty() {
        return Err(AdminError::invalid("scopes", "is empty: a key with no scope can do nothing"));
    }
    let mut scopes = Vec::new();
    for (i, scope) in given.iter().enumerate() {
        match scope.as_str().filter(|s| valid_scope(s)) {
            Some(scope) => scopes.push(scope.to_owned()),
            None => {
                let message = "is not a scope (e.g. \"*\", \"tool:call\", \"tool:demo_add\", \"code:execute\", \"gateway:admin\")";
                return Err(AdminError::invalid(format!("scopes[{i}]"), message));
            }
        }
    }
    let expires_at = match body.get("expires") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(expiry(text, now).ok_or_else(|| {
            AdminError::invalid("expires", "must be e.g. 90d, 12h or 2027-01-01T00:00:00Z, in the future")
        })?),
        Some(_) => return Err(AdminError::invalid("expires", "must be a string such as 90d")),
    };
    if let Some(other) = body.keys().find(|k| !matches!(k.as_str(), "name" | "scopes" | "expires")) {
        return Err(AdminError::invalid(other.clone(), "is not a key setting (name, scopes, expires)"));
    }
    let (key, summary) = key_admin::create(keys(admin)?, &name, &scopes, expires_at, now).await?;
    announce(admin).await;
    let id = summary["id"].as_str().unwrap_or_default().to_owned();
    audit::record(admin, "key.create", &id, json!({ "name": name, "scopes": scopes })).await;
    let mut shown = summary;
    // The only time the key exists outside the caller: it is stored hashed.
    shown["key"] = json!(key);
    reply(StatusCode::CREATED, &shown)
}

pub(super) async fn revoke(admin: &Admin<'_>, id: &str) -> Result<Response<Body>, AdminError> {
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(AdminError::invalid("id", "must be a key id such as k_0123456789abcdef"));
    }
    let revoked = key_admin::revoke(keys(admin)?, id, now_secs())
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no key {id:?}")))?;
    announce(admin).await;
    audit::record(admin, "key.revoke", id, json!({})).await;
    reply(StatusCode::OK, &revoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_follow_the_key_script() {
        for ok in ["*", "tool:call", "tool:gh_*", "gateway:admin", "code:execute", "pii:raw"] {
            assert!(valid_scope(ok), "{ok}");
        }
        for bad in ["", "tool", "tool:", "Tool:x", ":x", "tool:a b", "tool:<img>"] {
            assert!(!valid_scope(bad), "{bad}");
        }
    }

    #[test]
    fn expiry_is_relative_or_absolute_and_in_the_future() {
        assert_eq!(expiry("2d", 100), Some(100 + 2 * 86_400));
        assert_eq!(expiry("12h", 100), Some(100 + 12 * 3_600));
        assert_eq!(expiry("2100-01-01T00:00:00Z", 100), Some(4_102_444_800));
        assert_eq!(expiry("2000-01-01T00:00:00Z", 1_800_000_000), None);
        assert_eq!(expiry("0d", 100), None);
        assert_eq!(expiry("soon", 100), None);
    }
}
