//! Rate-limit policy from the environment. Every error names the variable and the bad value.

use std::collections::BTreeMap;

use crate::env::{Env, EnvError};

/// What to do when the counter store cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureMode {
    /// Refuse with 503 (default: a limiter that silently stops limiting is a hole).
    Closed,
    /// Allow, and log a `ratelimit_store_unavailable` warning to alarm on.
    Open,
}

/// How an instance charges the shared counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitMode {
    /// One conditional `UpdateItem` per request (default): the count is exact at every moment.
    Exact,
    /// Each instance takes a slice of a key's window with one conditional write and spends it locally;
    /// never more than the limit is admitted across instances (see `ratelimit::lease`).
    Leased,
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
    /// Requests per window per client IP on the public routes (`RATE_LIMIT_PUBLIC`, default 60), counted
    /// per instance (see `PublicLimiter`).
    pub public: u64,
    /// Tighter per-principal limits for single tools (`RATE_LIMIT_TOOLS`, JSON `{"<exposed name>": n}`).
    pub tools: BTreeMap<String, u64>,
    /// `RATE_LIMIT_FAILURE_MODE` = `closed` (default) | `open`.
    pub failure_mode: FailureMode,
    /// `RATE_LIMIT_MODE` = `exact` (default) | `leased`.
    pub mode: LimitMode,
    /// Proxies in front of API Gateway that append the caller's address to `X-Forwarded-For`
    /// (`RATE_LIMIT_TRUST_FORWARDED_FOR`, default 0). The client address is the entry the outermost trusted
    /// proxy appended — the N-th from the right — never one further left, which the client wrote itself.
    pub trusted_proxy_hops: usize,
}

impl RateLimitConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let env = Env::new(lookup);
        let failure_mode = match env.get("RATE_LIMIT_FAILURE_MODE").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("closed") => FailureMode::Closed,
            Some("open") => FailureMode::Open,
            Some(other) => return Err(EnvError::new("RATE_LIMIT_FAILURE_MODE", other, "expected closed or open")),
        };
        let mode = match env.get("RATE_LIMIT_MODE").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("exact") => LimitMode::Exact,
            Some("leased") => LimitMode::Leased,
            Some(other) => return Err(EnvError::new("RATE_LIMIT_MODE", other, "expected exact or leased")),
        };
        let tools = match env.get("RATE_LIMIT_TOOLS") {
            None => BTreeMap::new(),
            Some(json) => serde_json::from_str(&json).map_err(|_| {
                EnvError::new("RATE_LIMIT_TOOLS", json, "expected a JSON object of tool name to whole number")
            })?,
        };
        Ok(Self {
            enabled: env.flag("RATE_LIMIT_ENABLED", true)?,
            window_secs: env.number("RATE_LIMIT_WINDOW_SECS", 60, 1..=86_400)?,
            per_principal: env.number("RATE_LIMIT_PER_PRINCIPAL", 600, 1..=1_000_000)?,
            anonymous: env.number("RATE_LIMIT_ANONYMOUS", 120, 1..=1_000_000)?,
            auth_failures: env.number("RATE_LIMIT_AUTH_FAILURES", 20, 1..=1_000_000)?,
            public: env.number("RATE_LIMIT_PUBLIC", 60, 1..=1_000_000)?,
            tools,
            failure_mode,
            mode,
            trusted_proxy_hops: trusted_hops(&env)?,
        })
    }
}

/// `RATE_LIMIT_TRUST_FORWARDED_FOR`: how many proxies in front of the gateway append to `X-Forwarded-For`
/// (`0`/off: none, the header is ignored; `1`/on: one, e.g. a CDN in front of API Gateway).
fn trusted_hops(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<usize, EnvError> {
    const VAR: &str = "RATE_LIMIT_TRUST_FORWARDED_FOR";
    match env.get(VAR).map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("0" | "false" | "off" | "no") => Ok(0),
        Some("true" | "on" | "yes") => Ok(1),
        Some(_) => Ok(env.number(VAR, 0, 0..=10)? as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<RateLimitConfig, EnvError> {
        RateLimitConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_are_on_and_fail_closed() {
        let c = config(&[]).unwrap();
        assert!(c.enabled && c.failure_mode == FailureMode::Closed && c.trusted_proxy_hops == 0);
        assert_eq!(c.mode, LimitMode::Exact);
        assert_eq!((c.window_secs, c.per_principal), (60, 600));
    }

    #[test]
    fn errors_name_the_variable() {
        let err = config(&[("RATE_LIMIT_TOOLS", "[1]")]).unwrap_err().to_string();
        assert!(err.contains("RATE_LIMIT_TOOLS"), "{err}");
        let err = config(&[("RATE_LIMIT_FAILURE_MODE", "sometimes")]).unwrap_err().to_string();
        assert!(err.contains("RATE_LIMIT_FAILURE_MODE") && err.contains("sometimes"), "{err}");
        let err = config(&[("RATE_LIMIT_MODE", "lazy")]).unwrap_err().to_string();
        assert!(err.contains("RATE_LIMIT_MODE") && err.contains("lazy"), "{err}");
        assert_eq!(config(&[("RATE_LIMIT_MODE", "Leased")]).unwrap().mode, LimitMode::Leased);
        assert_eq!(config(&[("RATE_LIMIT_TOOLS", r#"{"demo_add": 3}"#)]).unwrap().tools["demo_add"], 3);
    }

    #[test]
    fn forwarded_for_trust_is_a_count_of_proxies() {
        let hops = |v: &str| config(&[("RATE_LIMIT_TRUST_FORWARDED_FOR", v)]).map(|c| c.trusted_proxy_hops);
        assert_eq!((hops("0"), hops("off"), hops("1"), hops("on"), hops("2")), (Ok(0), Ok(0), Ok(1), Ok(1), Ok(2)));
        assert!(hops("11").is_err() && hops("many").is_err());
    }
}
