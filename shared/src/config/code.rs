//! Limits of code execution, and the deployment settings that choose them (parsed once at cold start).

use std::time::Duration;

/// Hard bounds on one execution. The defaults are the documented ones (README, "Code execution").
///
/// The first group bounds the engine (QuickJS, inside the sandbox process); the second bounds what the
/// sandbox may hand the gateway through tool calls. The sandbox refuses calls over them with a catchable
/// error, and the gateway checks every message it receives against them again: a sandbox that breaks
/// one (which only a compromised engine could) is killed and the execution ends as `security`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// QuickJS heap (strings, objects, bytecode) of one execution.
    pub memory_bytes: usize,
    /// Native stack QuickJS may use; deeper recursion is a `RangeError`-like "stack overflow".
    pub stack_bytes: usize,
    /// Console output, in characters, before the one truncation marker. A line costs at least one.
    pub output_chars: usize,
    /// Return value, as JSON characters, before it becomes `"[Return value too large]"`.
    pub return_chars: usize,
    /// Arguments of one tool call, as JSON: characters in the sandbox, and bytes on the way out.
    pub arguments_chars: usize,
    /// Tool calls one execution may make.
    pub max_tool_calls: usize,
    /// Longest tool name `callTool` accepts, in bytes (MCP names are at most 128 characters).
    pub tool_name_bytes: usize,
    /// Tool calls made and not yet answered, at once.
    pub pending_calls: usize,
    /// Arguments of the calls not yet answered, in bytes, at once.
    pub pending_bytes: usize,
    /// Arguments of all tool calls of one execution, in bytes.
    pub exchange_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 128 << 20,
            stack_bytes: 1 << 20,
            output_chars: 102_400,
            return_chars: 102_400,
            arguments_chars: 1 << 20,
            max_tool_calls: 500,
            tool_name_bytes: 256,
            pending_calls: 64,
            pending_bytes: 8 << 20,
            exchange_bytes: 32 << 20,
        }
    }
}

/// Largest `code` accepted, in characters.
pub const MAX_CODE_CHARS: usize = 50_000;
/// The range a request's `timeout` (milliseconds) must be in.
pub const TIMEOUT_RANGE_MS: std::ops::RangeInclusive<u64> = 1_000..=120_000;

/// The deployment's code-execution settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeConfig {
    /// Wall time when the request names none (`CODE_DEFAULT_TIMEOUT_MS`, default 30 000).
    pub default_timeout: Duration,
    /// Ceiling applied to any requested timeout (`CODE_MAX_TIMEOUT_MS`, default 120 000). Behind an
    /// HTTP API (30 s integration limit) the template sets it below the function's own timeout, so a
    /// long run ends as a clean `timeout` result instead of a 504.
    pub max_timeout: Duration,
    /// Tools callable from code (`CODE_ALLOWED_TOOLS`, comma list, `prefix*` wildcards). Empty = every
    /// tool the caller's scopes allow. Never widens scopes: both must allow a call.
    pub allowed_tools: Vec<String>,
    pub limits: Limits,
    /// Executions this process runs at once (`CODE_MAX_CONCURRENT`, default twice the CPUs, at least 2):
    /// each is a process with up to `memory_bytes` of heap. More wait for a slot within their timeout.
    pub max_concurrent: usize,
    /// `CODE_FUNCTION_NAME`: where `gateway_execute_code` on `/mcp` runs. Set, the `mcp` function invokes
    /// that Lambda function (the `code` function, under its own role); unset, this process runs the code
    /// in its own sandbox processes (the plain server), or refuses when it has none (the `mcp` binary).
    pub function_name: Option<String>,
    /// `CODE_FUNCTION_ENDPOINT_URL`: where that function is invoked, when not where the SDK's Lambda
    /// endpoint points (local development: the code function under the gateway's own `cargo lambda
    /// watch`, while `AWS_ENDPOINT_URL_LAMBDA` points Lambda backends at another one). Unset in AWS.
    pub function_endpoint: Option<String>,
}

impl Default for CodeConfig {
    fn default() -> Self {
        Self {
            default_timeout: Duration::from_secs(30),
            max_timeout: Duration::from_secs(120),
            allowed_tools: Vec::new(),
            limits: Limits::default(),
            max_concurrent: default_concurrency(),
            function_name: None,
            function_endpoint: None,
        }
    }
}

fn default_concurrency() -> usize {
    std::thread::available_parallelism().map(|n| 2 * n.get()).unwrap_or(2).max(2)
}

#[derive(Debug, thiserror::Error)]
pub enum CodeConfigError {
    #[error("{var}: {value:?} is not valid: {reason}")]
    Invalid { var: &'static str, value: String, reason: String },
}

impl CodeConfig {
    pub fn from_env() -> Result<Self, CodeConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, CodeConfigError> {
        let get = |var: &str| lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let number = |var: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| match get(var) {
            None => Ok(default),
            Some(value) => match value.parse::<u64>() {
                Ok(n) if range.contains(&n) => Ok(n),
                _ => Err(CodeConfigError::Invalid {
                    var,
                    value,
                    reason: format!("expected an integer in {}..={}", range.start(), range.end()),
                }),
            },
        };
        let max_timeout = number("CODE_MAX_TIMEOUT_MS", 120_000, TIMEOUT_RANGE_MS)?;
        let default_timeout = number("CODE_DEFAULT_TIMEOUT_MS", 30_000.min(max_timeout), 1_000..=max_timeout)?;
        let memory_mb = number("CODE_MEMORY_LIMIT_MB", 128, 16..=4096)?;
        let allowed_tools = get("CODE_ALLOWED_TOOLS")
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Self {
            default_timeout: Duration::from_millis(default_timeout),
            max_timeout: Duration::from_millis(max_timeout),
            allowed_tools,
            limits: Limits { memory_bytes: (memory_mb as usize) << 20, ..Limits::default() },
            max_concurrent: number("CODE_MAX_CONCURRENT", default_concurrency() as u64, 1..=1024)? as usize,
            function_name: get("CODE_FUNCTION_NAME"),
            function_endpoint: get("CODE_FUNCTION_ENDPOINT_URL"),
        })
    }

    /// Whether the deployment lets code call `tool` (exact name or `prefix*`).
    pub fn allows_tool(&self, tool: &str) -> bool {
        self.allowed_tools.is_empty()
            || self.allowed_tools.iter().any(|allowed| match allowed.strip_suffix('*') {
                Some(prefix) => tool.starts_with(prefix),
                None => allowed == tool,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<CodeConfig, CodeConfigError> {
        CodeConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_match_the_documentation() {
        let c = config(&[]).unwrap();
        assert_eq!(c, CodeConfig::default());
        assert_eq!(c.default_timeout, Duration::from_secs(30));
        assert_eq!(c.limits.memory_bytes, 128 << 20);
    }

    #[test]
    fn default_timeout_follows_a_lower_ceiling() {
        let c = config(&[("CODE_MAX_TIMEOUT_MS", "25000")]).unwrap();
        assert_eq!((c.default_timeout.as_millis(), c.max_timeout.as_millis()), (25_000, 25_000));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = config(&[("CODE_MEMORY_LIMIT_MB", "lots")]).unwrap_err().to_string();
        assert!(e.starts_with("CODE_MEMORY_LIMIT_MB: \"lots\""), "{e}");
        assert!(config(&[("CODE_DEFAULT_TIMEOUT_MS", "500")]).is_err());
    }

    #[test]
    fn allowlist_takes_exact_names_and_prefixes() {
        let c = config(&[("CODE_ALLOWED_TOOLS", "demo_add, everything_*")]).unwrap();
        assert!(c.allows_tool("demo_add") && c.allows_tool("everything_echo"));
        assert!(!c.allows_tool("demo_echo"));
        assert!(CodeConfig::default().allows_tool("anything"));
    }
}
