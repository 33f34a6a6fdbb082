//! The JavaScript side of one execution, run inside the sandbox process (`code::sandbox`; QuickJS is
//! single-threaded and blocking): a fresh runtime and context with limits, the prelude, the caller's
//! code, and the job loop that hands tool calls to the host and feeds the results back.
//!
//! Nothing here is async and nothing here touches the gateway: tool calls leave through [`Dispatch`],
//! which blocks until the host answered them (or gave up at the deadline). The deadline is enforced
//! here through QuickJS's interrupt handler, which is enough for code that runs bytecode; a builtin
//! that loops in C without polling it is stopped by the host killing the process.

mod memory;
mod sandbox;
mod state;
mod wrap;

use std::{
    cell::RefCell,
    mem,
    rc::Rc,
    time::{Duration, Instant},
};

use rquickjs::{function::Rest, promise::PromiseState, Array, Ctx, Function, Object, Promise, Value};
use serde::{Deserialize, Serialize};

pub use sandbox::SyntaxFailure;
pub use state::{ToolFailure, ToolReply, ToolRequest, FINISHED, MAX_BATCH, MAX_BATCH_BYTES, TRUNCATION_MARKER};
pub use wrap::is_bindable;

use super::config::Limits;
use state::HostState;

/// JSON values that cross between the gateway and the sandbox process as JSON text: a value may nest as
/// deep as serde_json allows (128), and inside a frame as a value it would count against the frame's own
/// depth limit.
mod json_text {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(value: &Value, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        serde_json::from_str(&String::deserialize(deserializer)?).map_err(D::Error::custom)
    }
}

/// One execution, as the sandbox process receives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub code: String,
    /// The caller's `context` object (JSON); available as `context` and, per identifier key, as a binding.
    #[serde(with = "json_text")]
    pub context: serde_json::Value,
    /// `(js-safe helper name, tool name)` for each tool the caller may call.
    pub helpers: Vec<(String, String)>,
    pub limits: Limits,
    pub timeout: Duration,
}

/// How the engine hands queued tool calls to the host: blocks until all of them are answered.
/// `None` means the host will not answer (deadline passed, or the request is gone): stop.
pub trait Dispatch {
    fn dispatch(&mut self, requests: Vec<ToolRequest>) -> Option<Vec<ToolReply>>;
}

/// The engine itself failed (not the code): cannot create a runtime, a context, bytecode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Failure {
    #[error("engine: {0}")]
    Engine(String),
}

impl Failure {
    fn from_engine(error: &rquickjs::Error) -> Self {
        Failure::Engine(error.to_string())
    }
}

/// What the code's `return` produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Returned {
    Undefined,
    Json(#[serde(with = "json_text")] serde_json::Value),
    /// JSON longer than the return-value limit.
    TooLarge,
    /// Not JSON-serializable (cycle, BigInt, a throwing `toJSON`).
    Unserializable,
}

/// An uncaught exception: its `name`, `message`, and the line in the caller's code (0 if unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thrown {
    pub name: String,
    pub message: String,
    pub line: u32,
}

/// How the execution ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum End {
    Returned(Returned),
    Threw(Thrown),
    Syntax(SyntaxFailure),
    /// Wall time passed while the code was running or waiting (or the host stopped answering).
    TimedOut,
    /// An allocation was refused at the memory limit, and the code failed.
    OutOfMemory,
    /// The code awaits something that can never settle: no job left and no tool call pending.
    NeverSettles,
    Failed(Failure),
    /// The sandbox process broke the host's limits or its rules (a message over a cap, a forbidden
    /// system call) and was killed. Only a compromised engine gets here.
    Violated(String),
}

/// Everything the execution produced.
#[derive(Debug, Serialize, Deserialize)]
pub struct Outcome {
    pub end: End,
    pub output: Vec<String>,
    pub tool_calls: usize,
    /// Calls made after the code finished, or still unawaited when it did: refused, never run.
    pub refused_after_finish: usize,
}

/// Runs `job` to completion on the current thread.
pub fn run(job: &Job, dispatch: &mut dyn Dispatch) -> Outcome {
    let deadline = Instant::now() + job.timeout;
    let state = Rc::new(RefCell::new(HostState::new(&job.limits)));
    let end = execute(job, deadline, &state, dispatch).unwrap_or_else(End::Failed);
    let mut state = state.borrow_mut();
    state.finish();
    let output = mem::replace(&mut state.output, state::Output::new(0)).into_lines();
    Outcome { end, output, tool_calls: state.calls, refused_after_finish: state.refused_after_finish }
}

fn execute(
    job: &Job,
    deadline: Instant,
    state: &Rc<RefCell<HostState>>,
    dispatch: &mut dyn Dispatch,
) -> Result<End, Failure> {
    let sandbox::Engine { runtime, fired, out_of_memory } = sandbox::runtime(&job.limits, deadline)?;
    let prelude = sandbox::prelude_bytecode(&runtime)?;
    let params = wrap::parameters(&job.context);
    let code = match sandbox::compile(&runtime, sandbox::CODE_NAME, &wrap::module_source(&job.code, &params))? {
        Ok(bytecode) => bytecode,
        Err(syntax) => return Ok(End::Syntax(syntax)),
    };
    let context = sandbox::context(&runtime)?;
    let run = Run { job, state, fired: &fired, deadline };
    let end = context.with(|ctx| match run.drive(&ctx, prelude, &code, &params, dispatch) {
        Ok(end) => end,
        Err(error) => run.end_from_error(&ctx, &error),
    });
    // Short of memory, the engine may throw `null` or fail to build its error: the refusal decides.
    Ok(match end {
        End::Threw(_) | End::Failed(_) if out_of_memory.get() => End::OutOfMemory,
        end => end,
    })
}

/// The pieces of one execution the job loop needs.
struct Run<'a> {
    job: &'a Job,
    state: &'a Rc<RefCell<HostState>>,
    fired: &'a std::cell::Cell<bool>,
    deadline: Instant,
}

/// The prelude's functions the host uses after installing it.
struct Api<'js> {
    deliver: Function<'js>,
    serialize: Function<'js>,
    describe: Function<'js>,
}

impl Run<'_> {
    fn stopped(&self) -> bool {
        if Instant::now() >= self.deadline {
            self.fired.set(true);
        }
        self.fired.get()
    }

    fn drive<'js>(
        &self,
        ctx: &Ctx<'js>,
        prelude: &[u8],
        code: &[u8],
        params: &[String],
        dispatch: &mut dyn Dispatch,
    ) -> rquickjs::Result<End> {
        let api = self.install(ctx, prelude)?;
        let namespace = sandbox::load(ctx, code)?;
        let Ok(main) = namespace.get::<_, Function>("default") else {
            return Ok(End::Syntax(SyntaxFailure {
                message: "the code closed the function it runs in (unbalanced braces)".into(),
                line: 0,
            }));
        };
        let context: Object = ctx.globals().get("context")?;
        let args = params.iter().map(|p| context.get::<_, Value>(p.as_str())).collect::<rquickjs::Result<Vec<_>>>()?;
        let promise: Promise = main.call((Rest(args),))?;
        loop {
            while promise.state() == PromiseState::Pending && !self.stopped() && ctx.execute_pending_job() {}
            if promise.state() != PromiseState::Pending {
                break;
            }
            if self.stopped() {
                return Ok(End::TimedOut);
            }
            let requests = self.state.borrow_mut().take_batch();
            if requests.is_empty() {
                return Ok(End::NeverSettles);
            }
            let Some(replies) = dispatch.dispatch(requests) else {
                self.fired.set(true);
                return Ok(End::TimedOut);
            };
            for reply in replies {
                let (ok, payload, kind) = match reply.result {
                    Ok(json) => (true, json, ""),
                    Err(ToolFailure::NotFound(message)) => (false, message, "not_found"),
                    Err(ToolFailure::Failed(message)) => (false, message, "failed"),
                };
                api.deliver.call::<_, ()>((reply.id, ok, payload, kind))?;
            }
        }
        // Settled: from here on, console output is dropped and tool calls are refused.
        self.state.borrow_mut().finish();
        match promise.result::<Value>() {
            Some(Ok(value)) => self.returned(&api, value),
            _ => self.threw(&api, ctx.catch()),
        }
    }

    fn install<'js>(&self, ctx: &Ctx<'js>, prelude: &[u8]) -> rquickjs::Result<Api<'js>> {
        let install: Function = sandbox::load(ctx, prelude)?.get("default")?;
        let state = Rc::clone(self.state);
        let host_call = Function::new(ctx.clone(), move |id: u32, name: String, arguments: String| {
            state.borrow_mut().request(id, name, arguments).unwrap_or_default()
        })?;
        let state = Rc::clone(self.state);
        let host_write = Function::new(ctx.clone(), move |line: String| state.borrow_mut().write(line))?;
        let limits = &self.job.limits;
        let helpers = serde_json::to_string(&self.job.helpers).unwrap_or_else(|_| "[]".into());
        let api: Object = install.call((
            host_call,
            host_write,
            self.job.context.to_string(),
            helpers,
            limits.output_chars + 1,
            limits.arguments_chars,
            limits.return_chars,
        ))?;
        Ok(Api { deliver: api.get("deliver")?, serialize: api.get("serialize")?, describe: api.get("describe")? })
    }

    fn returned<'js>(&self, api: &Api<'js>, value: Value<'js>) -> rquickjs::Result<End> {
        let pair: Array = match api.serialize.call((value,)) {
            Ok(pair) => pair,
            Err(_) if self.stopped() => return Ok(End::TimedOut),
            Err(_) => return Ok(End::Returned(Returned::Unserializable)),
        };
        let status: String = pair.get(0)?;
        let returned = match status.as_str() {
            "undefined" => Returned::Undefined,
            "too_large" => Returned::TooLarge,
            "ok" => {
                let json: String = pair.get(1)?;
                // serde_json refuses nesting deeper than 128 levels: report it like any unserializable value.
                serde_json::from_str(&json).map(Returned::Json).unwrap_or(Returned::Unserializable)
            }
            _ => Returned::Unserializable,
        };
        Ok(End::Returned(returned))
    }

    fn threw<'js>(&self, api: &Api<'js>, reason: Value<'js>) -> rquickjs::Result<End> {
        if self.stopped() {
            return Ok(End::TimedOut);
        }
        let Ok(described) = api.describe.call::<_, Array>((reason,)) else {
            return Ok(if self.stopped() { End::TimedOut } else { End::Threw(unknown_exception()) });
        };
        Ok(End::Threw(Thrown { name: described.get(0)?, message: described.get(1)?, line: described.get(2)? }))
    }

    /// An engine error outside the job loop (installing, loading, calling): a timeout if the interrupt
    /// fired, else the pending exception.
    fn end_from_error(&self, ctx: &Ctx<'_>, error: &rquickjs::Error) -> End {
        if self.stopped() {
            return End::TimedOut;
        }
        if !matches!(error, rquickjs::Error::Exception) {
            return End::Failed(Failure::from_engine(error));
        }
        let thrown = ctx.catch();
        let Some(exception) = thrown.as_exception() else {
            return End::Threw(unknown_exception());
        };
        let name = exception.as_object().get::<_, String>("name").unwrap_or_else(|_| "Error".into());
        End::Threw(Thrown { name, message: exception.message().unwrap_or_default(), line: 0 })
    }
}

fn unknown_exception() -> Thrown {
    Thrown { name: "Error".into(), message: "an exception that could not be described".into(), line: 0 }
}
