//! Sandboxed JavaScript execution: an AI client sends a snippet that calls many tools and returns only
//! the distilled result.
//!
//! - `engine`: QuickJS, a fresh runtime and context per execution, with limits on wall time, memory,
//!   stack, output and return value; no eval, no modules, no timers, no host objects.
//! - `sandbox`: each execution in its own confined process, killed at its deadline; the gateway serves
//!   its tool calls through a [`ToolHost`] and holds what it sends to hard caps.
//! - `tools`: the gateway's `ToolHost` — the same path as `tools/call` on `/mcp` (scopes, routing,
//!   backends) — plus JS-safe helper names; `sdk` and `search`: discovery for code authors.
//! - `result` and `classify`: the `{success, output, returnValue, error, errorKind, hints, executionTime}`
//!   shape and the failure kinds; `sanitize` keeps secrets out of error texts.
//! - `execute`: the use case; `http`: the `/api/code/*` routes; `mcp_tool`: the same execution as the
//!   gateway tool `gateway_execute_code` on `/mcp`, run through a [`CodeExecutor`]: locally, or by
//!   invoking the `code` function (`invoke`) with the internal event (`internal`) that its Lambda
//!   entry (`lambda`) tells apart from API Gateway events.

mod classify;
// Its settings are part of the deployment configuration (`crate::config`); the old path stays for the code here.
pub use crate::config::code as config;
mod engine;
mod error;
mod execute;
mod executor;
pub mod http;
mod internal;
mod invoke;
pub mod lambda;
mod mcp_tool;
mod result;
pub mod sandbox;
mod sanitize;
mod sdk;
mod search;
mod tools;

pub use config::{CodeConfig, CodeConfigError, Limits};
pub use engine::{Job, ToolFailure, FINISHED, TRUNCATION_MARKER};
pub use error::CodeError;
pub use execute::{execute, Caller, ExecuteRequest};
pub use executor::{for_config as executor_for, CodeExecutor, LocalExecutor};
pub use internal::{InternalEvent, MARKER as INTERNAL_MARKER};
pub use invoke::LambdaExecutor;
pub use mcp_tool::{execute_tool_with, tool_definition, CodeTool, TOOL_NAME};
pub use result::{ErrorKind, ExecutionResult, RETURN_TOO_LARGE, RETURN_UNSERIALIZABLE};
pub use sandbox::{serve_if_child, Sandbox, ToolHost};
pub use tools::{helper_name, GatewayTools};
