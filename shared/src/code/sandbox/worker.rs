//! The sandbox process: reads its job, confines itself, runs the engine on its main thread, and speaks
//! the frame protocol over stdin/stdout. It has no environment, no tokio runtime, no other thread, and
//! after [`confine_worker`] no way to open anything.

use std::io::{self, StdinLock, StdoutLock, Write};

use super::{
    confine::{close_inherited_files, confine_worker},
    protocol::{read_frame, write_frame, FromWorker, MAX_JOB_FRAME},
};
use crate::code::engine::{self, Dispatch, End, Failure, Job, Outcome, ToolReply, ToolRequest};

/// Exit codes, for the host's log when no outcome arrived.
const NO_JOB: i32 = 2;
const NOT_CONFINED: i32 = 3;
const OUTPUT_CLOSED: i32 = 4;

/// Tool calls go out as one frame; the replies come back one frame each. The end of input means the
/// host will not answer (its deadline passed): the engine then stops with a timeout.
struct PipeDispatch<'a> {
    input: StdinLock<'a>,
    output: StdoutLock<'a>,
    /// A reply larger than the engine's whole heap could never be delivered.
    reply_cap: usize,
}

impl Dispatch for PipeDispatch<'_> {
    fn dispatch(&mut self, requests: Vec<ToolRequest>) -> Option<Vec<ToolReply>> {
        let expected = requests.len();
        write_frame(&mut self.output, &FromWorker::Calls(requests)).ok()?;
        let mut replies = Vec::with_capacity(expected);
        while replies.len() < expected {
            replies.push(read_frame::<ToolReply>(&mut self.input, self.reply_cap).ok()??);
        }
        Some(replies)
    }
}

/// Serves one execution; returns the process exit code.
pub(super) fn serve() -> i32 {
    if close_inherited_files().is_err() {
        return NOT_CONFINED;
    }
    let mut input = io::stdin().lock();
    let mut output = io::stdout().lock();
    let job: Job = match read_frame(&mut input, MAX_JOB_FRAME) {
        Ok(Some(job)) => job,
        _ => return NO_JOB,
    };
    // Fail closed: code never runs in a process that could not be confined.
    if let Err(error) = confine_worker(&job.limits) {
        let failed = Outcome {
            end: End::Failed(Failure::Engine(format!("the sandbox could not be confined: {error}"))),
            output: Vec::new(),
            tool_calls: 0,
            refused_after_finish: 0,
        };
        let _ = write_frame(&mut output, &FromWorker::Done(failed));
        return NOT_CONFINED;
    }
    let mut dispatch = PipeDispatch { input, output, reply_cap: job.limits.memory_bytes };
    let outcome = engine::run(&job, &mut dispatch);
    match write_frame(&mut dispatch.output, &FromWorker::Done(outcome)) {
        Ok(()) => dispatch.output.flush().map(|_| 0).unwrap_or(OUTPUT_CLOSED),
        Err(_) => OUTPUT_CLOSED,
    }
}
