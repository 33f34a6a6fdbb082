//! The one error type of the gateway and the ONE place it becomes an HTTP status and a JSON-RPC error.
//!
//! Clients get a message they can act on; internal causes (store faults, backend transport details
//! beyond a short reason) go to the logs only.

use http::StatusCode;
use serde_json::{json, Value};

use crate::{
    auth::AuthError,
    backend::BackendError,
    protocol::{version, Era, InvalidMessage, InvalidParams},
    ratelimit::{Decision, LimiterUnavailable},
    store::StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the request Origin is not allowed")]
    ForbiddenOrigin,
    #[error("the request Host is not allowed")]
    ForbiddenHost,
    #[error("Accept must list both application/json and text/event-stream")]
    NotAcceptable,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    #[error("the request body exceeds the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("method not allowed here; use POST")]
    MethodNotAllowed,
    #[error("no such route")]
    RouteNotFound,
    #[error("parse error: the body is not valid JSON")]
    Parse,
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("unsupported MCP-Protocol-Version {0:?}; supported: 2025-03-26, 2025-06-18, 2025-11-25")]
    UnsupportedProtocolVersion(String),
    #[error("the Mcp-Session-Id header is required; send initialize first to get one")]
    SessionRequired,
    #[error("session not found or expired; send initialize to start a new session")]
    SessionNotFound,
    #[error("method not found: {0}")]
    MethodNotFound(String),
    #[error("invalid params: {0}")]
    InvalidParams(String),
    #[error("resource not found: {0}")]
    ResourceNotFound(String),
    #[error("backend {backend:?} is unavailable: {source}")]
    BackendUnavailable {
        backend: String,
        #[source]
        source: BackendError,
    },
    /// A JSON-RPC error a backend returned, passed through unchanged.
    #[error("backend returned an error")]
    BackendRpc(Value),
    #[error("the session store is unavailable; retry shortly")]
    Store(#[from] StoreError),
    #[error("header mismatch: {0}")]
    HeaderMismatch(String),
    #[error("unsupported protocol version {requested:?}")]
    UnsupportedModernVersion { requested: String },
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("rate limit exceeded: {} requests per {} s; retry after {} s", .0.limit, .0.window_secs, .0.retry_after())]
    RateLimited(Decision),
    #[error("the rate limiter is unavailable; retry shortly")]
    LimiterUnavailable(#[from] LimiterUnavailable),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<InvalidMessage> for GatewayError {
    fn from(error: InvalidMessage) -> Self {
        GatewayError::InvalidRequest(error.0)
    }
}

impl From<InvalidParams> for GatewayError {
    fn from(error: InvalidParams) -> Self {
        GatewayError::InvalidParams(error.0)
    }
}

/// How an error goes on the wire.
#[derive(Debug)]
pub struct ErrorMapping {
    pub status: StatusCode,
    /// The JSON-RPC `error` member.
    pub error: Value,
    /// `Allow` header value, for 405.
    pub allow: Option<&'static str>,
}

impl GatewayError {
    /// The single, exhaustive mapping. New variants must be placed here deliberately.
    ///
    /// The modern era (2026-07-28) derives the HTTP status from the JSON-RPC code (400 for request
    /// defects, 404 for unknown methods) and reports a missing resource as -32602.
    pub fn mapping(&self, era: Era) -> ErrorMapping {
        let mut mapping = self.legacy_mapping();
        if era == Era::Modern {
            if matches!(self, GatewayError::ResourceNotFound(_)) {
                mapping.error["code"] = json!(-32602);
            }
            mapping.status = match mapping.error["code"].as_i64() {
                Some(-32700 | -32600 | -32602 | -32020 | -32021 | -32022) => StatusCode::BAD_REQUEST,
                Some(-32601) => StatusCode::NOT_FOUND,
                _ => mapping.status,
            };
        }
        mapping
    }

    fn legacy_mapping(&self) -> ErrorMapping {
        use GatewayError as E;
        let message = self.to_string();
        let (status, code, data) = match self {
            E::ForbiddenOrigin | E::ForbiddenHost => (StatusCode::FORBIDDEN, -32600, None),
            E::NotAcceptable => (StatusCode::NOT_ACCEPTABLE, -32600, None),
            E::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, -32600, None),
            E::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, -32600, None),
            E::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, -32600, None),
            E::RouteNotFound => (StatusCode::NOT_FOUND, -32601, None),
            E::Parse => (StatusCode::BAD_REQUEST, -32700, None),
            E::InvalidRequest(_) | E::SessionRequired => (StatusCode::BAD_REQUEST, -32600, None),
            E::UnsupportedProtocolVersion(v) => {
                (StatusCode::BAD_REQUEST, -32600, Some(json!({ "supported": version::SUPPORTED, "requested": v })))
            }
            // -32001 is in the implementation-defined range; the HTTP 404 is what clients act on.
            E::SessionNotFound => (StatusCode::NOT_FOUND, -32001, None),
            E::MethodNotFound(_) => (StatusCode::OK, -32601, None),
            E::InvalidParams(_) => (StatusCode::OK, -32602, None),
            E::ResourceNotFound(uri) => (StatusCode::OK, -32002, Some(json!({ "uri": uri }))),
            E::BackendUnavailable { .. } => (StatusCode::OK, -32603, None),
            E::BackendRpc(error) => {
                return ErrorMapping { status: StatusCode::OK, error: error.clone(), allow: None };
            }
            E::HeaderMismatch(_) => (StatusCode::BAD_REQUEST, -32020, None),
            E::UnsupportedModernVersion { requested } => {
                (StatusCode::BAD_REQUEST, -32022, Some(json!({ "supported": version::ALL, "requested": requested })))
            }
            E::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, -32603, None),
            // -32000 (implementation-defined): clients act on the HTTP status and WWW-Authenticate.
            E::Auth(AuthError::Missing | AuthError::Invalid(_)) => (StatusCode::UNAUTHORIZED, -32000, None),
            E::Auth(AuthError::InsufficientScope { .. }) => (StatusCode::FORBIDDEN, -32000, None),
            E::Auth(AuthError::Unavailable(_) | AuthError::Refused(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, -32000, None)
            }
            E::RateLimited(d) => (
                StatusCode::TOO_MANY_REQUESTS,
                -32000,
                Some(json!({ "retryAfterSeconds": d.retry_after(), "limit": d.limit, "windowSeconds": d.window_secs })),
            ),
            E::LimiterUnavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, -32000, None),
            E::Internal(_) => {
                // The cause stays in the logs; the client learns only that it was our fault.
                return ErrorMapping {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    error: json!({ "code": -32603, "message": "internal error" }),
                    allow: None,
                };
            }
        };
        let mut error = json!({ "code": code, "message": message });
        if let Some(data) = data {
            error["data"] = data;
        }
        let allow = matches!(self, E::MethodNotAllowed).then_some("POST, DELETE");
        ErrorMapping { status, error, allow }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_errors_map_to_their_status() {
        assert_eq!(GatewayError::NotAcceptable.mapping(Era::Legacy).status, 406);
        assert_eq!(GatewayError::UnsupportedMediaType.mapping(Era::Legacy).status, 415);
        assert_eq!(GatewayError::PayloadTooLarge(1).mapping(Era::Legacy).status, 413);
        assert_eq!(GatewayError::SessionNotFound.mapping(Era::Legacy).status, 404);
        let m = GatewayError::MethodNotAllowed.mapping(Era::Legacy);
        assert_eq!((m.status.as_u16(), m.allow), (405, Some("POST, DELETE")));
    }

    #[test]
    fn modern_era_derives_status_from_the_code() {
        assert_eq!(GatewayError::MethodNotFound("ping".into()).mapping(Era::Modern).status, 404);
        assert_eq!(GatewayError::InvalidParams("x".into()).mapping(Era::Modern).status, 400);
        let m = GatewayError::ResourceNotFound("test://x".into()).mapping(Era::Modern);
        assert_eq!((m.status.as_u16(), m.error["code"].as_i64()), (400, Some(-32602)));
        let m = GatewayError::UnsupportedModernVersion { requested: "2099-01-01".into() }.mapping(Era::Modern);
        assert_eq!(m.error["data"]["requested"], "2099-01-01");
        assert!(m.error["data"]["supported"].as_array().unwrap().contains(&json!("2026-07-28")));
    }

    #[test]
    fn internal_details_are_hidden() {
        let m = GatewayError::Internal("secret path /var/task".into()).mapping(Era::Legacy);
        assert!(!m.error.to_string().contains("secret"));
        let m = GatewayError::Store(StoreError::Corrupt("row 7".into())).mapping(Era::Legacy);
        assert!(!m.error.to_string().contains("row 7"));
    }

    #[test]
    fn backend_errors_pass_through_unchanged() {
        let e = json!({"code": -32602, "message": "Unknown tool: x", "data": {"k": 1}});
        assert_eq!(GatewayError::BackendRpc(e.clone()).mapping(Era::Legacy).error, e);
    }
}
