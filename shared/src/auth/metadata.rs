//! OAuth 2.0 Protected Resource Metadata (RFC 9728): how an MCP client that got a 401 finds out which
//! authorization server issues tokens for this gateway.
//!
//! The metadata URL inserts the well-known segment between the origin and the resource path (RFC 9728
//! §3.1): resource `https://gw.example.com/mcp` → `https://gw.example.com/.well-known/oauth-protected-resource/mcp`.
//! The bare `/.well-known/oauth-protected-resource` is served too, for clients that only try the root.

use serde_json::{json, Map, Value};

use super::AuthConfig;

/// The well-known path prefix of RFC 9728.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The MCP endpoint path, used when the resource URI has to be derived from the request's `Host`.
const MCP_PATH: &str = "/mcp";

/// The canonical resource URI: `GATEWAY_RESOURCE_URI`, or `<scheme>://<Host>/mcp` when it is not set
/// (`http` only for loopback hosts, the local stack; `https` everywhere else).
pub fn resource_uri(cfg: &AuthConfig, request_host: Option<&str>) -> String {
    if let Some(uri) = &cfg.resource_uri {
        return uri.clone();
    }
    match request_host.filter(|h| is_plain_host(h)) {
        Some(host) => format!("{}://{host}{MCP_PATH}", scheme_for(host)),
        // No usable Host (never the case behind API Gateway): a relative reference beats inventing one.
        None => MCP_PATH.to_owned(),
    }
}

/// Where the metadata document of this gateway is served (the `resource_metadata` of 401 challenges).
pub fn metadata_url(cfg: &AuthConfig, request_host: Option<&str>) -> String {
    let resource = resource_uri(cfg, request_host);
    let (origin, path) = split_origin(&resource);
    let path = if path == "/" { "" } else { path };
    format!("{origin}{WELL_KNOWN}{path}")
}

/// Whether `path` is one of the metadata paths this gateway serves (exact match: the route is public,
/// so there is nothing to bypass, but it must not shadow anything either).
pub fn is_metadata_path(cfg: &AuthConfig, request_host: Option<&str>, path: &str) -> bool {
    let url = metadata_url(cfg, request_host);
    let (_, own) = split_origin(&url);
    path == WELL_KNOWN || path == own
}

/// The RFC 9728 document.
pub fn document(cfg: &AuthConfig, request_host: Option<&str>) -> Value {
    let mut doc = Map::new();
    doc.insert("resource".into(), json!(resource_uri(cfg, request_host)));
    if let Some(oauth) = &cfg.oauth {
        doc.insert("authorization_servers".into(), json!(oauth.authorization_servers));
    }
    if !cfg.scopes_supported.is_empty() {
        doc.insert("scopes_supported".into(), json!(cfg.scopes_supported));
    }
    // Tokens only in the Authorization header: query-string tokens end up in logs and caches.
    doc.insert("bearer_methods_supported".into(), json!(["header"]));
    doc.insert("resource_name".into(), json!(cfg.resource_name));
    Value::Object(doc)
}

/// `https://host:port/a/b` → (`https://host:port`, `/a/b`); a relative reference has an empty origin.
fn split_origin(uri: &str) -> (&str, &str) {
    let Some(scheme_end) = uri.find("://").map(|i| i + 3) else {
        return ("", uri);
    };
    match uri[scheme_end..].find('/') {
        Some(i) => uri.split_at(scheme_end + i),
        None => (uri, "/"),
    }
}

/// A `Host` value that can be echoed into a URL and a header: name or IP literal plus optional port.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

fn scheme_for(host: &str) -> &'static str {
    let name = if host.starts_with('[') {
        host.split(']').next().map_or(host, |h| &h[1..])
    } else {
        host.split(':').next().unwrap_or(host)
    };
    if matches!(name, "localhost" | "127.0.0.1" | "::1") {
        "http"
    } else {
        "https"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::testing::{api_key_config, oauth_config};

    #[test]
    fn metadata_url_inserts_well_known_before_the_resource_path() {
        assert_eq!(
            metadata_url(&api_key_config(), Some("ignored.example")),
            "https://gw.example.com/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn without_resource_uri_the_host_is_used() {
        let mut cfg = api_key_config();
        cfg.resource_uri = None;
        assert_eq!(
            metadata_url(&cfg, Some("127.0.0.1:9000")),
            "http://127.0.0.1:9000/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            resource_uri(&cfg, Some("abc.execute-api.us-east-1.amazonaws.com")),
            "https://abc.execute-api.us-east-1.amazonaws.com/mcp"
        );
        // A Host that could inject into the header or URL is not echoed.
        assert_eq!(metadata_url(&cfg, Some("evil\"; x=\"y")), "/.well-known/oauth-protected-resource/mcp");
    }

    #[test]
    fn document_has_the_rfc_9728_fields() {
        let doc = document(&oauth_config(), None);
        assert_eq!(
            doc,
            json!({
                "resource": "https://gw.example.com/mcp",
                "authorization_servers": ["https://id.example.com"],
                "scopes_supported": ["tool:call", "code:execute"],
                "bearer_methods_supported": ["header"],
                "resource_name": "mcp-gateway",
            })
        );
    }

    #[test]
    fn api_key_document_lists_no_authorization_server() {
        let doc = document(&api_key_config(), None);
        assert!(doc.get("authorization_servers").is_none());
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }

    #[test]
    fn both_metadata_paths_are_recognised_exactly() {
        let cfg = api_key_config();
        assert!(is_metadata_path(&cfg, None, "/.well-known/oauth-protected-resource"));
        assert!(is_metadata_path(&cfg, None, "/.well-known/oauth-protected-resource/mcp"));
        assert!(!is_metadata_path(&cfg, None, "/.well-known/oauth-protected-resource/mcp/"));
        assert!(!is_metadata_path(&cfg, None, "/.well-known/OAUTH-protected-resource"));
    }
}
