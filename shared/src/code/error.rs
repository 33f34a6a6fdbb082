//! Why a code-execution request was refused before any code ran, and the ONE mapping to HTTP.
//! (A request that ran and failed is not an error here: it is an `ExecutionResult` with `success: false`.)

use http::StatusCode;

use super::config::{MAX_CODE_CHARS, TIMEOUT_RANGE_MS};
use crate::{protocol::Era, GatewayError};

#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// Transport, authentication and authorization failures, shared with `/mcp`.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("no such route")]
    RouteNotFound,
    /// The route exists but not for this method; carries the `Allow` value.
    #[error("method not allowed here; use {0}")]
    MethodNotAllowed(&'static str),
    #[error("the body must be a JSON object")]
    BadBody,
    #[error("`code` must be a non-empty string")]
    MissingCode,
    #[error("`code` has {0} characters; the limit is {MAX_CODE_CHARS}")]
    CodeTooLarge(usize),
    #[error("`timeout` must be an integer number of milliseconds from {} to {}", TIMEOUT_RANGE_MS.start(), TIMEOUT_RANGE_MS.end())]
    BadTimeout,
    #[error("`context` must be a JSON object")]
    BadContext,
    #[error("query parameter `{name}`: {reason}")]
    BadQuery { name: &'static str, reason: String },
    /// This process has no sandbox and no code function to hand code to (the `mcp` binary without
    /// `CODE_FUNCTION_NAME`).
    #[error("code execution is not available in this deployment")]
    Unavailable,
    /// The code function is at its concurrency limit.
    #[error("code execution is at capacity; retry shortly")]
    Busy,
    /// The code function could not be invoked or failed; the cause is in the logs.
    #[error("code execution failed before a result came back; tool calls it made may have run")]
    Failed,
}

impl CodeError {
    pub fn status(&self) -> StatusCode {
        match self {
            CodeError::Gateway(error) => error.mapping(Era::Legacy).status,
            CodeError::RouteNotFound => StatusCode::NOT_FOUND,
            CodeError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            CodeError::CodeTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            CodeError::BadBody
            | CodeError::MissingCode
            | CodeError::BadTimeout
            | CodeError::BadContext
            | CodeError::BadQuery { .. } => StatusCode::BAD_REQUEST,
            CodeError::Unavailable | CodeError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            CodeError::Failed => StatusCode::BAD_GATEWAY,
        }
    }

    /// The message for the client. Internal causes stay in the logs (the gateway error's own mapping
    /// already hides them).
    pub fn message(&self) -> String {
        match self {
            CodeError::Gateway(error) => {
                let mapping = error.mapping(Era::Legacy);
                mapping.error.get("message").and_then(|m| m.as_str()).unwrap_or("request failed").to_owned()
            }
            other => other.to_string(),
        }
    }
}
