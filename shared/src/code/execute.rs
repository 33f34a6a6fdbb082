//! The use case behind `POST /api/code/execute` and the `gateway_execute_code` tool: check the scope,
//! read the request, list the caller's helpers, run in a sandbox process of this process, log one line.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{
    config::{CodeConfig, MAX_CODE_CHARS, TIMEOUT_RANGE_MS},
    engine::Job,
    error::CodeError,
    mcp_tool::TOOL_NAME,
    result::ErrorKind,
    sandbox::{self, Sandbox},
    tools::{helpers_for, GatewayTools},
    ExecutionResult,
};
use crate::{
    auth::{Principal, CODE_EXECUTE},
    mcp::privacy,
    protocol::VaultScope,
    ratelimit::Limit,
    App, GatewayError,
};

/// The "backend" the PII policy sees for values code produced (`PII_POLICY` can name it: `backends.gateway`,
/// `tools.gateway_execute_code`).
pub const PII_SOURCE: &str = "gateway";

/// `{code, timeout?, context?}`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecuteRequest {
    pub code: String,
    /// Milliseconds, within [`TIMEOUT_RANGE_MS`].
    pub timeout_ms: Option<u64>,
    /// A JSON object (empty when absent).
    pub context: Value,
}

impl ExecuteRequest {
    pub fn from_json(body: &Value) -> Result<Self, CodeError> {
        let object = body.as_object().ok_or(CodeError::BadBody)?;
        let code = match object.get("code") {
            Some(Value::String(code)) if !code.trim().is_empty() => code,
            _ => return Err(CodeError::MissingCode),
        };
        let chars = code.chars().count();
        if chars > MAX_CODE_CHARS {
            return Err(CodeError::CodeTooLarge(chars));
        }
        let timeout_ms = match object.get("timeout") {
            None | Some(Value::Null) => None,
            Some(value) => Some(value.as_u64().filter(|t| TIMEOUT_RANGE_MS.contains(t)).ok_or(CodeError::BadTimeout)?),
        };
        let context = match object.get("context") {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(value @ Value::Object(_)) => value.clone(),
            Some(_) => return Err(CodeError::BadContext),
        };
        Ok(Self { code: code.clone(), timeout_ms, context })
    }
}

/// Who an execution runs for: the principal, the PII vault its values use (the caller's own, so tokens
/// it returns resolve in the caller's later calls), and the rate limit each of its tool calls is charged to.
#[derive(Debug)]
pub struct Caller<'a> {
    pub principal: &'a Principal,
    pub vault: VaultScope,
    /// `None` only for an anonymous caller whose address is unknown (auth mode `none`).
    pub budget: Option<Limit>,
}

/// Runs `request` for `caller` in this process's sandbox. Refuses (403) without `code:execute`, and
/// (503) in a process that has no sandbox. Console output and the return value leave with their PII
/// tokenized, like any tool result.
pub async fn execute(
    app: &App,
    caller: &Caller<'_>,
    config: &CodeConfig,
    request: ExecuteRequest,
) -> Result<ExecutionResult, CodeError> {
    let principal = caller.principal;
    principal.require(CODE_EXECUTE).map_err(GatewayError::from)?;
    let sandbox = Sandbox::current();
    if !sandbox.is_available() {
        return Err(CodeError::Unavailable);
    }
    let requested = request.timeout_ms.map(Duration::from_millis).unwrap_or(config.default_timeout);
    let timeout = requested.min(config.max_timeout);
    let started = Instant::now();
    // Waiting for a slot counts against the execution's own time.
    let Some(_slot) = sandbox::slot(config.max_concurrent, timeout).await else {
        return Ok(busy(config.max_concurrent, started));
    };
    let waited = started.elapsed();
    let timeout = if waited < NOTICEABLE_WAIT { timeout } else { timeout.saturating_sub(waited).max(MIN_RUN) };
    let (helpers, helper_hint) = helpers_for(app, principal, config).await;
    let job = Job { code: request.code, context: request.context, helpers, limits: config.limits.clone(), timeout };
    let host = GatewayTools { app, caller, config };
    let mut result = sandbox.run(job, &host).await;
    protect(app, caller, &mut result).await;
    if config.max_timeout < requested {
        result
            .hints
            .push(format!("The timeout was capped at {} ms by this deployment.", config.max_timeout.as_millis()));
    }
    if waited >= NOTICEABLE_WAIT {
        result.hints.push(format!(
            "Waited {} ms for a free sandbox; that time counted against the timeout.",
            waited.as_millis()
        ));
    }
    result.hints.extend(helper_hint);
    tracing::info!(
        audit = true,
        principal = %principal.id,
        success = result.success,
        error_kind = ?result.error_kind,
        tool_calls = result.tool_calls,
        execution_ms = result.execution_time,
        "code executed"
    );
    Ok(result)
}

/// A wait for a slot shorter than this is not taken off the execution's time (nor mentioned).
const NOTICEABLE_WAIT: Duration = Duration::from_millis(20);
/// The least time an execution gets once it found a slot, however long it waited.
const MIN_RUN: Duration = Duration::from_millis(100);

fn busy(slots: usize, since: Instant) -> ExecutionResult {
    let error = format!(
        "Execution could not start: all {slots} sandboxes of this instance stayed busy for the whole timeout. Likely cause: many executions at once. Suggested action: retry shortly."
    );
    let hints = vec!["Executions per instance are limited (CODE_MAX_CONCURRENT).".into()];
    ExecutionResult::failure(ErrorKind::Timeout, error, hints, since.elapsed().as_millis() as u64)
}

/// Tokenizes the PII in what the code printed, returned and failed with, in the caller's vault. The tool
/// results it worked from were tokenized call by call: the tokens it carries on are kept, not re-minted.
async fn protect(app: &App, caller: &Caller<'_>, result: &mut ExecutionResult) {
    let mut produced = json!({ "output": std::mem::take(&mut result.output) });
    if let Some(returned) = result.return_value.take() {
        produced["returnValue"] = returned;
    }
    if let Some(error) = result.error.take() {
        produced["error"] = Value::String(error);
    }
    let mut shield = privacy::Shield::for_own_output(app, &caller.vault);
    shield.protect(PII_SOURCE, Some(TOOL_NAME), &mut produced).await;
    let Value::Object(mut produced) = produced else { return };
    result.error = match produced.remove("error") {
        Some(Value::String(error)) => Some(error),
        Some(_) => Some("The error was withheld: it could not be checked for personal data.".to_owned()),
        None => None,
    };
    result.output = match produced.remove("output") {
        Some(Value::Array(lines)) => {
            lines.into_iter().map(|l| l.as_str().map(str::to_owned).unwrap_or_default()).collect()
        }
        _ => Vec::new(),
    };
    result.return_value = produced.remove("returnValue");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_validated() {
        let ok = ExecuteRequest::from_json(&json!({"code": "return 1", "timeout": 5000, "context": {"a": 1}})).unwrap();
        assert_eq!((ok.timeout_ms, ok.context), (Some(5000), json!({"a": 1})));
        let bad = |body: Value| ExecuteRequest::from_json(&body).unwrap_err().status().as_u16();
        assert_eq!(bad(json!({"code": ""})), 400);
        assert_eq!(bad(json!({"code": 1})), 400);
        assert_eq!(bad(json!({"code": "x", "timeout": 999})), 400);
        assert_eq!(bad(json!({"code": "x", "timeout": 120_001})), 400);
        assert_eq!(bad(json!({"code": "x", "timeout": 1.5})), 400);
        assert_eq!(bad(json!({"code": "x", "context": [1]})), 400);
        assert_eq!(bad(json!("return 1")), 400);
        assert_eq!(bad(json!({"code": "x".repeat(MAX_CODE_CHARS + 1)})), 413);
        assert!(ExecuteRequest::from_json(&json!({"code": "x".repeat(MAX_CODE_CHARS)})).is_ok());
    }
}
