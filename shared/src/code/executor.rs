//! Where an execution requested through `/mcp` (`gateway_execute_code`) runs: in this process's own
//! sandbox ([`LocalExecutor`]: the plain server, tests), or in the `code` Lambda function, invoked with its
//! own least-privilege role ([`LambdaExecutor`](super::invoke::LambdaExecutor)). The `mcp` side only
//! calls the trait; `CODE_FUNCTION_NAME` picks the implementation at cold start ([`for_config`]).

use std::sync::Arc;

use aws_config::SdkConfig;

use super::{
    config::CodeConfig,
    error::CodeError,
    execute::{execute, Caller, ExecuteRequest},
    invoke::LambdaExecutor,
    ExecutionResult,
};
use crate::App;

/// Runs one validated execution request for a caller the gateway already authenticated and charged.
#[async_trait::async_trait]
pub trait CodeExecutor: Send + Sync {
    async fn execute(
        &self,
        app: &App,
        caller: &Caller<'_>,
        request: ExecuteRequest,
    ) -> Result<ExecutionResult, CodeError>;
}

/// In a sandbox process of this process, with this process's limits (`CODE_*`, `app.config.code`). Refuses (503) in a
/// process that cannot start one (see `sandbox::serve_if_child`).
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalExecutor;

#[async_trait::async_trait]
impl CodeExecutor for LocalExecutor {
    async fn execute(
        &self,
        app: &App,
        caller: &Caller<'_>,
        request: ExecuteRequest,
    ) -> Result<ExecutionResult, CodeError> {
        execute(app, caller, &app.config.code, request).await
    }
}

/// The executor the configuration names: the code function when `CODE_FUNCTION_NAME` is set, else local.
pub fn for_config(config: &CodeConfig, sdk: &SdkConfig) -> Arc<dyn CodeExecutor> {
    match &config.function_name {
        Some(function) => {
            let mut builder = aws_sdk_lambda::config::Builder::from(sdk);
            if let Some(url) = &config.function_endpoint {
                builder = builder.endpoint_url(url);
            }
            Arc::new(LambdaExecutor::from_builder(builder, function.clone()))
        }
        None => Arc::new(LocalExecutor),
    }
}
