//! Every escape the issue lists, contained with the right kind, and the next execution still working.

use std::time::{Duration, Instant};

use serde_json::json;

use super::fake::{job, run, run_job};
use shared::code::{ErrorKind, ExecutionResult, Limits, RETURN_TOO_LARGE, TRUNCATION_MARKER};

/// Runs `code`, expects it to fail with `kind`, then checks a fresh execution still works.
async fn contained(code: &str, kind: ErrorKind) -> ExecutionResult {
    let r = run(code).await;
    assert!(!r.success, "{code}: expected {kind:?}, got success {r:?}");
    assert_eq!(r.error_kind, Some(kind), "{code}: {r:?}");
    let error = r.error.clone().unwrap_or_default();
    assert!(!error.is_empty() && !error.contains("code.js:") && !error.contains("/work/"), "{code}: {error}");
    assert!(!r.hints.is_empty() || kind == ErrorKind::Reference || kind == ErrorKind::Runtime, "{code}: {r:?}");
    still_works().await;
    r
}

async fn still_works() {
    let next = run("return 40 + 2").await;
    assert_eq!((next.success, &next.return_value), (true, &Some(json!(42))), "{next:?}");
}

#[tokio::test]
async fn trivial_script_returns_its_value() {
    let r = run("console.log('hi', {a: 1}); console.warn('w'); return 1 + 1").await;
    assert!(r.success, "{r:?}");
    assert_eq!(r.return_value, Some(json!(2)));
    assert_eq!(r.output, ["hi {\"a\":1}", "[WARN] w"]);
    assert!(!r.hints.is_empty());
}

#[tokio::test]
async fn host_names_do_not_exist() {
    let names = "process require module exports Buffer global __dirname __filename Function eval WebAssembly \
                 setTimeout setInterval setImmediate queueMicrotask fetch XMLHttpRequest SharedArrayBuffer";
    let code = format!("return '{names}'.split(' ').filter(n => typeof globalThis[n] !== 'undefined')");
    let r = run(&code).await;
    assert_eq!(r.return_value, Some(json!([])), "{r:?}");
    let r = run("return [this === undefined, (function () { return this })() === undefined]").await;
    assert_eq!(r.return_value, Some(json!([true, true])), "{r:?}");
}

#[tokio::test]
async fn stack_trace_hooks_hand_out_no_functions() {
    let code = "try { Error.prepareStackTrace = (e, frames) => frames } catch (e) {}
                let stack; try { null.x } catch (e) { stack = e.stack }
                return [typeof Error.captureStackTrace, typeof stack]";
    let r = run(code).await;
    assert_eq!(r.return_value, Some(json!(["undefined", "string"])), "{r:?}");
}

#[tokio::test]
async fn the_prelude_cannot_be_run_again() {
    // Modules are found by name; importing the prelude gives its install function, which cannot
    // reinstall anything (the hardened properties are frozen) and never sees the host functions.
    let code = "const m = await import('prelude.js');
                m.default(() => '', () => {}, '{}', '[]', 10, 10, 10)";
    let r = run(code).await;
    assert!(!r.success && r.error_kind != Some(ErrorKind::Timeout), "{r:?}");
    still_works().await;
}

#[tokio::test]
async fn host_access_is_a_security_error() {
    contained("process.exit(1)", ErrorKind::Security).await;
    contained("return require('fs').readFileSync('/etc/passwd', 'utf8')", ErrorKind::Security).await;
    contained("const fs = await import('fs'); return fs", ErrorKind::Security).await;
    contained("return eval('1 + 1')", ErrorKind::Security).await;
    contained("setTimeout(() => {}, 10)", ErrorKind::Security).await;
    contained("return await fetch('http://169.254.169.254/')", ErrorKind::Security).await;
}

#[tokio::test]
async fn function_construction_is_refused_on_every_path() {
    for code in [
        "return Function('return process')()",
        "return new Function('return 1')()",
        "return ({}).constructor.constructor('return process')()",
        "return [].constructor.constructor('return this')()",
        "return (function () {}).constructor('return process')()",
        "return (async function () {}).constructor('return process')()",
        "return (async () => {}).constructor('return 1')()",
        "return (function* () {}).constructor('yield 1')().next()",
        "return (async function* () {}).constructor('yield 1')",
        "return new Error().constructor.constructor('return process')()",
        "return Promise.constructor('return process')()",
        "return Promise.resolve().then.constructor('return 1')()",
        "return console.log.constructor('return process')()",
        "return callTool.constructor('return process')()",
        "return demo_add.__proto__.constructor('return 1')()",
        "return Math.max.__proto__.constructor('return 1')()",
        "return JSON.parse.__proto__.constructor('return 1')()",
        "return String.prototype.constructor.constructor('return 1')()",
        "return Reflect.construct(Object.getPrototypeOf(() => {}).constructor, ['return 1'])()",
        "return Object.getOwnPropertyDescriptor(Object.getPrototypeOf(async () => {}), 'constructor').value('x')",
    ] {
        contained(code, ErrorKind::Security).await;
    }
}

#[tokio::test]
async fn constructors_cannot_be_restored() {
    // The replaced constructors are frozen in place: code cannot put the original back.
    let r = run("delete Object.getPrototypeOf(() => 0).constructor").await;
    assert_eq!(r.error_kind, Some(ErrorKind::Runtime), "{r:?}");
    let r = run("Object.defineProperty(Object.getPrototypeOf(() => 0), 'constructor', {value: 1})").await;
    assert_eq!(r.error_kind, Some(ErrorKind::Runtime), "{r:?}");
    still_works().await;
}

#[tokio::test]
async fn prototype_pollution_does_not_reach_the_next_run() {
    let r = run("Object.prototype.polluted = 42; Array.prototype.map = null; JSON.stringify = null; return 1").await;
    assert!(r.success, "{r:?}");
    let r = run("return [({}).polluted === undefined, typeof [].map, typeof JSON.stringify]").await;
    assert_eq!(r.return_value, Some(json!([true, "function", "function"])), "{r:?}");
}

#[tokio::test]
async fn polluting_builtins_only_confuses_the_run_itself() {
    // The prelude captured what it needs before the code ran.
    let code = "JSON.stringify = () => { throw 1 }; Map.prototype.get = null; Object.prototype.then = 1;
                const r = await callTool('demo_add', {a: 1, b: 2}); return r.structuredContent.result";
    let r = run(code).await;
    assert_eq!(r.return_value, Some(json!(3)), "{r:?}");
}

#[tokio::test]
async fn infinite_loops_time_out() {
    for code in
        ["while (true) {}", "for (;;) { try { while (true) {} } catch (e) {} }", "/(a+)+$/.test('a'.repeat(40) + 'b')"]
    {
        let started = Instant::now();
        let r = contained(code, ErrorKind::Timeout).await;
        assert!(r.error.unwrap().contains("timed out after 2000 ms"));
        assert!(started.elapsed() < Duration::from_secs(5), "{code}");
    }
}

#[tokio::test]
async fn a_promise_that_never_settles_ends_at_once() {
    let started = Instant::now();
    let r = contained("await new Promise(() => {}); console.log('never')", ErrorKind::Timeout).await;
    assert!(r.output.is_empty(), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn microtask_loops_time_out() {
    contained("for (;;) await null", ErrorKind::Timeout).await;
}

#[tokio::test]
async fn memory_bombs_hit_the_memory_limit() {
    let small = Limits { memory_bytes: 16 << 20, ..Limits::default() };
    for code in ["let s = 'x'; while (true) s += s;", "const a = []; while (true) a.push({ n: a.length })"] {
        let r = run_job(shared::code::Job { limits: small.clone(), ..job(code) }).await;
        assert_eq!(r.error_kind, Some(ErrorKind::Memory), "{code}: {r:?}");
        assert!(r.error.unwrap().contains("memory limit of 16 MB"));
        still_works().await;
    }
}

#[tokio::test]
async fn deep_recursion_is_a_stack_overflow() {
    let r = contained("function f(n) { return f(n + 1) + 1 } return f(0)", ErrorKind::Runtime).await;
    let error = r.error.clone().unwrap();
    assert!(error.contains("call stack") && r.hints.iter().any(|h| h.contains("Recursion")), "{error}");
    // Deeply nested data: serializing it overflows too, and the value is reported, not the host.
    let r = run("let o = {}; for (let i = 0; i < 100000; i++) o = {o}; return o").await;
    assert_eq!(r.return_value, Some(json!(shared::code::RETURN_UNSERIALIZABLE)), "{r:?}");
}

#[tokio::test]
async fn huge_output_is_truncated_once() {
    let r = run("for (let i = 0; i < 5000; i++) console.log('x'.repeat(100)); return 'done'").await;
    assert!(r.success, "{:?}", r.error);
    assert_eq!(r.output.last().map(String::as_str), Some(TRUNCATION_MARKER));
    assert_eq!(r.output.iter().filter(|l| l.as_str() == TRUNCATION_MARKER).count(), 1);
    let chars: usize = r.output.iter().map(|l| l.chars().count()).sum();
    assert!(chars <= 102_400 + TRUNCATION_MARKER.len(), "{chars}");
    let r = run("console.log('y'.repeat(10000000)); return 1").await;
    assert_eq!(r.output.len(), 2, "one cut line and the marker");
}

#[tokio::test]
async fn huge_return_values_become_a_sentinel() {
    let r = run("return 'x'.repeat(200000)").await;
    assert!(r.success);
    assert_eq!(r.return_value, Some(json!(RETURN_TOO_LARGE)));
    assert!(r.hints.iter().any(|h| h.contains("smaller summary")));
    let r = run("const a = {}; a.self = a; return a").await;
    assert_eq!(r.return_value, Some(json!(shared::code::RETURN_UNSERIALIZABLE)));
    let r = run("return 10n").await;
    assert_eq!(r.return_value, Some(json!(shared::code::RETURN_UNSERIALIZABLE)));
}

#[tokio::test]
async fn syntax_errors_name_the_line_and_typescript_is_not_javascript() {
    let r = contained("const a = 1;\nreturn a +", ErrorKind::Syntax).await;
    assert!(r.error.unwrap().starts_with("[SYNTAX]"));
    let r = contained("const x: number = 1;\nreturn x", ErrorKind::Syntax).await;
    assert!(r.error.unwrap().contains("(line 1)"));
    contained("import fs from 'fs'", ErrorKind::Syntax).await;
}

#[tokio::test]
async fn closing_the_wrapper_function_gains_nothing() {
    // Breaking out of the function body still runs inside the same sandbox, without eval or host.
    let r = run("}\nexport const leak = typeof process;\nasync function ignored() {").await;
    assert!(r.success || r.error_kind == Some(ErrorKind::Syntax), "{r:?}");
    let r = run("}; export default 1; {").await;
    assert_eq!(r.error_kind, Some(ErrorKind::Syntax), "{r:?}");
    still_works().await;
}

#[tokio::test]
async fn runtime_errors_have_no_stack() {
    let r = contained("const x = null;\nx.y;", ErrorKind::Runtime).await;
    let error = r.error.unwrap();
    assert!(error.starts_with("[RUNTIME] TypeError:") && error.ends_with("(line 2)"), "{error}");
    contained("throw 'plain string'", ErrorKind::Runtime).await;
    contained("return undefinedThing", ErrorKind::Reference).await;
}
