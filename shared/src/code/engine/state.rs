//! What the sandbox's host functions (`console.*`, `callTool`) share with the job loop: the bounded
//! console output and the tool calls waiting to be handed to the host.
//!
//! Everything a call makes the sandbox hold outside the QuickJS heap (its name and the JSON of its
//! arguments) is bounded here, per call, while waiting, and per execution: the metered heap does not
//! see these copies.

use serde::{Deserialize, Serialize};

use crate::code::config::Limits;

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
        // An empty line costs one character too: the number of lines is bounded, not only their text.
        let len = line.chars().count().max(1);
        if self.chars + len <= self.limit {
            self.chars += len;
            self.lines.push(line);
            return;
        }
        let room = self.limit - self.chars;
        if room > 0 && !line.is_empty() {
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRequest {
    pub id: u32,
    pub name: String,
    /// The arguments as the code's `JSON.stringify` wrote them; the host parses them.
    pub arguments: String,
}

/// How the host settled a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolReply {
    pub id: u32,
    /// The `CallToolResult` as JSON text: handed to the code's `JSON.parse` as it is, and as deep as the
    /// backend sent it (a nested value inside the frame would count against the frame's depth limit).
    pub result: Result<String, ToolFailure>,
}

/// Why a tool call produced no result. The message is shown to the code (and so to the model).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToolFailure {
    /// Unknown, not allowed, or not callable from code: the same answer for all three (no oracle).
    NotFound(String),
    /// The call was refused or failed before producing a tool result.
    Failed(String),
}

/// Tool calls handed to the host in one round, at most; the rest wait for the next round.
pub const MAX_BATCH: usize = 16;
/// Argument bytes handed to the host in one round, at most (a single larger call goes alone).
pub const MAX_BATCH_BYTES: usize = 4 << 20;

/// The state behind the host functions of one execution.
#[derive(Debug)]
pub struct HostState {
    pub output: Output,
    pub queued: Vec<ToolRequest>,
    /// Set once the code's promise settled: later output is dropped and later calls are refused.
    pub finished: bool,
    /// Tool calls accepted so far (bounded by `limits.max_tool_calls`).
    pub calls: usize,
    /// Calls made after the code finished, or still queued when it did: never run.
    pub refused_after_finish: usize,
    limits: Limits,
    /// Argument bytes of the queued calls.
    queued_bytes: usize,
    /// Argument bytes of every call accepted so far.
    total_bytes: usize,
}

/// Text of the refusal a call after completion gets.
pub const FINISHED: &str = "Code execution already finished; tool calls after completion are blocked.";

impl HostState {
    pub fn new(limits: &Limits) -> Self {
        Self {
            output: Output::new(limits.output_chars),
            queued: Vec::new(),
            finished: false,
            calls: 0,
            refused_after_finish: 0,
            limits: limits.clone(),
            queued_bytes: 0,
            total_bytes: 0,
        }
    }

    pub fn write(&mut self, line: String) {
        if !self.finished {
            self.output.push(line);
        }
    }

    /// Queues a call; `Some(reason)` refuses it (the code's promise rejects with the reason).
    pub fn request(&mut self, id: u32, name: String, arguments: String) -> Option<String> {
        if self.finished {
            self.refused_after_finish += 1;
            return Some(FINISHED.into());
        }
        let limits = &self.limits;
        if self.calls >= limits.max_tool_calls {
            return Some(format!("Tool call limit reached: at most {} calls per execution.", limits.max_tool_calls));
        }
        if name.len() > limits.tool_name_bytes {
            return Some(format!("callTool: the tool name is longer than {} bytes.", limits.tool_name_bytes));
        }
        let bytes = arguments.len();
        if bytes > limits.arguments_chars {
            return Some(format!("callTool({name}): arguments exceed {} bytes of JSON.", limits.arguments_chars));
        }
        if self.queued.len() >= limits.pending_calls {
            return Some(format!(
                "Too many tool calls are waiting for results (at most {}): await some before making more.",
                limits.pending_calls
            ));
        }
        if self.queued_bytes + bytes > limits.pending_bytes {
            return Some(format!(
                "Tool calls waiting for results would hold more than {} bytes of arguments: await some before making more.",
                limits.pending_bytes
            ));
        }
        if self.total_bytes + bytes > limits.exchange_bytes {
            return Some(format!(
                "Tool calls of this execution would send more than {} bytes of arguments in total.",
                limits.exchange_bytes
            ));
        }
        self.calls += 1;
        self.queued_bytes += bytes;
        self.total_bytes += bytes;
        self.queued.push(ToolRequest { id, name, arguments });
        None
    }

    /// The next round of queued calls: at most [`MAX_BATCH`] calls and [`MAX_BATCH_BYTES`] of arguments
    /// (always at least one call when any is queued).
    pub fn take_batch(&mut self) -> Vec<ToolRequest> {
        let (mut count, mut bytes) = (0, 0);
        for request in self.queued.iter().take(MAX_BATCH) {
            if count > 0 && bytes + request.arguments.len() > MAX_BATCH_BYTES {
                break;
            }
            count += 1;
            bytes += request.arguments.len();
        }
        self.queued_bytes -= bytes;
        self.queued.drain(..count).collect()
    }

    /// Marks the execution finished; calls still queued are dropped and counted.
    pub fn finish(&mut self) {
        self.finished = true;
        self.refused_after_finish += self.queued.len();
        self.queued.clear();
        self.queued_bytes = 0;
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

    fn state(limits: Limits) -> HostState {
        HostState::new(&limits)
    }

    #[test]
    fn empty_lines_cost_a_character() {
        let mut out = Output::new(3);
        for _ in 0..10 {
            out.push(String::new());
        }
        assert_eq!(out.into_lines(), ["", "", "", TRUNCATION_MARKER]);
    }

    #[test]
    fn calls_after_finish_are_refused_and_counted() {
        let mut state = state(Limits::default());
        assert_eq!(state.request(1, "a".into(), "{}".into()), None);
        state.finish();
        assert_eq!(state.request(2, "a".into(), "{}".into()).as_deref(), Some(FINISHED));
        assert_eq!((state.queued.len(), state.refused_after_finish), (0, 2));
    }

    #[test]
    fn call_limit_is_enforced() {
        let mut state = state(Limits { max_tool_calls: 1, ..Limits::default() });
        assert_eq!(state.request(1, "a".into(), "{}".into()), None);
        assert!(state.request(2, "a".into(), "{}".into()).unwrap().contains("limit"));
    }

    #[test]
    fn names_arguments_and_waiting_calls_are_bounded() {
        let limits = Limits {
            tool_name_bytes: 8,
            arguments_chars: 10,
            pending_calls: 3,
            pending_bytes: 25,
            exchange_bytes: 30,
            ..Limits::default()
        };
        let mut state = state(limits);
        assert!(state.request(1, "n".repeat(9), "{}".into()).unwrap().contains("longer than 8 bytes"));
        assert!(state.request(2, "a".into(), "x".repeat(11)).unwrap().contains("exceed 10 bytes"));
        // A multi-byte character counts by its bytes on the way out.
        assert!(state.request(3, "a".into(), "é".repeat(6)).unwrap().contains("exceed 10 bytes"));
        for id in 4..6 {
            assert_eq!(state.request(id, "a".into(), "x".repeat(10)), None);
        }
        assert!(state.request(6, "a".into(), "x".repeat(10)).unwrap().contains("more than 25 bytes"));
        assert_eq!(state.request(7, "a".into(), "x".repeat(5)), None);
        assert!(state.request(8, "a".into(), "{}".into()).unwrap().contains("at most 3"));
        assert_eq!(state.take_batch().len(), 3);
        // Answered calls free their room, but the execution's total stays counted.
        assert!(state.request(9, "a".into(), "x".repeat(10)).unwrap().contains("30 bytes"));
        assert_eq!(state.request(10, "a".into(), "x".repeat(5)), None);
        assert_eq!(state.calls, 4);
    }

    #[test]
    fn batches_are_bounded_by_count_and_bytes() {
        let mut state = state(Limits { pending_calls: 100, ..Limits::default() });
        for id in 0..20 {
            assert_eq!(state.request(id, "a".into(), "{}".into()), None);
        }
        assert_eq!(state.take_batch().len(), MAX_BATCH);
        assert_eq!(state.take_batch().len(), 4);
        let big = "x".repeat(1 << 20);
        for id in 0..5 {
            assert_eq!(state.request(id, "a".into(), big.clone()), None);
        }
        assert_eq!(state.take_batch().len(), 4);
        assert_eq!(state.take_batch().len(), 1);
        assert!(state.take_batch().is_empty());
    }
}
