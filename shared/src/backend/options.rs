//! Gateway-wide backend settings from the environment: what the SSRF guard allows, breaker defaults,
//! how many exchanges may be in flight, how long lists and credentials are cached.

use std::time::Duration;

use super::{
    credentials::{SecretScope, DEFAULT_SECRETS_PREFIX},
    BreakerSettings, Defaults, NetworkPolicy,
};

/// A bad variable: `(name, value, reason)`.
pub type OptionError = (&'static str, String, String);

#[derive(Debug, Clone)]
pub struct BackendOptions {
    /// `GATEWAY_ALLOW_PRIVATE_BACKENDS` / `GATEWAY_ALLOW_LOOPBACK_BACKENDS`; also applies to token and
    /// JWKS URLs.
    pub network: NetworkPolicy,
    /// `GATEWAY_BREAKER_FAILURES`, `_WINDOW_SECS`, `_OPEN_SECS`, `_HALF_OPEN_SUCCESSES`; a backend's
    /// `circuitBreaker` object overrides them.
    pub breaker: BreakerSettings,
    /// `GATEWAY_BACKEND_CONCURRENCY` (default 16): backend exchanges in flight per instance, which bounds
    /// the fan-out of list methods over many backends.
    pub concurrency: usize,
    /// `GATEWAY_LIST_CACHE_SECS` (default 30, 0 = off): how long backend list pages are reused.
    pub list_cache_ttl: Duration,
    /// `GATEWAY_BACKEND_SECRETS_REFRESH_SECS` (default 300): how long a backend secret is trusted before
    /// it is read again (the bound on how long a rotated secret takes to be picked up).
    pub secrets_ttl: Duration,
    /// `GATEWAY_BACKEND_SECRETS_PREFIX` (default `mcp-gateway/backends/`): the only secrets a backend's
    /// `auth` may name; never the gateway's own (`API_KEYS_SECRET_ID`, `PII_KEY_SECRET_ID`).
    pub secrets: SecretScope,
    /// `GATEWAY_MAX_BACKEND_STREAM_BYTES` (default 64 MiB): everything one streamed exchange or event
    /// stream may read from a backend (each event is still bounded by its `maxResponseBytes`).
    pub max_stream_bytes: usize,
}

impl BackendOptions {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, OptionError> {
        let network = NetworkPolicy::from_lookup(get)
            .map_err(|(var, value)| (var, value, "expected 1, true, 0 or false".to_owned()))?;
        let defaults = BreakerSettings::default();
        let breaker = BreakerSettings {
            failure_threshold: number(get, "GATEWAY_BREAKER_FAILURES", defaults.failure_threshold.into(), 1..=1000)?
                as u32,
            window: secs(get, "GATEWAY_BREAKER_WINDOW_SECS", defaults.window, 1..=3600)?,
            open_for: secs(get, "GATEWAY_BREAKER_OPEN_SECS", defaults.open_for, 1..=3600)?,
            half_open_successes: number(
                get,
                "GATEWAY_BREAKER_HALF_OPEN_SUCCESSES",
                defaults.half_open_successes.into(),
                1..=100,
            )? as u32,
        };
        const PREFIX: &str = "GATEWAY_BACKEND_SECRETS_PREFIX";
        let prefix = get(PREFIX).unwrap_or_else(|| DEFAULT_SECRETS_PREFIX.to_owned());
        // The gateway's own secrets, with the defaults their readers use.
        let reserved = vec![
            get("API_KEYS_SECRET_ID").unwrap_or_else(|| "mcp-gateway/api-keys".into()),
            get("PII_KEY_SECRET_ID").unwrap_or_else(|| "mcp-gateway/pii-key".into()),
        ];
        let secrets = SecretScope::new(&prefix, reserved).map_err(|reason| (PREFIX, prefix.clone(), reason))?;
        Ok(Self {
            network,
            secrets,
            breaker,
            concurrency: number(get, "GATEWAY_BACKEND_CONCURRENCY", 16, 1..=256)? as usize,
            list_cache_ttl: secs(get, "GATEWAY_LIST_CACHE_SECS", Duration::from_secs(30), 0..=3600)?,
            secrets_ttl: secs(get, "GATEWAY_BACKEND_SECRETS_REFRESH_SECS", Duration::from_secs(300), 1..=86_400)?,
            max_stream_bytes: number(get, "GATEWAY_MAX_BACKEND_STREAM_BYTES", 64 << 20, 1024..=1 << 30)? as usize,
        })
    }

    /// What every backend gets unless its own configuration says otherwise.
    pub fn defaults(&self, max_response_bytes: usize) -> Defaults {
        Defaults { network: self.network, max_response_bytes, breaker: self.breaker, secrets: self.secrets.clone() }
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, OptionError> {
    let Some(value) = get(var) else { return Ok(default) };
    match value.trim().parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err((var, value, format!("expected a whole number from {} to {}", range.start(), range.end()))),
    }
}

fn secs(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: Duration,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, OptionError> {
    number(get, var, default.as_secs(), range).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(vars: &[(&str, &str)]) -> Result<BackendOptions, OptionError> {
        BackendOptions::from_lookup(&|k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_follow_the_reference_breaker() {
        let o = options(&[]).unwrap();
        assert_eq!(o.breaker, BreakerSettings::default());
        assert_eq!((o.concurrency, o.list_cache_ttl), (16, Duration::from_secs(30)));
        assert_eq!(o.network, NetworkPolicy::default());
    }

    #[test]
    fn environment_overrides_and_bad_values_name_the_variable() {
        let o = options(&[
            ("GATEWAY_BREAKER_FAILURES", "3"),
            ("GATEWAY_BREAKER_OPEN_SECS", "2"),
            ("GATEWAY_LIST_CACHE_SECS", "0"),
        ])
        .unwrap();
        assert_eq!((o.breaker.failure_threshold, o.breaker.open_for), (3, Duration::from_secs(2)));
        assert!(o.list_cache_ttl.is_zero());
        assert_eq!(options(&[("GATEWAY_BREAKER_FAILURES", "0")]).unwrap_err().0, "GATEWAY_BREAKER_FAILURES");
        assert_eq!(
            options(&[("GATEWAY_ALLOW_LOOPBACK_BACKENDS", "yes")]).unwrap_err().0,
            "GATEWAY_ALLOW_LOOPBACK_BACKENDS"
        );
        let covering = [("GATEWAY_BACKEND_SECRETS_PREFIX", "s/"), ("PII_KEY_SECRET_ID", "s/pii-key")];
        let err = options(&covering).unwrap_err();
        assert_eq!(err.0, "GATEWAY_BACKEND_SECRETS_PREFIX");
        assert!(err.2.contains("s/pii-key"), "{err:?}");
    }
}
