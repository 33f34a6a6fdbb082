//! What code may hand the gateway through `callTool`: bounded per call, while waiting, and per
//! execution. Over a bound the call is refused with a catchable error; nothing reaches the host.

use std::time::Duration;

use serde_json::json;

use super::fake::{job, run_job, sandbox, FakeTools};
use shared::code::{ErrorKind, Job, Limits};

#[tokio::test]
async fn oversized_tool_names_are_refused_before_they_leave_the_sandbox() {
    let tools = FakeTools::default();
    let code = "try { await callTool('x'.repeat(257), {}) } catch (e) { return [e.name, e.message] }";
    let r = sandbox().run(job(code), &tools).await;
    let message = r.return_value.as_ref().and_then(|v| v[1].as_str()).unwrap_or_default().to_owned();
    assert!(message.contains("longer than 256 bytes"), "{r:?}");
    // Uncaught, it ends the execution as a runtime error naming the limit.
    let r = sandbox().run(job("await callTool('x'.repeat(1 << 20), {})"), &tools).await;
    assert_eq!(r.error_kind, Some(ErrorKind::Runtime), "{r:?}");
    assert!(r.error.unwrap().contains("256 bytes"));
    assert!(tools.calls().is_empty());
}

#[tokio::test]
async fn oversized_arguments_are_refused_in_characters_and_bytes() {
    let tools = FakeTools::default();
    for code in [
        "await callTool('echo', {s: 'x'.repeat(1 << 20)})",
        // Under the limit in characters, over it in UTF-8 bytes.
        "await callTool('echo', {s: 'é'.repeat(600000)})",
    ] {
        let r = sandbox().run(job(code), &tools).await;
        assert_eq!(r.error_kind, Some(ErrorKind::Runtime), "{code}: {r:?}");
        assert!(r.error.as_deref().unwrap_or_default().contains("1048576"), "{code}: {r:?}");
    }
    assert!(tools.calls().is_empty());
    // Just under the limit goes through.
    let r = sandbox()
        .run(job("return (await callTool('echo', {s: 'x'.repeat(1000000)})).structuredContent.s.length"), &tools)
        .await;
    assert_eq!(r.return_value, Some(json!(1_000_000)), "{r:?}");
}

#[tokio::test]
async fn too_many_waiting_calls_are_refused_and_the_rest_still_run() {
    let tools = FakeTools::default();
    let code = "const ps = Array.from({length: 100}, (_, i) => callTool('demo_add', {a: i, b: 0}));
                const settled = await Promise.allSettled(ps);
                const refused = settled.filter(s => s.status === 'rejected');
                return [settled.length - refused.length, refused.length, refused[0].reason.message]";
    let r = sandbox().run(job(code), &tools).await;
    let value = r.return_value.clone().unwrap_or_default();
    assert_eq!((value[0].clone(), value[1].clone()), (json!(64), json!(36)), "{r:?}");
    assert!(value[2].as_str().unwrap().contains("waiting for results (at most 64)"), "{r:?}");
    assert_eq!(tools.calls().len(), 64);
}

#[tokio::test]
async fn waiting_bytes_and_the_execution_total_are_bounded() {
    // 8 calls of ~1 MiB wait at once; the ninth would pass 8 MiB.
    let code = "const big = 'x'.repeat(1000000);
                const ps = Array.from({length: 9}, () => callTool('echo', {big}));
                const s = await Promise.allSettled(ps);
                return s.map(x => x.status === 'fulfilled' ? 'ok' : x.reason.message)";
    let r = run_job(Job { timeout: Duration::from_secs(20), ..job(code) }).await;
    let value = r.return_value.clone().unwrap_or_default();
    assert!(value.is_array(), "{:?} {:?}", r.error_kind, r.error);
    assert_eq!(value.as_array().unwrap().iter().filter(|v| *v == "ok").count(), 8, "{value}");
    assert!(value[8].as_str().unwrap().contains("more than 8388608 bytes"), "{value}");
    // Sequential calls free their room, but one execution sends at most `exchange_bytes` in all.
    let small = Limits { exchange_bytes: 3 << 20, ..Limits::default() };
    let code = "const big = 'x'.repeat(1000000); let n = 0;
                try { for (;;) { await callTool('echo', {big}); n++ } } catch (e) { return [n, e.message] }";
    let r = run_job(Job { limits: small, timeout: Duration::from_secs(20), ..job(code) }).await;
    let value = r.return_value.unwrap_or_default();
    assert_eq!(value[0], json!(3), "{value}");
    assert!(value[1].as_str().unwrap().contains("in total"), "{value}");
}

#[tokio::test]
async fn a_tool_result_larger_than_the_sandbox_fails_the_call_only() {
    // 10 MB of result, 16 MB of heap: the host refuses to hand over more than half the heap.
    let small = Limits { memory_bytes: 16 << 20, ..Limits::default() };
    let code = "try { await callTool('big', {}) } catch (e) { return e.message }";
    let r = run_job(Job { limits: small, timeout: Duration::from_secs(20), ..job(code) }).await;
    let message = r.return_value.clone().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    assert!(message.contains("larger than code may hold"), "{:?} {:?} {message}", r.error_kind, r.error);
}

#[tokio::test]
async fn empty_console_lines_are_bounded_too() {
    let code = "for (let i = 0; i < 200000; i++) console.log(''); return 1";
    let r = run_job(Job { timeout: Duration::from_secs(20), ..job(code) }).await;
    assert!(r.success, "{:?} {:?} {}", r.error_kind, r.error, r.output.len());
    assert_eq!(r.output.len(), 102_401, "one line per character of the limit, then the marker");
}
