//! DNS-rebinding guard and CORS. A browser page on another origin must not drive the gateway: a
//! request whose `Origin` is not allowed gets 403 (MCP 2025-11-25), as does one for an unlisted `Host`
//! when `GATEWAY_ALLOWED_HOSTS` is set. Non-browser clients send no `Origin` and pass.

use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use lambda_http::Body;

use super::{request::header, response::empty};
use crate::{Config, GatewayError};

const ALLOWED_HEADERS: &str =
    "content-type, accept, authorization, x-api-key, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id";
const EXPOSED_HEADERS: &str = "mcp-session-id, mcp-protocol-version, www-authenticate, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset";

fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    authority.rsplit_once(':').map_or(authority, |(host, _)| host)
}

/// Rejects requests for unlisted hosts or from disallowed browser origins.
pub fn check_origin(config: &Config, headers: &HeaderMap) -> Result<(), GatewayError> {
    let host = header(headers, header::HOST.as_str()).unwrap_or_default().to_ascii_lowercase();
    if !config.allowed_hosts.is_empty() && !config.allowed_hosts.iter().any(|h| h == host_name(&host)) {
        return Err(GatewayError::ForbiddenHost);
    }
    match header(headers, header::ORIGIN.as_str()) {
        None => Ok(()),
        Some(origin) if origin_allowed(config, &origin.to_ascii_lowercase(), &host) => Ok(()),
        Some(_) => Err(GatewayError::ForbiddenOrigin),
    }
}

fn origin_allowed(config: &Config, origin: &str, host: &str) -> bool {
    if config.allowed_origins.iter().any(|o| o == "*" || o == origin) {
        return true;
    }
    // With no list configured, only the gateway's own origin (same authority as Host) is allowed.
    let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or_default();
    config.allowed_origins.is_empty() && !host.is_empty() && authority == host
}

/// CORS headers for a response to an allowed browser origin.
pub fn cors_headers<B>(headers: &HeaderMap, response: &mut Response<B>) {
    let Some(origin) = headers.get(header::ORIGIN).cloned() else {
        return;
    };
    let out = response.headers_mut();
    out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
    out.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
}

/// Answer to a CORS preflight (`OPTIONS`), after [`check_origin`] passed.
pub fn preflight(headers: &HeaderMap) -> Response<Body> {
    let mut response = empty(StatusCode::NO_CONTENT);
    cors_headers(headers, &mut response);
    let out = response.headers_mut();
    out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, DELETE, OPTIONS"));
    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
    out.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hosts: &str, origins: &str) -> Config {
        Config::from_lookup(|k| match k {
            "GATEWAY_ALLOWED_HOSTS" => Some(hosts.into()),
            "GATEWAY_ALLOWED_ORIGINS" => Some(origins.into()),
            // The built-in demo backends are on loopback.
            "GATEWAY_ALLOW_LOOPBACK_BACKENDS" => Some("1".into()),
            _ => None,
        })
        .unwrap()
    }

    fn headers(host: &'static str, origin: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
        }
        h
    }

    #[test]
    fn same_origin_and_originless_requests_pass() {
        let c = config("", "");
        assert!(check_origin(&c, &headers("localhost:9000", None)).is_ok());
        assert!(check_origin(&c, &headers("localhost:9000", Some("http://localhost:9000"))).is_ok());
        assert!(check_origin(&c, &headers("localhost:9000", Some("http://evil.example.com"))).is_err());
    }

    #[test]
    fn rebinding_hosts_are_refused_when_hosts_are_listed() {
        let c = config("localhost,127.0.0.1,::1", "");
        assert!(check_origin(&c, &headers("evil.example.com", Some("http://evil.example.com"))).is_err());
        assert!(check_origin(&c, &headers("127.0.0.1:9000", None)).is_ok());
        assert!(check_origin(&c, &headers("[::1]:9000", None)).is_ok());
    }

    #[test]
    fn listed_origins_pass_and_others_fail() {
        let c = config("", "https://app.example.com");
        assert!(check_origin(&c, &headers("gw.example.com", Some("https://app.example.com"))).is_ok());
        assert!(check_origin(&c, &headers("gw.example.com", Some("https://gw.example.com"))).is_err());
    }
}
