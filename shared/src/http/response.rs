//! Building responses. Every response carries the same security headers.

use http::{header, HeaderValue, Response, StatusCode};
use lambda_http::Body;
use serde_json::Value;

use crate::{
    mcp::{jsonrpc, version::Era},
    GatewayError,
};

fn secured(status: StatusCode, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

pub fn json(status: StatusCode, value: &Value) -> Response<Body> {
    let mut response = secured(status, Body::Text(value.to_string()));
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
    if let GatewayError::RateLimited(decision) = err {
        decision.apply(response.headers_mut());
    }
    response
}
