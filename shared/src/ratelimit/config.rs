//! Rate-limit policy from the environment. Every error names the variable and the bad value.

use std::collections::BTreeMap;

use crate::config::ConfigError;

/// What to do when the counter store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureMode {
    /// Refuse with 503 (default: a limiter that silently stops limiting is a hole).
    Closed,
    /// Allow, and log a `ratelimit_store_unavailable` warning to alarm on.
    Open,
}

#[derive(Debug, Clone)]
pub struct RateLimitConfig {
    /// `RATE_LIMIT_ENABLED` (default on).
    pub enabled: bool,
    /// `RATE_LIMIT_WINDOW_SECS` (default 60).
    pub window_secs: u64,
    /// Requests per window per authenticated principal (`RATE_LIMIT_PER_PRINCIPAL`, default 600).
    pub per_principal: u64,
    /// Requests per window per client IP for anonymous traffic (`RATE_LIMIT_ANONYMOUS`, default 120).
    pub anonymous: u64,
    /// Failed authentications per window per client IP (`RATE_LIMIT_AUTH_FAILURES`, default 20): key guessing.
    pub auth_failures: u64,
    /// Tighter per-principal limits for single tools (`RATE_LIMIT_TOOLS`, JSON `{"<exposed name>": n}`).
    pub tools: BTreeMap<String, u64>,
    /// `RATE_LIMIT_FAILURE_MODE` = `closed` (default) | `open`.
    pub failure_mode: FailureMode,
    /// Take the client IP from the first `X-Forwarded-For` entry (`RATE_LIMIT_TRUST_FORWARDED_FOR=1`).
    /// Off by default: the header is client-controlled unless a trusted proxy sets it.
    pub trust_forwarded_for: bool,
}

impl RateLimitConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &str| lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let invalid = |var: &'static str, value: String, reason: &str| ConfigError::Invalid {
            var,
            value,
            reason: reason.to_owned(),
        };
        let number = |var: &'static str, default: u64, max: u64| match get(var) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| invalid(var, v, &format!("expected a whole number from 1 to {max}"))),
        };
        let flag = |var: &'static str, default: bool| match get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "on" | "yes") => Ok(true),
            Some("0" | "false" | "off" | "no") => Ok(false),
            Some(other) => Err(invalid(var, other.to_owned(), "expected 1/0, true/false, on/off")),
        };
        let failure_mode = match get("RATE_LIMIT_FAILURE_MODE").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("closed") => FailureMode::Closed,
            Some("open") => FailureMode::Open,
            Some(other) => return Err(invalid("RATE_LIMIT_FAILURE_MODE", other.to_owned(), "expected closed or open")),
        };
        let tools = match get("RATE_LIMIT_TOOLS") {
            None => BTreeMap::new(),
            Some(json) => serde_json::from_str(&json).map_err(|_| {
                invalid("RATE_LIMIT_TOOLS", json, "expected a JSON object of tool name to whole number")
            })?,
        };
        Ok(Self {
            enabled: flag("RATE_LIMIT_ENABLED", true)?,
            window_secs: number("RATE_LIMIT_WINDOW_SECS", 60, 86_400)?,
            per_principal: number("RATE_LIMIT_PER_PRINCIPAL", 600, 1_000_000)?,
            anonymous: number("RATE_LIMIT_ANONYMOUS", 120, 1_000_000)?,
            auth_failures: number("RATE_LIMIT_AUTH_FAILURES", 20, 1_000_000)?,
            tools,
            failure_mode,
            trust_forwarded_for: flag("RATE_LIMIT_TRUST_FORWARDED_FOR", false)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<RateLimitConfig, ConfigError> {
        RateLimitConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_are_on_and_fail_closed() {
        let c = config(&[]).unwrap();
        assert!(c.enabled && c.failure_mode == FailureMode::Closed && !c.trust_forwarded_for);
        assert_eq!((c.window_secs, c.per_principal), (60, 600));
    }

    #[test]
    fn errors_name_the_variable() {
        let err = config(&[("RATE_LIMIT_TOOLS", "[1]")]).unwrap_err().to_string();
        assert!(err.contains("RATE_LIMIT_TOOLS"), "{err}");
        let err = config(&[("RATE_LIMIT_FAILURE_MODE", "sometimes")]).unwrap_err().to_string();
        assert!(err.contains("RATE_LIMIT_FAILURE_MODE") && err.contains("sometimes"), "{err}");
        assert_eq!(config(&[("RATE_LIMIT_TOOLS", r#"{"demo_add": 3}"#)]).unwrap().tools["demo_add"], 3);
    }
}
