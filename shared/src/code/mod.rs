//! Sandboxed JavaScript execution: an AI client sends a snippet that calls many tools and returns only
//! the distilled result.
//!
//! - `engine`: QuickJS on its own thread, a fresh runtime and context per execution, with limits on
//!   wall time, memory, stack, output and return value; no eval, no modules, no timers, no host objects.
//! - `runner`: the async side; serves the engine's tool calls through a [`ToolHost`].
//! - `tools`: the gateway's `ToolHost` — the same path as `tools/call` on `/mcp` (scopes, routing,
//!   backends) — plus JS-safe helper names; `sdk` and `search`: discovery for code authors.
//! - `result` and `classify`: the `{success, output, returnValue, error, errorKind, hints, executionTime}`
//!   shape and the failure kinds; `sanitize` keeps secrets out of error texts.
//! - `execute`: the use case; `http`: the `/api/code/*` routes; `mcp_tool`: the same execution as the
//!   gateway tool `gateway_execute_code` on `/mcp`.

mod classify;
// Its settings are part of the deployment configuration (`crate::config`); the old path stays for the code here.
pub use crate::config::code as config;
mod engine;
mod error;
mod execute;
pub mod http;
mod mcp_tool;
mod result;
mod runner;
mod sanitize;
mod sdk;
mod search;
mod tools;

pub use config::{CodeConfig, CodeConfigError, Limits};
pub use engine::{Job, ToolFailure, FINISHED, TRUNCATION_MARKER};
pub use error::CodeError;
pub use execute::{execute, ExecuteRequest};
pub use mcp_tool::{execute_tool_with, tool_definition, CodeTool, TOOL_NAME};
pub use result::{ErrorKind, ExecutionResult, RETURN_TOO_LARGE, RETURN_UNSERIALIZABLE};
pub use runner::ToolHost;
pub use tools::{helper_name, GatewayTools};

/// Runs `job` with tool calls served by `host`, and reads the outcome into the result shape.
pub async fn run(job: Job, host: &dyn ToolHost) -> ExecutionResult {
    let started = std::time::Instant::now();
    let limits = job.limits.clone();
    let timeout_ms = job.timeout.as_millis() as u64;
    let outcome = runner::run(job, host).await;
    let reading = result::Reading { limits: &limits, timeout_ms, execution_time: started.elapsed().as_millis() as u64 };
    ExecutionResult::from_outcome(outcome, &reading)
}

#[cfg(test)]
mod tests;
