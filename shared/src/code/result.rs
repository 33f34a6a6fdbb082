//! The result of one execution, as `/api/code/execute` and the `gateway_execute_code` tool return it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    classify,
    config::Limits,
    engine::{End, Outcome, Returned},
};

/// What kind of failure ended an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Syntax,
    Reference,
    Runtime,
    Timeout,
    Memory,
    Security,
    ToolNotFound,
}

/// `{success, output, returnValue?, error?, errorKind?, hints, executionTime}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionResult {
    pub success: bool,
    /// Console lines (`console.info|warn|error|debug` prefixed with their level).
    pub output: Vec<String>,
    /// The JSON of the value the code returned; absent for `undefined`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_value: Option<Value>,
    /// What went wrong, for the model: no stack, no host path, no secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    pub hints: Vec<String>,
    /// Wall time in milliseconds, compile and tool calls included.
    pub execution_time: u64,
    /// Tool calls the code made.
    pub tool_calls: usize,
}

pub const RETURN_TOO_LARGE: &str = "[Return value too large]";
pub const RETURN_UNSERIALIZABLE: &str = "[Unable to serialize return value]";

/// How the outcome is read: the limits it ran under and the timeout it had, for the messages.
pub struct Reading<'a> {
    pub limits: &'a Limits,
    pub timeout_ms: u64,
    pub execution_time: u64,
}

impl ExecutionResult {
    /// A failure decided before any code ran (e.g. strong isolation unavailable).
    pub fn failure(kind: ErrorKind, error: String, hints: Vec<String>, execution_time: u64) -> Self {
        Self {
            success: false,
            output: Vec::new(),
            return_value: None,
            error: Some(error),
            error_kind: Some(kind),
            hints,
            execution_time,
            tool_calls: 0,
        }
    }

    pub fn from_outcome(outcome: Outcome, reading: &Reading<'_>) -> Self {
        let Outcome { end, output, tool_calls, refused_after_finish } = outcome;
        let mut result = match end {
            End::Returned(returned) => {
                let mut hints = Vec::new();
                let return_value = match returned {
                    Returned::Undefined => None,
                    Returned::Json(value) => Some(value),
                    Returned::TooLarge => {
                        hints.push(format!(
                            "The return value exceeded {} characters of JSON: return a smaller summary (filter, count, pick fields).",
                            reading.limits.return_chars
                        ));
                        Some(Value::String(RETURN_TOO_LARGE.into()))
                    }
                    Returned::Unserializable => {
                        hints.push("Return plain JSON data: no cycles, BigInt or functions.".into());
                        Some(Value::String(RETURN_UNSERIALIZABLE.into()))
                    }
                };
                hints.extend(success_hints(&output, return_value.is_some()));
                Self {
                    success: true,
                    output,
                    return_value,
                    error: None,
                    error_kind: None,
                    hints,
                    execution_time: reading.execution_time,
                    tool_calls,
                }
            }
            end => {
                let (kind, error, hints) = classify::failure(end, reading);
                Self { output, tool_calls, ..Self::failure(kind, error, hints, reading.execution_time) }
            }
        };
        if refused_after_finish > 0 {
            result.hints.push(format!(
                "{refused_after_finish} tool call(s) did not run: they were made after the code finished or were never awaited. Await every callTool(...)."
            ));
        }
        result
    }

    /// As a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn success_hints(output: &[String], returned: bool) -> Vec<String> {
    let mut hints = vec![
        "returnValue is the JSON of what the code returns; output holds the console lines.".to_owned(),
        "Run independent tool calls together: await Promise.all([callTool('a', {...}), callTool('b', {...})]).".into(),
    ];
    if output.is_empty() && !returned {
        hints.push("Nothing was logged or returned: use console.log(...) or return the result.".into());
    }
    if output.iter().any(|line| line.chars().count() > 5_000) {
        hints.push("Some output lines are very long: log a summary, not whole tool results.".into());
    }
    hints
}
