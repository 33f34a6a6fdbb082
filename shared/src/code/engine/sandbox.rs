//! A fresh QuickJS runtime and context per execution, and how code gets into it.
//!
//! The sandbox context is created WITHOUT the engine's eval support: `eval`, `new Function(...)` and
//! every constructor chain that ends at a function constructor fail inside the engine itself ("eval is
//! not supported"), whatever path the code finds to them. Code therefore cannot be evaluated from
//! source in that context; it is compiled to bytecode in a second, throw-away context of the same
//! runtime (which has the compiler and nothing else) and loaded into the sandbox as a module. Bytecode
//! is only ever produced here, from this build of the engine, and never accepted from outside.

use std::{cell::Cell, rc::Rc, sync::OnceLock, time::Instant};

use rquickjs::{
    context::intrinsic,
    module::{Declared, WriteOptions},
    Context, Ctx, Exception, Module, Object, Runtime, Value,
};

use super::{memory::Metered, Failure, Limits};

/// The intrinsics the caller's code gets: the language core, Date, RegExp, JSON, Map/Set, Promise,
/// BigInt. Deliberately absent: Eval (see the module docs), Proxy, typed arrays and ArrayBuffer,
/// WeakRef/FinalizationRegistry (callbacks outside the job loop), Performance. No host objects exist.
type SandboxIntrinsics = (
    intrinsic::Date,
    intrinsic::RegExpCompiler,
    intrinsic::RegExp,
    intrinsic::Json,
    intrinsic::MapSet,
    intrinsic::Promise,
    intrinsic::BigInt,
);

/// What the compiler context needs to turn source into bytecode.
type CompilerIntrinsics = (intrinsic::Eval, intrinsic::RegExpCompiler, intrinsic::BigInt);

const PRELUDE_SOURCE: &str = include_str!("prelude.js");
pub(super) const PRELUDE_NAME: &str = "prelude.js";
/// The module name the caller's code has; error stacks mention it (never a host path).
pub(super) const CODE_NAME: &str = "code.js";

/// The prelude's bytecode, compiled once per process: it is the same for every execution.
static PRELUDE: OnceLock<Vec<u8>> = OnceLock::new();

/// A runtime and what its hooks observed.
pub(super) struct Engine {
    pub runtime: Runtime,
    /// The interrupt handler stopped the code (wall time passed): the outcome is
    /// a timeout, whatever error the engine raised while unwinding.
    pub fired: Rc<Cell<bool>>,
    /// An allocation was refused at the memory limit.
    pub out_of_memory: Rc<Cell<bool>>,
}

/// A new runtime with the execution's limits.
pub(super) fn runtime(limits: &Limits, deadline: Instant) -> Result<Engine, Failure> {
    let (allocator, out_of_memory) = Metered::new(limits.memory_bytes);
    let runtime = Runtime::new_with_alloc(allocator).map_err(|e| Failure::Engine(format!("runtime: {e}")))?;
    runtime.set_max_stack_size(limits.stack_bytes);
    // Collect garbage often enough that the limit is about live data, not garbage.
    runtime.set_gc_threshold(limits.memory_bytes / 8);
    let fired = Rc::new(Cell::new(false));
    let flag = Rc::clone(&fired);
    // QuickJS polls this during bytecode execution (loops and calls included) and inside the regexp
    // engine; returning true raises an exception the code cannot catch.
    runtime.set_interrupt_handler(Some(Box::new(move || {
        let stop = Instant::now() >= deadline;
        if stop {
            flag.set(true);
        }
        stop
    })));
    Ok(Engine { runtime, fired, out_of_memory })
}

/// The sandbox context: no eval, no host objects.
pub(super) fn context(runtime: &Runtime) -> Result<Context, Failure> {
    Context::custom::<SandboxIntrinsics>(runtime).map_err(|e| Failure::Engine(format!("context: {e}")))
}

/// A syntax error in the caller's code: the engine's message and the line, when known.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyntaxFailure {
    pub message: String,
    pub line: u32,
}

/// Compiles `source` as the module `name` in a throw-away compiler context of `runtime`.
pub(super) fn compile(runtime: &Runtime, name: &str, source: &str) -> Result<Result<Vec<u8>, SyntaxFailure>, Failure> {
    let compiler =
        Context::custom::<CompilerIntrinsics>(runtime).map_err(|e| Failure::Engine(format!("compiler: {e}")))?;
    let compiled = compiler.with(|ctx| match Module::declare(ctx.clone(), name, source) {
        Ok(module) => {
            module.write(WriteOptions::default()).map(Ok).map_err(|e| Failure::Engine(format!("bytecode: {e}")))
        }
        Err(rquickjs::Error::Exception) => Ok(Err(syntax_failure(&ctx, ctx.catch()))),
        Err(e) => Err(Failure::from_engine(&e)),
    });
    drop(compiler);
    compiled
}

fn syntax_failure(_ctx: &Ctx<'_>, thrown: Value<'_>) -> SyntaxFailure {
    let exception = thrown.as_exception();
    let message = exception.and_then(Exception::message).unwrap_or_else(|| "invalid code".into());
    let out_of_memory = message.contains("out of memory");
    let line = exception.and_then(Exception::stack).and_then(|s| line_in(&s, CODE_NAME)).unwrap_or(0);
    SyntaxFailure { message: if out_of_memory { "out of memory".into() } else { message }, line }
}

/// The line number after `name:` in a stack trace.
pub(super) fn line_in(stack: &str, name: &str) -> Option<u32> {
    let rest = &stack[stack.find(&format!("{name}:"))? + name.len() + 1..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The prelude's bytecode (compiled on first use with this runtime, then shared).
pub(super) fn prelude_bytecode(runtime: &Runtime) -> Result<&'static [u8], Failure> {
    if let Some(bytes) = PRELUDE.get() {
        return Ok(bytes);
    }
    let bytes = compile(runtime, PRELUDE_NAME, PRELUDE_SOURCE)?
        .map_err(|e| Failure::Engine(format!("prelude does not compile: {} (line {})", e.message, e.line)))?;
    Ok(PRELUDE.get_or_init(|| bytes))
}

/// Loads compiled module bytecode into the sandbox and evaluates it; returns its namespace.
pub(super) fn load<'js>(ctx: &Ctx<'js>, bytecode: &[u8]) -> rquickjs::Result<Object<'js>> {
    // SAFETY: `bytecode` was produced by `compile` above, by this same engine build in this process;
    // it is never read from a request or from storage.
    let module: Module<'js, Declared> = unsafe { Module::load(ctx.clone(), bytecode)? };
    let (module, _evaluated) = module.eval()?;
    module.namespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_numbers_are_read_from_the_stack() {
        assert_eq!(line_in("    at f (code.js:12:3)\n", CODE_NAME), Some(12));
        assert_eq!(line_in("    at <eval> (prelude.js:3:1)\n", CODE_NAME), None);
    }

    /// The guarantee under the prelude's hardening: without the prelude, the engine itself refuses to
    /// build a function from a string in the sandbox context.
    #[test]
    fn the_sandbox_context_cannot_compile_strings() {
        let runtime = Runtime::new().unwrap();
        let source = "let r = [];
            for (const make of [() => (function () {}).constructor('return 1')(), () => eval('1'),
                                () => (async () => {}).constructor('return 1')]) {
              try { r.push(String(make())) } catch (e) { r.push(e.message) }
            }
            export default r;";
        let bytecode = compile(&runtime, CODE_NAME, source).unwrap().unwrap();
        let messages: Vec<String> =
            context(&runtime).unwrap().with(|ctx| load(&ctx, &bytecode)?.get("default")).unwrap();
        assert_eq!(messages, ["eval is not supported"; 3]);
    }

    #[test]
    fn prelude_compiles() {
        let runtime = Runtime::new().unwrap();
        assert!(prelude_bytecode(&runtime).is_ok());
    }
}
