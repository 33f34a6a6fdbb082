//! Which kind of failure ended an execution, and the message and hints the model gets for it.
//!
//! Messages follow the reference gateway: `[SYNTAX] …`, `[REFERENCE] …`, `[RUNTIME] …` prefix the
//! engine's message; timeouts, memory, security and unknown tools say "What. Likely cause: … Suggested
//! action: …". Every text passes through `sanitize` (no secrets, bounded length); none carries a stack.

use super::{
    engine::{End, Thrown},
    result::{ErrorKind, Reading},
    sanitize::sanitize,
};

/// Host and runtime names code written for Node, Deno or browsers reaches for. Referencing one is an
/// attempt to leave the sandbox (or a misunderstanding of it), reported as `security`.
const HOST_NAMES: &[&str] = &[
    "process",
    "require",
    "module",
    "exports",
    "Buffer",
    "global",
    "__dirname",
    "__filename",
    "eval",
    "Function",
    "setTimeout",
    "setInterval",
    "setImmediate",
    "clearTimeout",
    "clearInterval",
    "clearImmediate",
    "queueMicrotask",
    "fetch",
    "XMLHttpRequest",
    "WebSocket",
    "WebAssembly",
    "Deno",
    "Bun",
    "std",
    "os",
    "importScripts",
];

/// Engine messages that mean a blocked capability.
const SECURITY_MESSAGES: &[&str] =
    &["code generation from strings", "eval is not supported", "could not load module", "module loading"];

pub(super) fn failure(end: End, reading: &Reading<'_>) -> (ErrorKind, String, Vec<String>) {
    let (kind, error, hints) = match end {
        End::Returned(_) => (ErrorKind::Runtime, "internal: a returned execution was read as a failure".into(), vec![]),
        End::Syntax(syntax) => (
            ErrorKind::Syntax,
            format!("[SYNTAX] {}{}", syntax.message, at_line(syntax.line)),
            vec![
                "The code is plain JavaScript: TypeScript type annotations are syntax errors.".into(),
                "It runs as the body of an async function: use await and return at the top level; no import/export."
                    .into(),
            ],
        ),
        End::TimedOut => timeout(
            format!("Execution timed out after {} ms.", reading.timeout_ms),
            "a loop that does not end, or tool calls slower than the limit",
        ),
        End::NeverSettles => timeout(
            "Execution can never finish: it awaits a promise that nothing will settle.".into(),
            "awaiting new Promise(() => {}) or a promise whose resolve is never called; there are no timers",
        ),
        End::OutOfMemory => memory(reading),
        End::Failed(failure) => {
            tracing::error!(%failure, "code engine failure");
            (
                ErrorKind::Runtime,
                "Code execution failed inside the engine. Suggested action: retry; report it if it persists.".into(),
                vec![],
            )
        }
        End::Threw(thrown) => thrown_failure(thrown, reading),
        End::Violated(what) => (
            ErrorKind::Security,
            format!("[SECURITY] The sandbox was stopped: {what}. Suggested action: report it; code cannot cause this through callTool, console or return."),
            vec!["The sandbox runs in its own process; breaking its limits ends the execution.".into()],
        ),
    };
    (kind, sanitize(&error), hints)
}

fn timeout(what: String, cause: &str) -> (ErrorKind, String, Vec<String>) {
    (
        ErrorKind::Timeout,
        format!("{what} Likely cause: {cause}. Suggested action: bound loops, await only tool calls and values that settle, or raise `timeout` (at most 120000 ms)."),
        vec!["Every loop and every await counts against the wall-time limit.".into()],
    )
}

fn thrown_failure(thrown: Thrown, reading: &Reading<'_>) -> (ErrorKind, String, Vec<String>) {
    let Thrown { name, message, line } = thrown;
    let lower = message.to_ascii_lowercase();
    if lower.contains("out of memory") {
        return memory(reading);
    }
    if name == "ToolNotFoundError" {
        return (
            ErrorKind::ToolNotFound,
            format!("{message}. Likely cause: the name is misspelled, or you may not call this tool. Suggested action: find the exact name with GET /api/code/tools/search (or gateway_search_tools)."),
            vec!["callTool takes the exposed tool name, e.g. callTool('demo_add', {a: 1, b: 2}).".into()],
        );
    }
    let undefined = (name == "ReferenceError").then(|| message.strip_suffix(" is not defined")).flatten();
    if let Some(missing) = undefined.filter(|m| HOST_NAMES.contains(m)) {
        return security(format!("{missing} is not available in the sandbox."));
    }
    if SECURITY_MESSAGES.iter().any(|m| lower.contains(m)) {
        return security(message);
    }
    if let Some(missing) = undefined.filter(|m| looks_like_tool(m)) {
        return (
            ErrorKind::ToolNotFound,
            format!("Tool helper {missing} is not defined. Likely cause: no such tool, or you may not call it. Suggested action: use callTool('<exact name>', args) with a name from GET /api/code/tools/search."),
            vec!["Helpers exist only for tools you may call; names have characters outside [A-Za-z0-9_] replaced by _.".into()],
        );
    }
    if undefined.is_some() {
        return (ErrorKind::Reference, format!("[REFERENCE] {message}{}", at_line(line)), vec![]);
    }
    let mut hints = Vec::new();
    if lower.contains("stack overflow") || lower.contains("call stack") {
        hints.push("Recursion is limited: use a loop or a smaller depth.".into());
    }
    (ErrorKind::Runtime, format!("[RUNTIME] {name}: {message}{}", at_line(line)), hints)
}

fn memory(reading: &Reading<'_>) -> (ErrorKind, String, Vec<String>) {
    let mb = reading.limits.memory_bytes >> 20;
    (
        ErrorKind::Memory,
        format!("Code execution exceeded the memory limit of {mb} MB. Likely cause: a string or array that keeps growing. Suggested action: process data in smaller pieces and keep only what you return."),
        vec!["Memory is limited per execution; nothing is kept between executions.".into()],
    )
}

fn security(what: String) -> (ErrorKind, String, Vec<String>) {
    (
        ErrorKind::Security,
        format!("{} Likely cause: the code uses eval, the Function constructor, modules, timers or a host API (process, require, network, files). Suggested action: use plain JavaScript, console.log and callTool only.", what.trim_end_matches('.').to_owned() + "."),
        vec!["The sandbox has no host access: tools are reached only through callTool.".into()],
    )
}

/// Tool helpers are named `<prefix>_<tool>`; reference gateway heuristic: an underscore inside the
/// name, or a name ending in `Tool`.
fn looks_like_tool(name: &str) -> bool {
    name.trim_matches('_').contains('_') || name.ends_with("Tool")
}

fn at_line(line: u32) -> String {
    if line > 0 {
        format!(" (line {line})")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;

    fn kind(name: &str, message: &str) -> (ErrorKind, String) {
        let limits = Limits::default();
        let reading = Reading { limits: &limits, timeout_ms: 100, execution_time: 1 };
        let (kind, error, _) =
            failure(End::Threw(Thrown { name: name.into(), message: message.into(), line: 3 }), &reading);
        (kind, error)
    }

    #[test]
    fn undefined_names_are_split_by_what_they_look_like() {
        assert_eq!(kind("ReferenceError", "process is not defined").0, ErrorKind::Security);
        assert_eq!(kind("ReferenceError", "demo_nope is not defined").0, ErrorKind::ToolNotFound);
        let (k, e) = kind("ReferenceError", "foo is not defined");
        assert_eq!((k, e.as_str()), (ErrorKind::Reference, "[REFERENCE] foo is not defined (line 3)"));
    }

    #[test]
    fn engine_messages_map_to_kinds() {
        assert_eq!(kind("InternalError", "out of memory").0, ErrorKind::Memory);
        assert_eq!(kind("TypeError", "eval is not supported").0, ErrorKind::Security);
        assert_eq!(kind("ToolNotFoundError", "Unknown tool: x").0, ErrorKind::ToolNotFound);
        let (k, e) = kind("TypeError", "x is not a function");
        assert_eq!((k, e.as_str()), (ErrorKind::Runtime, "[RUNTIME] TypeError: x is not a function (line 3)"));
    }
}
