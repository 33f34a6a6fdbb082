//! `gateway_execute_code` on `/mcp` handed to the `code` Lambda function: one request-response `Invoke`
//! of the internal event (see `internal`), never retried (code is not idempotent: its tool calls have
//! already run).
//!
//! A function error comes back in two forms: real Lambda answers 200 with `X-Amz-Function-Error` and
//! `{errorType, errorMessage}` in the payload; `cargo lambda watch` (the local stack) answers HTTP 500
//! with the same body and no header. Both are `CodeError::Failed`; the error type goes to the log, never
//! the message (it may quote the caller's data).

use std::time::Duration;

use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, SdkConfig};
use aws_sdk_lambda::{error::SdkError, operation::invoke::InvokeError, primitives::Blob};
use serde_json::Value;

use super::{
    error::CodeError,
    execute::{Caller, ExecuteRequest},
    executor::CodeExecutor,
    internal::{InternalAnswer, InternalEvent},
    ExecutionResult,
};
use crate::{auth::CODE_EXECUTE, App, GatewayError};

/// Longer than any execution may run (`TIMEOUT_RANGE_MS`) plus the function's start; the calling
/// function's own timeout ends the wait first in a deployment.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(130);

pub struct LambdaExecutor {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaExecutor {
    /// A client for `function` (name or ARN). `AWS_ENDPOINT_URL_LAMBDA` (or `AWS_ENDPOINT_URL`) points it
    /// elsewhere, e.g. at `cargo lambda watch`.
    pub fn new(sdk: &SdkConfig, function: String) -> Self {
        Self::from_builder(aws_sdk_lambda::config::Builder::from(sdk), function)
    }

    /// With no retries and bounded waits, whatever `builder` says.
    pub fn from_builder(builder: aws_sdk_lambda::config::Builder, function: String) -> Self {
        let timeouts =
            TimeoutConfig::builder().connect_timeout(Duration::from_secs(2)).operation_timeout(INVOKE_TIMEOUT).build();
        let config = builder.retry_config(RetryConfig::disabled()).timeout_config(timeouts).build();
        Self { client: aws_sdk_lambda::Client::from_conf(config), function }
    }

    /// Runs `request` for `caller` in the code function.
    pub async fn invoke(&self, caller: &Caller<'_>, request: ExecuteRequest) -> Result<ExecutionResult, CodeError> {
        // Checked here too, so a caller without the scope costs no invocation.
        caller.principal.require(CODE_EXECUTE).map_err(GatewayError::from)?;
        let event = serde_json::to_vec(&InternalEvent::new(caller, &request)).map_err(|_| CodeError::Failed)?;
        let sent = self.client.invoke().function_name(&self.function).payload(Blob::new(event)).send().await;
        let output = match sent {
            Ok(output) => output,
            Err(error) => return Err(invoke_failed(&error)),
        };
        let payload = output.payload().map(Blob::as_ref).unwrap_or_default();
        if let Some(kind) = output.function_error() {
            tracing::error!(function_error = kind, error_type = error_type(payload), "code function failed");
            return Err(CodeError::Failed);
        }
        match serde_json::from_slice::<InternalAnswer>(payload) {
            Ok(InternalAnswer::Result(result)) => Ok(result),
            Ok(InternalAnswer::Refused { status, message }) => {
                tracing::warn!(status, %message, "code function refused the execution");
                Err(CodeError::Failed)
            }
            Err(error) => {
                tracing::error!(%error, "code function answered something unreadable");
                Err(CodeError::Failed)
            }
        }
    }
}

#[async_trait::async_trait]
impl CodeExecutor for LambdaExecutor {
    async fn execute(
        &self,
        _app: &App,
        caller: &Caller<'_>,
        request: ExecuteRequest,
    ) -> Result<ExecutionResult, CodeError> {
        self.invoke(caller, request).await
    }
}

fn invoke_failed(error: &SdkError<InvokeError>) -> CodeError {
    if let SdkError::ServiceError(service) = error {
        if matches!(service.err(), InvokeError::TooManyRequestsException(_)) {
            tracing::warn!("code function throttled (reserved concurrency reached)");
            return CodeError::Busy;
        }
        let raw = service.raw();
        let body = raw.body().bytes().unwrap_or_default();
        tracing::error!(status = raw.status().as_u16(), error_type = error_type(body), "code function invoke failed");
        return CodeError::Failed;
    }
    tracing::error!(error = %aws_sdk_lambda::error::DisplayErrorContext(error), "code function unreachable");
    CodeError::Failed
}

/// `errorType` of a Lambda function error body, for the log.
fn error_type(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let kind = parsed.as_ref().and_then(|v| v.get("errorType")).and_then(Value::as_str).unwrap_or("unknown");
    kind.chars().take(100).collect()
}

#[cfg(test)]
#[path = "invoke_tests.rs"]
mod tests;
