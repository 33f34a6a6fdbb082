//! Tool calls from code: results, failures, batching, the deadline, and calls after completion.

use std::time::{Duration, Instant};

use serde_json::json;

use super::fake::{job, sandbox, FakeTools};
use shared::code::{ErrorKind, Job};

#[tokio::test]
async fn call_tool_and_helpers_return_the_tool_result() {
    let tools = FakeTools::default();
    let code = "const a = await callTool('demo_add', {a: 2, b: 3});
                const b = await demo_add({a: 10, b: 1});
                return [a.structuredContent.result, b.structuredContent.result]";
    let r = sandbox().run(job(code), &tools).await;
    assert_eq!(r.return_value, Some(json!([5, 11])), "{r:?}");
    assert_eq!(r.tool_calls, 2);
    assert_eq!(
        tools.calls(),
        [("demo_add".to_owned(), json!({"a": 2, "b": 3})), ("demo_add".into(), json!({"a": 10, "b": 1}))]
    );
}

#[tokio::test]
async fn ten_calls_in_parallel() {
    let tools = FakeTools::default();
    let code = "const rs = await Promise.all(Array.from({length: 10}, (_, i) => callTool('demo_add', {a: i, b: 1})));
                return rs.map(r => r.structuredContent.result)";
    let r = sandbox().run(job(code), &tools).await;
    assert_eq!(r.return_value, Some(json!([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])), "{r:?}");
    assert_eq!(tools.calls().len(), 10);
}

#[tokio::test]
async fn large_batches_are_served_in_rounds() {
    let tools = FakeTools::default();
    let code = "const rs = await Promise.all(Array.from({length: 40}, (_, i) => demo_add({a: i, b: 0})));
                return rs.reduce((s, r) => s + r.structuredContent.result, 0)";
    let r = sandbox().run(job(code), &tools).await;
    assert_eq!(r.return_value, Some(json!(780)), "{r:?}");
    assert_eq!(tools.calls().len(), 40);
}

#[tokio::test]
async fn unknown_tools_are_tool_not_found_and_catchable() {
    let r = sandbox().run(job("await callTool('demo_nope', {})"), &FakeTools::default()).await;
    assert_eq!(r.error_kind, Some(ErrorKind::ToolNotFound), "{r:?}");
    let r = sandbox().run(job("return demo_nope({})"), &FakeTools::default()).await;
    assert_eq!(r.error_kind, Some(ErrorKind::ToolNotFound), "{r:?}");
    let r = sandbox()
        .run(job("try { await callTool('demo_nope') } catch (e) { return e.name }"), &FakeTools::default())
        .await;
    assert_eq!(r.return_value, Some(json!("ToolNotFoundError")));
}

#[tokio::test]
async fn bad_arguments_never_reach_the_host() {
    let tools = FakeTools::default();
    for code in [
        "await callTool(42)",
        "await callTool('demo_add', [1, 2])",
        "const a = {}; a.a = a; await callTool('demo_add', a)",
    ] {
        let r = sandbox().run(job(code), &tools).await;
        assert_eq!(r.error_kind, Some(ErrorKind::Runtime), "{code}: {r:?}");
    }
    assert!(tools.calls().is_empty());
}

#[tokio::test]
async fn failure_texts_are_sanitized() {
    let r = sandbox().run(job("await callTool('failing', {})"), &FakeTools::default()).await;
    let error = r.error.unwrap();
    assert!(error.contains("unavailable") && !error.contains("abc123"), "{error}");
}

#[tokio::test]
async fn calls_after_completion_never_run() {
    let tools = FakeTools::default();
    let code = "callTool('demo_add', {a: 1, b: 1});
                Promise.resolve().then(() => null).then(() => callTool('demo_add', {a: 2, b: 2}));
                return 'done'";
    let r = sandbox().run(job(code), &tools).await;
    assert_eq!(r.return_value, Some(json!("done")), "{r:?}");
    assert!(tools.calls().is_empty(), "{:?}", tools.calls());
    assert!(r.hints.iter().any(|h| h.contains("did not run")), "{:?}", r.hints);
}

#[tokio::test]
async fn slow_tools_end_at_the_deadline() {
    let started = Instant::now();
    let job = Job { timeout: Duration::from_millis(500), ..job("await callTool('slow', {}); return 1") };
    let r = sandbox().run(job, &FakeTools::default()).await;
    assert_eq!(r.error_kind, Some(ErrorKind::Timeout), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn output_after_completion_is_dropped() {
    let code = "Promise.resolve().then(() => console.log('late')); console.log('early'); return 1";
    let r = sandbox().run(job(code), &FakeTools::default()).await;
    assert_eq!(r.output, ["early"]);
}

#[tokio::test]
async fn context_is_frozen_and_bound() {
    let job = Job { context: json!({"user": "bob", "limits": {"n": 2}, "not-an-id": 1}), ..job("") };
    let code = "limits.n = 5; return [user, limits.n, context['not-an-id'], Object.isFrozen(context.limits)]";
    let r = sandbox().run(Job { code: code.into(), ..job }, &FakeTools::default()).await;
    assert!(!r.success, "writing a frozen object throws in strict code: {r:?}");
    let job = Job { context: json!({"user": "bob", "limits": {"n": 2}, "not-an-id": 1}), ..super::fake::job("") };
    let code = "return [user, limits.n, context['not-an-id'], Object.isFrozen(context.limits)]";
    let r = sandbox().run(Job { code: code.into(), ..job }, &FakeTools::default()).await;
    assert_eq!(r.return_value, Some(json!(["bob", 2, 1, true])), "{r:?}");
}

#[tokio::test]
async fn deeply_nested_values_cross_the_process_boundary() {
    // Context, a tool result and the return value, each nested about as deep as JSON parsing allows (128):
    // inside a frame as values, they would pass the frame's own depth limit.
    let mut context = json!(0);
    for _ in 0..126 {
        context = json!({ "a": context });
    }
    let code = "let d = 0, o = context; while (o.a !== undefined) { o = o.a; d++ }
                let n = {}; for (let i = 0; i < 125; i++) n = {n};
                const r = await callTool('echo', {n}); let e = 0, x = r.structuredContent.n; while (x.n) { x = x.n; e++ }
                return [d, e, n]";
    let r = sandbox().run(Job { context, ..job(code) }, &FakeTools::default()).await;
    let value = r.return_value.unwrap_or_default();
    assert_eq!((value[0].clone(), value[1].clone()), (json!(126), json!(125)), "{:?}", r.error);
    assert!(value[2].get("n").is_some());
}
