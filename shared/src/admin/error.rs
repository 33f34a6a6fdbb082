//! The admin API's errors: JSON `{"error": "...", "field": "..."}` with the HTTP status a script can act
//! on. Admission failures (origin, authentication, scope, rate limits) keep the gateway's own mapping.

use ::http::{header, HeaderValue, StatusCode};
use lambda_http::Body;
use serde_json::{json, Value};

use crate::{auth::KeyError, backend::BackendSetError, http, protocol::Era, store::StoreError, GatewayError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    /// The body or a path segment is not acceptable: names the field.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    NotFound(String),
    /// Optimistic concurrency: the resource changed since the version the caller read, or it exists.
    #[error("{message}")]
    Conflict { message: String, current: Option<u64> },
    #[error("method not allowed here; use {0}")]
    MethodNotAllowed(&'static str),
    #[error("{0}")]
    Unavailable(String),
}

impl AdminError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.into(), message: message.into() }
    }

    pub fn conflict(message: impl Into<String>, current: Option<u64>) -> Self {
        Self::Conflict { message: message.into(), current }
    }

    /// The gateway error behind an admission failure, for `WWW-Authenticate` and the log line.
    pub fn gateway(&self) -> Option<&GatewayError> {
        match self {
            Self::Gateway(error) => Some(error),
            _ => None,
        }
    }

    pub fn response(&self) -> ::http::Response<Body> {
        let (status, body) = match self {
            Self::Gateway(error) => {
                let mapping = error.mapping(Era::Legacy);
                if mapping.status.is_server_error() {
                    tracing::error!(%error, source = ?std::error::Error::source(error), "admin request failed");
                }
                let message = mapping.error.get("message").cloned().unwrap_or(Value::Null);
                let mut body = json!({ "error": message });
                if matches!(error, GatewayError::Parse | GatewayError::UnsupportedMediaType) {
                    body["field"] = json!("body");
                }
                (mapping.status, body)
            }
            Self::Invalid { field, message } => (StatusCode::BAD_REQUEST, json!({ "error": message, "field": field })),
            Self::NotFound(message) => (StatusCode::NOT_FOUND, json!({ "error": message })),
            Self::Conflict { message, current } => {
                let mut body = json!({ "error": message });
                if let Some(current) = current {
                    body["currentVersion"] = json!(current);
                }
                (StatusCode::CONFLICT, body)
            }
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, json!({ "error": self.to_string() })),
            Self::Unavailable(message) => {
                tracing::error!(%message, "admin request failed");
                (StatusCode::SERVICE_UNAVAILABLE, json!({ "error": message }))
            }
        };
        let mut response = http::json(status, &body);
        match self {
            Self::MethodNotAllowed(allow) => {
                response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Self::Gateway(GatewayError::RateLimited(decision)) => decision.apply(response.headers_mut()),
            _ => {}
        }
        response
    }
}

impl From<StoreError> for AdminError {
    fn from(error: StoreError) -> Self {
        Self::Gateway(GatewayError::Store(error))
    }
}

impl From<KeyError> for AdminError {
    fn from(error: KeyError) -> Self {
        // The cause goes to the log only.
        tracing::error!(%error, source = ?std::error::Error::source(&error), "API key secret");
        Self::Unavailable("the API key store is unavailable; retry shortly".into())
    }
}

impl From<BackendSetError> for AdminError {
    fn from(error: BackendSetError) -> Self {
        Self::Invalid { field: error.field, message: error.message }
    }
}
