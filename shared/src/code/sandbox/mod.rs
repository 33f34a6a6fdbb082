//! Every execution runs in its own process, which the gateway kills at the deadline.
//!
//! QuickJS stops code through an interrupt handler it polls while running bytecode, but some builtins
//! loop in C without polling it (`Array.prototype.includes.call({length: 2 ** 53 - 1}, 1)`, `indexOf`,
//! `lastIndexOf`, any builtin walking a huge array-like or string). In a thread such a loop cannot be
//! stopped. In a process it can: the host (`host`) kills it with SIGKILL at the deadline plus a short
//! grace and reaps it, whatever it runs, so no execution keeps CPU, threads or memory past its deadline.
//!
//! The process is this same binary started again (`/proc/self/exe`) with a marker argument: every binary
//! that can run code calls [`serve_if_child`] first thing in `main`, which turns the process into the
//! sandbox worker (`worker`) when the marker is there and returns otherwise. It starts with an empty
//! environment and rlimits, confines itself with a seccomp filter before it reads the code (`confine`),
//! and talks to the host over its stdin/stdout in length-prefixed JSON frames (`protocol`) that the
//! host holds to hard caps.

mod confine;
mod host;
mod protocol;
mod worker;

use std::{
    ffi::OsStr,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        OnceLock,
    },
    time::Duration,
};

use tokio::sync::{Semaphore, SemaphorePermit};

use serde_json::Value;

use super::{
    engine::{Job, ToolFailure},
    result::{ExecutionResult, Reading},
};

/// The argument that makes a process the sandbox worker.
pub const WORKER_ARG: &str = "--mcp-gateway-code-sandbox";

/// Set once this process called [`serve_if_child`] and is not the worker: its own binary can serve as one.
static WORKER_BINARY: AtomicBool = AtomicBool::new(false);
/// Another binary to start sandboxes from, in a process whose own binary cannot serve (see [`use_worker`]).
static OTHER_WORKER: OnceLock<PathBuf> = OnceLock::new();

/// Call first in `main` of every binary that runs code (before any runtime or thread starts). In the
/// sandbox process it serves the execution and exits; in any other process it marks the process
/// non-dumpable (a sandbox must not read its environment or memory) and returns.
pub fn serve_if_child() {
    if std::env::args_os().nth(1).as_deref() == Some(OsStr::new(WORKER_ARG)) {
        std::process::exit(worker::serve());
    }
    confine::protect_host_process();
    WORKER_BINARY.store(true, Ordering::Release);
}

/// The executions this process runs at once (sized by the first caller: one configuration per process).
static SLOTS: OnceLock<Semaphore> = OnceLock::new();

/// A slot for one execution among `size` per process, waiting at most `wait`; `None` if every slot stayed
/// busy. Bounds the processes (and their memory) a burst of requests can start at once.
pub async fn slot(size: usize, wait: Duration) -> Option<SemaphorePermit<'static>> {
    let slots = SLOTS.get_or_init(|| Semaphore::new(size.max(1)));
    tokio::time::timeout(wait, slots.acquire()).await.ok()?.ok()
}

/// Starts this process's sandboxes from `binary` (which calls [`serve_if_child`] first thing), when its
/// own binary cannot serve: the library's tests and benchmarks (`shared::testing`). The first call wins;
/// a binary that called [`serve_if_child`] keeps using itself.
pub fn use_worker(binary: PathBuf) {
    let _ = OTHER_WORKER.set(binary);
}

/// Where tool calls from code go. The gateway's implementation is `tools::GatewayTools`.
#[async_trait::async_trait]
pub trait ToolHost: Send + Sync {
    /// Calls the tool exposed as `name`; the result is the MCP `CallToolResult`.
    async fn call(&self, name: &str, arguments: Value) -> Result<Value, ToolFailure>;
}

/// Starts sandbox processes from one worker binary.
#[derive(Debug, Clone)]
pub struct Sandbox {
    worker: Option<PathBuf>,
}

impl Sandbox {
    /// This process's own binary, if it called [`serve_if_child`]; else the one given to [`use_worker`];
    /// else no sandbox at all (the `mcp` function, which hands code to the `code` function instead).
    pub fn current() -> Self {
        let worker = match WORKER_BINARY.load(Ordering::Acquire) {
            true => Some(PathBuf::from("/proc/self/exe")),
            false => OTHER_WORKER.get().cloned(),
        };
        Self { worker }
    }

    /// Workers started from `binary` (which must call [`serve_if_child`]): for tests and benchmarks,
    /// e.g. `env!("CARGO_BIN_EXE_code")`.
    pub fn with_worker(binary: impl Into<PathBuf>) -> Self {
        Self { worker: Some(binary.into()) }
    }

    /// Whether this process can run code at all.
    pub fn is_available(&self) -> bool {
        self.worker.is_some()
    }

    /// Runs `job` in a new sandbox process, tool calls served by `host`, and reads the outcome into the
    /// result shape.
    pub async fn run(&self, job: Job, host: &dyn ToolHost) -> ExecutionResult {
        let started = std::time::Instant::now();
        let limits = job.limits.clone();
        let timeout_ms = job.timeout.as_millis() as u64;
        let outcome = match &self.worker {
            Some(worker) => host::run(worker, job, host).await,
            None => super::engine::Outcome {
                end: super::engine::End::Failed(super::engine::Failure::Engine("no sandbox in this process".into())),
                output: Vec::new(),
                tool_calls: 0,
                refused_after_finish: 0,
            },
        };
        let reading = Reading { limits: &limits, timeout_ms, execution_time: started.elapsed().as_millis() as u64 };
        ExecutionResult::from_outcome(outcome, &reading)
    }
}

#[cfg(test)]
mod tests;
