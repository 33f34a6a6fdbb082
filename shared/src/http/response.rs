//! Building responses. Every response carries the same security headers.

use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use lambda_http::Body;
use serde_json::Value;

use crate::{
    protocol::{jsonrpc, Era},
    GatewayError,
};

/// The headers every response carries, whatever built it.
pub(super) fn secure(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}

fn secured(status: StatusCode, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    secure(response.headers_mut());
    response
}

/// A body of `content_type` (text of any kind: TypeScript declarations, the Prometheus exposition).
pub fn text(status: StatusCode, content_type: &'static str, text: String) -> Response<Body> {
    let mut response = secured(status, Body::Text(text));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `status` with the `Allow` header (405, or the methods of a preflight).
pub fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = json(StatusCode::METHOD_NOT_ALLOWED, &serde_json::json!({ "error": format!("use {allow}") }));
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

pub fn json(status: StatusCode, value: &Value) -> Response<Body> {
    // Straight into a buffer (`to_string` goes through `fmt::Write`); a `Value` always serializes.
    let text = serde_json::to_string(value).unwrap_or_default();
    let mut response = secured(status, Body::Text(text));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub fn empty(status: StatusCode) -> Response<Body> {
    secured(status, Body::Empty)
}

/// An error as a JSON-RPC error response keeping the request `id` (null when it could not be read).
pub fn error(err: &GatewayError, id: &Value, era: Era) -> Response<Body> {
    let mapping = err.mapping(era);
    if mapping.status.is_server_error() {
        tracing::error!(error = %err, source = ?std::error::Error::source(err), "request failed");
    }
    let mut response = json(mapping.status, &jsonrpc::failure(id, mapping.error));
    if let Some(allow) = mapping.allow {
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    // A refusal carries the state of the limit that refused it (which `finish` then leaves alone).
    if let GatewayError::RateLimited(decision) = err {
        decision.apply(response.headers_mut());
    }
    response
}
