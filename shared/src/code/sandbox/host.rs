//! The gateway's side of one execution: spawn the sandbox process, hand it the job, serve its tool
//! calls within the deadline, and make sure it is gone afterwards — killed (SIGKILL) at the deadline
//! plus a short grace if it has not finished, and always reaped.
//!
//! Whatever the code runs (a builtin looping in C never polls the engine's interrupt handler), nothing
//! of it outlives `deadline + GRACE`: the process is killed, and with it every byte and every cycle it
//! held. If this future is dropped (the caller went away), `kill_on_drop` kills the process too.

use std::{
    os::unix::process::ExitStatusExt,
    path::Path,
    process::{ExitStatus, Stdio},
    time::Duration,
};

use futures_util::{stream, StreamExt};
use serde_json::Value;
use tokio::{
    io::AsyncReadExt,
    process::{Child, ChildStdin, ChildStdout, Command},
    time::{timeout, timeout_at, Instant},
};

use super::{
    confine::ChildLimits,
    protocol::{encode, receive, send, Caps, FrameError, FromWorker},
    ToolHost, WORKER_ARG,
};
use crate::code::{
    config::Limits,
    engine::{End, Failure, Job, Outcome, ToolFailure, ToolReply, ToolRequest, MAX_BATCH},
    TRUNCATION_MARKER,
};

/// How long after the deadline the sandbox gets to report its own timeout (with the output it has)
/// before it is killed.
pub(super) const GRACE: Duration = Duration::from_millis(250);
/// Tool calls of one batch (`Promise.all`) run at most this many at a time.
const CONCURRENT_CALLS: usize = 8;
/// What is read of the sandbox's stderr, only to recognise an allocation failure; never logged or shown.
const STDERR_BYTES: u64 = 4096;

/// How the exchange stopped, before the process is reaped.
enum Stop {
    Done(Outcome),
    /// The deadline and the grace passed.
    Deadline,
    /// The sandbox closed its output without an outcome: it exited or was killed by the kernel.
    Exited,
    Violated(String),
}

struct Exchange<'a> {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
    limits: &'a Limits,
    caps: Caps,
    deadline: Instant,
    /// Calls the host received, and bytes, over the whole execution.
    calls: usize,
    received: usize,
}

fn ended(end: End, tool_calls: usize) -> Outcome {
    Outcome { end, output: Vec::new(), tool_calls, refused_after_finish: 0 }
}

/// Runs `job` in a new sandbox process started from `worker`, serving its tool calls through `host`.
pub(super) async fn run(worker: &Path, job: Job, host: &dyn ToolHost) -> Outcome {
    let deadline = Instant::now() + job.timeout;
    let mut command = Command::new(worker);
    command
        .arg(WORKER_ARG)
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let limits = ChildLimits::new(&job.limits, job.timeout);
    // SAFETY: `apply` only makes setrlimit/prctl system calls, which are async-signal-safe.
    unsafe { command.pre_exec(move || limits.apply()) };
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return ended(End::Failed(Failure::Engine(format!("cannot start the sandbox: {error}"))), 0),
    };
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return ended(End::Failed(Failure::Engine("the sandbox has no pipes".into())), 0);
    };
    let caps = Caps::for_limits(&job.limits);
    let mut exchange =
        Exchange { child, stdin: Some(stdin), stdout, limits: &job.limits, caps, deadline, calls: 0, received: 0 };
    let stop = exchange.drive(&job, host).await;
    exchange.finish(stop).await
}

impl Exchange<'_> {
    fn hard_stop(&self) -> Instant {
        self.deadline + GRACE
    }

    async fn drive(&mut self, job: &Job, host: &dyn ToolHost) -> Stop {
        let hard_stop = self.hard_stop();
        let (Some(stdin), Ok(frame)) = (self.stdin.as_mut(), encode(job)) else { return Stop::Exited };
        if !matches!(timeout_at(hard_stop, send(stdin, &frame)).await, Ok(Ok(()))) {
            return Stop::Exited;
        }
        loop {
            let bytes = match timeout_at(self.hard_stop(), receive(&mut self.stdout, self.caps.frame())).await {
                Err(_) => return Stop::Deadline,
                Ok(Ok(Some(bytes))) => bytes,
                Ok(Ok(None)) => return Stop::Exited,
                Ok(Err(FrameError::TooLarge { size, cap })) => {
                    return Stop::Violated(format!("a message of {size} bytes (at most {cap})"));
                }
                Ok(Err(FrameError::Io(_))) => return Stop::Exited,
            };
            self.received += bytes.len();
            if self.received > self.caps.total {
                return Stop::Violated(format!("more than {} bytes in one execution", self.caps.total));
            }
            let batch = match serde_json::from_slice::<FromWorker>(&bytes) {
                Ok(FromWorker::Done(outcome)) if bytes.len() <= self.caps.done_frame => {
                    if !output_within(&outcome.output, self.limits) {
                        return Stop::Violated("console output over its limit".into());
                    }
                    return Stop::Done(outcome);
                }
                Ok(FromWorker::Calls(batch)) if bytes.len() <= self.caps.calls_frame => batch,
                Ok(_) => return Stop::Violated(format!("a message of {} bytes over its kind's limit", bytes.len())),
                Err(_) => return Stop::Violated("a message the host cannot read".into()),
            };
            drop(bytes);
            if let Err(broken) = self.check(&batch) {
                return Stop::Violated(broken);
            }
            self.calls += batch.len();
            let replies = serve(batch, host);
            match timeout_at(self.deadline, replies).await {
                Ok(replies) => {
                    if !self.reply(replies).await {
                        // The sandbox stopped reading (it is stuck or gone): its outcome or its end follows.
                        self.stdin = None;
                    }
                }
                // The deadline passed while tools ran: their results are dropped; the closed pipe tells
                // the sandbox nobody will answer, and it reports a timeout with the output it has.
                Err(_) => self.stdin = None,
            }
        }
    }

    /// The caps every batch is held to, whatever the sandbox claims.
    fn check(&self, batch: &[ToolRequest]) -> Result<(), String> {
        let limits = self.limits;
        if batch.is_empty() || batch.len() > MAX_BATCH {
            return Err(format!("a batch of {} tool calls (at most {MAX_BATCH} pending)", batch.len()));
        }
        if self.calls + batch.len() > limits.max_tool_calls {
            return Err(format!("more than {} tool calls", limits.max_tool_calls));
        }
        for request in batch {
            if request.name.len() > limits.tool_name_bytes {
                return Err(format!("a tool name longer than {} bytes", limits.tool_name_bytes));
            }
            if request.arguments.len() > limits.arguments_chars {
                return Err(format!("tool arguments over {} bytes", limits.arguments_chars));
            }
        }
        Ok(())
    }

    /// Sends one frame per reply; `false` if the sandbox does not take them before the hard stop.
    async fn reply(&mut self, replies: Vec<ToolReply>) -> bool {
        let hard_stop = self.hard_stop();
        // A result the sandbox could never hold is a failed call, not a dead sandbox.
        let cap = self.limits.memory_bytes / 2;
        let Some(stdin) = self.stdin.as_mut() else { return false };
        for mut reply in replies {
            if let Ok(json) = &reply.result {
                if json.len() > cap {
                    let failure = format!("the tool result ({} bytes) is larger than code may hold", json.len());
                    reply.result = Err(ToolFailure::Failed(failure));
                }
            }
            let Ok(frame) = encode(&reply) else { return false };
            if !matches!(timeout_at(hard_stop, send(stdin, &frame)).await, Ok(Ok(()))) {
                return false;
            }
        }
        true
    }

    /// Kills the process unless it ended by itself, reaps it, and reads how the execution ended.
    async fn finish(mut self, stop: Stop) -> Outcome {
        self.stdin = None;
        let calls = self.calls;
        match stop {
            Stop::Done(outcome) => {
                // It exits right after its outcome; one that lingers is killed.
                let _ = self.reap(GRACE).await;
                outcome
            }
            Stop::Deadline => {
                self.kill().await;
                ended(End::TimedOut, calls)
            }
            Stop::Violated(what) => {
                self.kill().await;
                tracing::warn!(audit = true, broke = %what, "sandbox killed: it broke the host's limits");
                ended(End::Violated(format!("it sent {what}")), calls)
            }
            Stop::Exited => {
                let status = self.reap(GRACE).await;
                let mut stderr = Vec::new();
                if let Some(pipe) = self.child.stderr.take() {
                    let _ = timeout(GRACE, pipe.take(STDERR_BYTES).read_to_end(&mut stderr)).await;
                }
                ended(after_exit(status, &stderr), calls)
            }
        }
    }

    /// Waits up to `wait` for the process to exit, then kills it; always reaps it.
    async fn reap(&mut self, wait: Duration) -> Option<ExitStatus> {
        match timeout(wait, self.child.wait()).await {
            Ok(status) => status.ok(),
            Err(_) => {
                self.kill().await;
                None
            }
        }
    }

    async fn kill(&mut self) {
        // SIGKILL, then wait: the process is gone (not a zombie) when this returns.
        if let Err(error) = self.child.kill().await {
            tracing::error!(%error, "could not kill a sandbox process");
        }
    }
}

/// Runs one batch against the host, a few calls at a time.
async fn serve(batch: Vec<ToolRequest>, host: &dyn ToolHost) -> Vec<ToolReply> {
    stream::iter(batch)
        .map(|request| async move {
            let result = match serde_json::from_str::<Value>(&request.arguments) {
                Ok(arguments) => host.call(&request.name, arguments).await.map(|result| result.to_string()),
                // `JSON.stringify` output only fails to parse when nested deeper than serde_json allows.
                Err(_) => {
                    Err(ToolFailure::Failed(format!("callTool({}): arguments are nested too deeply", request.name)))
                }
            };
            ToolReply { id: request.id, result }
        })
        .buffered(CONCURRENT_CALLS)
        .collect()
        .await
}

/// Whether console lines keep to the output limit (a line costs at least one character; the sandbox
/// cuts the last one to fit and appends the marker).
fn output_within(lines: &[String], limits: &Limits) -> bool {
    let counted = match lines.split_last() {
        Some((last, rest)) if last == TRUNCATION_MARKER => rest,
        _ => lines,
    };
    counted.iter().map(|line| line.chars().count().max(1)).sum::<usize>() <= limits.output_chars
}

/// The start of what Rust prints before aborting on a failed allocation.
const ALLOCATION_FAILED: &[u8] = b"memory allocation of";

/// How a sandbox that sent no outcome ended.
fn after_exit(status: Option<ExitStatus>, stderr: &[u8]) -> End {
    let signal = status.and_then(|s| s.signal());
    tracing::warn!(?status, ?signal, "sandbox process ended without an outcome");
    match signal {
        Some(libc::SIGSYS) => End::Violated("a system call the sandbox does not allow".into()),
        // The CPU-time backstop (soft, then hard limit).
        Some(libc::SIGXCPU | libc::SIGKILL) => End::TimedOut,
        // Rust's allocation-failure message: the address-space limit, outside the engine's heap.
        _ if stderr.windows(ALLOCATION_FAILED.len()).any(|w| w == ALLOCATION_FAILED) => End::OutOfMemory,
        _ => End::Failed(Failure::Engine(format!("the sandbox process ended without an outcome ({status:?})"))),
    }
}
