//! Auth configuration, parsed once per cold start. Every error names the variable and the bad value.

use std::time::Duration;

use http::Uri;
use jsonwebtoken::{Algorithm, AlgorithmFamily};

use crate::backend::NetworkPolicy;

/// Why the auth configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    #[error("{var}: {value:?} is not valid: {reason}")]
    Invalid { var: &'static str, value: String, reason: String },
    #[error("{var} is required when {because}")]
    Missing { var: &'static str, because: &'static str },
    /// Wiring mistake: `Authenticator::new` in oauth mode without a `JwksClient`.
    #[error("AUTH_MODE=oauth needs a JWKS client (OAUTH_JWKS_URI)")]
    NoJwksClient,
    #[error("OAUTH_JWKS_URI: cannot build the HTTP client: {0}")]
    JwksClient(#[source] reqwest::Error),
}

/// How callers authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// No authentication. Sensitive routes are refused unless `ALLOW_INSECURE` opts in.
    None,
    /// API keys from Secrets Manager (`Authorization: Bearer` or `X-API-Key`).
    ApiKey,
    /// OAuth 2.1 resource server: a Bearer JWT verified against the issuer's JWKS.
    OAuth,
}

/// The OAuth resource-server settings (only in `oauth` mode).
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// Expected `iss` (`OAUTH_ISSUER`).
    pub issuer: String,
    /// Where the issuer publishes its signing keys (`OAUTH_JWKS_URI`).
    pub jwks_uri: String,
    /// Expected `aud` (`OAUTH_AUDIENCE`, default the resource URI): a token minted for another resource
    /// must not be replayable here (RFC 8707, MCP authorization spec).
    pub audience: String,
    /// Accepted signature algorithms (`OAUTH_ALGORITHMS`, default RS256). Never `none`, never HMAC.
    pub algorithms: Vec<Algorithm>,
    /// Advertised in the RFC 9728 metadata (`OAUTH_AUTHORIZATION_SERVERS`, default the issuer).
    pub authorization_servers: Vec<String>,
}

/// Everything the `auth` module needs to know.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `AUTH_MODE`: `none`, `api-key` (default) or `oauth`.
    pub mode: AuthMode,
    /// `ALLOW_INSECURE` (`1`/`true`): the explicit opt-in that lets mode `none` serve sensitive routes.
    pub allow_insecure: bool,
    /// Secrets Manager secret holding the hashed API keys (`API_KEYS_SECRET_ID`).
    pub api_keys_secret_id: String,
    /// How long loaded API keys are trusted before a refresh (`API_KEYS_REFRESH_SECS`, default 300):
    /// the bound on how long a revoked key keeps working.
    pub api_keys_refresh: Duration,
    /// Canonical URI of this gateway's MCP endpoint (`GATEWAY_RESOURCE_URI`, e.g.
    /// `https://gw.example.com/mcp`). Required for `oauth`; otherwise derived from the request's Host.
    pub resource_uri: Option<String>,
    /// `resource_name` in the RFC 9728 metadata (`GATEWAY_NAME`).
    pub resource_name: String,
    /// `scopes_supported` in the metadata and in 401 challenges (`OAUTH_SCOPES_SUPPORTED`).
    pub scopes_supported: Vec<String>,
    /// Set in `oauth` mode only.
    pub oauth: Option<OAuthConfig>,
    /// Which addresses the JWKS may be fetched from (`GATEWAY_ALLOW_PRIVATE_BACKENDS`,
    /// `GATEWAY_ALLOW_LOOPBACK_BACKENDS`): the SSRF guard the backends use.
    pub network: NetworkPolicy,
}

impl AuthConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, AuthConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, AuthConfigError> {
        let get = |var: &str| lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mode = match get("AUTH_MODE").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("api-key") => AuthMode::ApiKey,
            Some("oauth") => AuthMode::OAuth,
            Some("none") => AuthMode::None,
            Some(other) => return Err(invalid("AUTH_MODE", other, "expected none, api-key or oauth")),
        };
        let allow_insecure = match get("ALLOW_INSECURE").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(other) => return Err(invalid("ALLOW_INSECURE", other, "expected 1, true, 0 or false")),
        };
        let refresh = match get("API_KEYS_REFRESH_SECS") {
            None => 300,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (1..=86_400).contains(&n) => n,
                _ => return Err(invalid("API_KEYS_REFRESH_SECS", &v, "expected seconds from 1 to 86400")),
            },
        };
        let resource_uri = get("GATEWAY_RESOURCE_URI").map(|v| checked_url("GATEWAY_RESOURCE_URI", v)).transpose()?;
        let network = NetworkPolicy::from_lookup(get)
            .map_err(|(var, value)| invalid(var, &value, "expected 1, true, 0 or false"))?;
        let oauth = match mode {
            AuthMode::OAuth => Some(oauth(&get, resource_uri.as_deref(), &network)?),
            AuthMode::None | AuthMode::ApiKey => None,
        };
        Ok(Self {
            mode,
            allow_insecure,
            api_keys_secret_id: get("API_KEYS_SECRET_ID").unwrap_or_else(|| "mcp-gateway/api-keys".into()),
            api_keys_refresh: Duration::from_secs(refresh),
            resource_uri,
            resource_name: get("GATEWAY_NAME").unwrap_or_else(|| "mcp-gateway".into()),
            scopes_supported: list(get("OAUTH_SCOPES_SUPPORTED")),
            oauth,
            network,
        })
    }

    /// Why sensitive routes must be refused, if they must: mode `none` without the `ALLOW_INSECURE`
    /// opt-in. Meant for the 503 body and for one log line at cold start.
    pub fn insecure_refusal(&self) -> Option<&'static str> {
        (self.mode == AuthMode::None && !self.allow_insecure).then_some(
            "authentication is disabled (AUTH_MODE=none) without ALLOW_INSECURE=1; \
             set AUTH_MODE=api-key or oauth, or opt in with ALLOW_INSECURE=1 on a trusted network",
        )
    }
}

fn oauth(
    get: &impl Fn(&str) -> Option<String>,
    resource_uri: Option<&str>,
    network: &NetworkPolicy,
) -> Result<OAuthConfig, AuthConfigError> {
    const BECAUSE: &str = "AUTH_MODE=oauth";
    let require = |var: &'static str| get(var).ok_or(AuthConfigError::Missing { var, because: BECAUSE });
    let resource = resource_uri.ok_or(AuthConfigError::Missing { var: "GATEWAY_RESOURCE_URI", because: BECAUSE })?;
    let issuer = checked_url("OAUTH_ISSUER", require("OAUTH_ISSUER")?)?;
    let jwks_uri = checked_url("OAUTH_JWKS_URI", require("OAUTH_JWKS_URI")?)?;
    // The gateway fetches this URL itself: the SSRF guard applies (metadata, private, loopback).
    network.check_url_str(&jwks_uri).map_err(|reason| invalid("OAUTH_JWKS_URI", &jwks_uri, &reason))?;
    let algorithms = algorithms(get("OAUTH_ALGORITHMS"))?;
    let mut authorization_servers = list(get("OAUTH_AUTHORIZATION_SERVERS"));
    for server in &authorization_servers {
        checked_url("OAUTH_AUTHORIZATION_SERVERS", server.clone())?;
    }
    if authorization_servers.is_empty() {
        authorization_servers.push(issuer.clone());
    }
    Ok(OAuthConfig {
        audience: get("OAUTH_AUDIENCE").unwrap_or_else(|| resource.to_owned()),
        issuer,
        jwks_uri,
        algorithms,
        authorization_servers,
    })
}

fn algorithms(value: Option<String>) -> Result<Vec<Algorithm>, AuthConfigError> {
    const VAR: &str = "OAUTH_ALGORITHMS";
    let Some(value) = value else {
        return Ok(vec![Algorithm::RS256]);
    };
    let mut algorithms = Vec::new();
    for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if name.eq_ignore_ascii_case("none") {
            return Err(invalid(VAR, &value, "\"none\" would accept unsigned tokens"));
        }
        let algorithm: Algorithm =
            name.parse().map_err(|_| invalid(VAR, &value, &format!("unknown algorithm {name:?}")))?;
        // Keys come from a public JWKS: an HMAC "key" there would be a secret everyone can read, and
        // allowing HS* next to RS* is the classic key-confusion hole (HS256 signed with the public key).
        if algorithm.family() == AlgorithmFamily::Hmac {
            return Err(invalid(
                VAR,
                &value,
                &format!("{name} is symmetric; only asymmetric algorithms verifiable with the JWKS are accepted"),
            ));
        }
        if !algorithms.contains(&algorithm) {
            algorithms.push(algorithm);
        }
    }
    if algorithms.is_empty() {
        return Err(invalid(VAR, &value, "no algorithm given"));
    }
    Ok(algorithms)
}

/// An absolute `https` URL (plain `http` only on loopback, for the local stack), without fragment or
/// query: RFC 8707 resource indicators and issuer identifiers must not carry them.
fn checked_url(var: &'static str, value: String) -> Result<String, AuthConfigError> {
    let uri: Uri = value.parse().map_err(|_| invalid(var, &value, "not a URL"))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(invalid(var, &value, "not an absolute URL"));
    };
    let loopback = matches!(authority.host(), "localhost" | "127.0.0.1" | "[::1]");
    if !(scheme == "https" || scheme == "http" && loopback) {
        return Err(invalid(var, &value, "must be https (http only on loopback)"));
    }
    if value.contains('#') || uri.query().is_some() {
        return Err(invalid(var, &value, "must not have a query or fragment"));
    }
    Ok(value)
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .map(|v| v.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn invalid(var: &'static str, value: &str, reason: &str) -> AuthConfigError {
    AuthConfigError::Invalid { var, value: value.to_owned(), reason: reason.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<AuthConfig, AuthConfigError> {
        AuthConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    const OAUTH: [(&str, &str); 4] = [
        ("AUTH_MODE", "oauth"),
        ("GATEWAY_RESOURCE_URI", "https://gw.example.com/mcp"),
        ("OAUTH_ISSUER", "https://id.example.com"),
        ("OAUTH_JWKS_URI", "https://id.example.com/jwks.json"),
    ];

    fn oauth_with(extra: (&'static str, &'static str)) -> Result<AuthConfig, AuthConfigError> {
        let mut vars = OAUTH.to_vec();
        vars.push(extra);
        config(&vars)
    }

    fn error_of(result: Result<AuthConfig, AuthConfigError>) -> String {
        result.map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn defaults_to_api_keys() {
        let c = config(&[]).unwrap();
        assert_eq!(c.mode, AuthMode::ApiKey);
        assert_eq!(c.api_keys_secret_id, "mcp-gateway/api-keys");
        assert_eq!(c.api_keys_refresh, Duration::from_secs(300));
        assert!(c.insecure_refusal().is_none());
    }

    #[test]
    fn none_without_opt_in_is_refused_with_a_reason() {
        let c = config(&[("AUTH_MODE", "none")]).unwrap();
        assert!(c.insecure_refusal().unwrap().contains("ALLOW_INSECURE"));
        let c = config(&[("AUTH_MODE", "none"), ("ALLOW_INSECURE", "1")]).unwrap();
        assert!(c.insecure_refusal().is_none());
    }

    #[test]
    fn oauth_defaults_audience_to_resource_and_servers_to_issuer() {
        let c = config(&OAUTH).unwrap();
        let o = c.oauth.unwrap();
        assert_eq!(o.audience, "https://gw.example.com/mcp");
        assert_eq!(o.authorization_servers, ["https://id.example.com"]);
        assert_eq!(o.algorithms, [Algorithm::RS256]);
    }

    #[test]
    fn bad_values_name_the_variable_and_value() {
        for (vars, needles) in [
            (vec![("AUTH_MODE", "basic")], ["AUTH_MODE", "basic"]),
            (vec![("ALLOW_INSECURE", "yes please")], ["ALLOW_INSECURE", "yes please"]),
            (vec![("API_KEYS_REFRESH_SECS", "0")], ["API_KEYS_REFRESH_SECS", "\"0\""]),
            (vec![("GATEWAY_RESOURCE_URI", "http://gw.example.com/mcp")], ["GATEWAY_RESOURCE_URI", "https"]),
            (vec![("GATEWAY_RESOURCE_URI", "https://gw.example.com/mcp#x")], ["GATEWAY_RESOURCE_URI", "fragment"]),
        ] {
            let err = error_of(config(&vars));
            assert!(needles.iter().all(|n| err.contains(n)), "{err}");
        }
    }

    #[test]
    fn oauth_requires_resource_issuer_and_jwks() {
        for missing in ["GATEWAY_RESOURCE_URI", "OAUTH_ISSUER", "OAUTH_JWKS_URI"] {
            let vars: Vec<_> = OAUTH.iter().copied().filter(|(k, _)| *k != missing).collect();
            let err = error_of(config(&vars));
            assert!(err.contains(missing) && err.contains("AUTH_MODE=oauth"), "{err}");
        }
    }

    #[test]
    fn algorithm_none_and_hmac_are_refused() {
        for value in ["none", "RS256,none", "HS256", "RS256,HS256", "XS999", ",,"] {
            let err = error_of(oauth_with(("OAUTH_ALGORITHMS", value)));
            assert!(err.contains("OAUTH_ALGORITHMS") && err.contains(value), "{err}");
        }
        let c = oauth_with(("OAUTH_ALGORITHMS", "RS256, ES256,PS256")).unwrap();
        assert_eq!(c.oauth.unwrap().algorithms, [Algorithm::RS256, Algorithm::ES256, Algorithm::PS256]);
    }

    #[test]
    fn loopback_may_use_plain_http() {
        let c = config(&[("GATEWAY_RESOURCE_URI", "http://127.0.0.1:9000/mcp")]).unwrap();
        assert_eq!(c.resource_uri.as_deref(), Some("http://127.0.0.1:9000/mcp"));
    }
}
