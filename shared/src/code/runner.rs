//! The async side of one execution: starts the engine on its own thread and serves the tool calls it
//! hands over, within the deadline.
//!
//! The engine thread gets only owned data; borrowed gateway state (`App`, the principal) stays on this
//! side, behind [`ToolHost`]. If the deadline passes while tools run, their replies are dropped and the
//! engine stops with a timeout; if this future is dropped, the engine is cancelled.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use futures_util::{stream, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::engine::{self, Dispatch, End, Failure, Job, Outcome, ToolFailure, ToolReply, ToolRequest};

/// Where tool calls from code go. The gateway's implementation is `tools::GatewayTools`.
#[async_trait::async_trait]
pub trait ToolHost: Send + Sync {
    /// Calls the tool exposed as `name`; the result is the MCP `CallToolResult`.
    async fn call(&self, name: &str, arguments: Value) -> Result<Value, ToolFailure>;
}

/// Tool calls of one batch (`Promise.all`) run at most this many at a time.
const CONCURRENT_CALLS: usize = 8;
/// How long after the deadline the engine gets to notice the interrupt before it is abandoned.
const GRACE: Duration = Duration::from_millis(1_000);
/// Native stack of the engine thread; QuickJS's own stack limit (`Limits::stack_bytes`) is below it.
const THREAD_STACK: usize = 8 << 20;

enum ToHost {
    Calls(Vec<ToolRequest>, oneshot::Sender<Vec<ToolReply>>),
    Done(Outcome),
}

struct ChannelDispatch(mpsc::UnboundedSender<ToHost>);

impl Dispatch for ChannelDispatch {
    fn dispatch(&mut self, requests: Vec<ToolRequest>) -> Option<Vec<ToolReply>> {
        let (reply, answer) = oneshot::channel();
        self.0.send(ToHost::Calls(requests, reply)).ok()?;
        // A plain thread, not a runtime worker: blocking here is what it is for.
        answer.blocking_recv().ok()
    }
}

/// Sets the cancel flag when the execution future ends for any reason, so an engine still running
/// (the caller went away, or the grace period passed) is interrupted.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn ended(end: End) -> Outcome {
    Outcome { end, output: Vec::new(), tool_calls: 0, refused_after_finish: 0 }
}

/// Runs `job`, serving its tool calls through `host`.
pub async fn run(job: Job, host: &dyn ToolHost) -> Outcome {
    let cancel = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(Arc::clone(&cancel));
    let deadline = tokio::time::Instant::now() + job.timeout;
    let (to_host, mut from_engine) = mpsc::unbounded_channel();
    let engine_cancel = Arc::clone(&cancel);
    let spawned = std::thread::Builder::new().name("code-engine".into()).stack_size(THREAD_STACK).spawn(move || {
        let mut dispatch = ChannelDispatch(to_host.clone());
        let outcome = engine::run(&job, engine_cancel, &mut dispatch);
        let _ = to_host.send(ToHost::Done(outcome));
    });
    if let Err(error) = spawned {
        return ended(End::Failed(Failure::Engine(format!("thread: {error}"))));
    }
    loop {
        match tokio::time::timeout_at(deadline + GRACE, from_engine.recv()).await {
            Ok(Some(ToHost::Done(outcome))) => return outcome,
            Ok(Some(ToHost::Calls(requests, reply))) => {
                let calls = stream::iter(requests)
                    .map(|request| async move {
                        ToolReply { id: request.id, result: host.call(&request.name, request.arguments).await }
                    })
                    .buffered(CONCURRENT_CALLS)
                    .collect::<Vec<_>>();
                match tokio::time::timeout_at(deadline, calls).await {
                    Ok(replies) => {
                        let _ = reply.send(replies);
                    }
                    // Dropping `reply` tells the engine nobody will answer: it stops with a timeout.
                    Err(_) => cancel.store(true, Ordering::Relaxed),
                }
            }
            // The engine thread ended without a result: it panicked. Nothing of it reaches the caller.
            Ok(None) => return ended(End::Failed(Failure::Engine("engine thread ended without a result".into()))),
            // The engine did not stop in time after the interrupt: give up on it (the flag stops it).
            Err(_) => return ended(End::TimedOut),
        }
    }
}
