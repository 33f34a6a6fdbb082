//! What the sandbox's host functions (`console.*`, `callTool`) share with the job loop: the bounded
//! console output and the tool calls waiting to be handed to the host.

use serde_json::Value;

/// Appended once when console output reaches the limit; everything after it is dropped.
pub const TRUNCATION_MARKER: &str = "[Output truncated: console output exceeded the limit]";

/// Console lines, at most `limit` characters in total, then one truncation marker.
#[derive(Debug)]
pub struct Output {
    lines: Vec<String>,
    chars: usize,
    limit: usize,
    truncated: bool,
}

impl Output {
    pub fn new(limit: usize) -> Self {
        Self { lines: Vec::new(), chars: 0, limit, truncated: false }
    }

    pub fn push(&mut self, line: String) {
        if self.truncated {
            return;
        }
        let len = line.chars().count();
        if self.chars + len <= self.limit {
            self.chars += len;
            self.lines.push(line);
            return;
        }
        let room = self.limit - self.chars;
        if room > 0 {
            self.lines.push(line.chars().take(room).collect());
        }
        self.chars = self.limit;
        self.lines.push(TRUNCATION_MARKER.to_owned());
        self.truncated = true;
    }

    pub fn into_lines(self) -> Vec<String> {
        self.lines
    }
}

/// A tool call the code made, waiting to be handed to the host.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolRequest {
    pub id: u32,
    pub name: String,
    pub arguments: Value,
}

/// How the host settled a tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolReply {
    pub id: u32,
    pub result: Result<Value, ToolFailure>,
}

/// Why a tool call produced no result. The message is shown to the code (and so to the model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolFailure {
    /// Unknown, not allowed, or not callable from code: the same answer for all three (no oracle).
    NotFound(String),
    /// The call was refused or failed before producing a tool result.
    Failed(String),
}

/// The state behind the host functions of one execution.
#[derive(Debug)]
pub struct HostState {
    pub output: Output,
    pub queued: Vec<ToolRequest>,
    /// Set once the code's promise settled: later output is dropped and later calls are refused.
    pub finished: bool,
    /// Tool calls accepted so far (bounded by `max_calls`).
    pub calls: usize,
    pub max_calls: usize,
    /// Calls made after the code finished, or still queued when it did: never run.
    pub refused_after_finish: usize,
}

/// Text of the refusal a call after completion gets.
pub const FINISHED: &str = "Code execution already finished; tool calls after completion are blocked.";

impl HostState {
    pub fn new(output_limit: usize, max_calls: usize) -> Self {
        Self {
            output: Output::new(output_limit),
            queued: Vec::new(),
            finished: false,
            calls: 0,
            max_calls,
            refused_after_finish: 0,
        }
    }

    pub fn write(&mut self, line: String) {
        if !self.finished {
            self.output.push(line);
        }
    }

    /// Queues a call; `Some(reason)` refuses it.
    pub fn request(&mut self, id: u32, name: String, arguments_json: &str) -> Option<String> {
        if self.finished {
            self.refused_after_finish += 1;
            return Some(FINISHED.into());
        }
        if self.calls >= self.max_calls {
            return Some(format!("Tool call limit reached: at most {} calls per execution.", self.max_calls));
        }
        let Ok(arguments) = serde_json::from_str::<Value>(arguments_json) else {
            // JSON.stringify output only fails to parse when nested deeper than serde_json allows.
            return Some(format!("callTool({name}): arguments are nested too deeply"));
        };
        self.calls += 1;
        self.queued.push(ToolRequest { id, name, arguments });
        None
    }

    /// Marks the execution finished; calls still queued are dropped and counted.
    pub fn finish(&mut self) {
        self.finished = true;
        self.refused_after_finish += self.queued.len();
        self.queued.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_cut_at_the_limit_with_one_marker() {
        let mut out = Output::new(10);
        out.push("12345".into());
        out.push("67890abc".into());
        out.push("more".into());
        assert_eq!(out.into_lines(), ["12345", "67890", TRUNCATION_MARKER]);
    }

    #[test]
    fn output_counts_characters_not_bytes() {
        let mut out = Output::new(3);
        out.push("äöü".into());
        out.push("x".into());
        assert_eq!(out.into_lines(), ["äöü", TRUNCATION_MARKER]);
    }

    #[test]
    fn calls_after_finish_are_refused_and_counted() {
        let mut state = HostState::new(100, 10);
        assert_eq!(state.request(1, "a".into(), "{}"), None);
        state.finish();
        assert_eq!(state.request(2, "a".into(), "{}").as_deref(), Some(FINISHED));
        assert_eq!((state.queued.len(), state.refused_after_finish), (0, 2));
    }

    #[test]
    fn call_limit_is_enforced() {
        let mut state = HostState::new(100, 1);
        assert_eq!(state.request(1, "a".into(), "{}"), None);
        assert!(state.request(2, "a".into(), "{}").unwrap().contains("limit"));
    }
}
