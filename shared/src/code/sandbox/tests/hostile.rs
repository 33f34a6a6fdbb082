//! Each fake sandbox reads its job, then misbehaves in one way; the host must end the execution
//! promptly with the right kind, run no tool call it was not entitled to, and leave no process behind.

use std::{
    io::Write,
    os::unix::fs::PermissionsExt,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::code::{ErrorKind, ExecutionResult, Job, Limits, Sandbox, ToolFailure, ToolHost};

const PRELUDE: &str = r#"#!/usr/bin/python3 -B
import json, os, signal, struct, sys, time
inp, out = sys.stdin.buffer, sys.stdout.buffer
def read():
    header = inp.read(4)
    if len(header) < 4:
        return None
    return json.loads(inp.read(struct.unpack('>I', header)[0]))
def send(obj=None, raw=None):
    body = raw if raw is not None else json.dumps(obj).encode()
    out.write(struct.pack('>I', len(body)) + body)
    out.flush()
def calls(*batch):
    send({"Calls": [{"id": i + 1, "name": n, "arguments": a} for i, (n, a) in enumerate(batch)]})
    return [read() for _ in batch]
def done(value=None, output=(), end=None):
    end = end or ({"Returned": {"Json": json.dumps(value)}} if value is not None else {"Returned": "Undefined"})
    send({"Done": {"end": end, "output": list(output), "tool_calls": 0, "refused_after_finish": 0}})
job = read()
"#;

#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<String>>>);

#[async_trait::async_trait]
impl ToolHost for Recorder {
    async fn call(&self, name: &str, arguments: Value) -> Result<Value, ToolFailure> {
        self.0.lock().unwrap().push(name.to_owned());
        if name == "slow" {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Ok(json!({ "structuredContent": arguments }))
    }
}

/// A fake worker running `body` after the prelude.
fn fake(name: &str, body: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("mcp-gateway-fake-sandbox-{}-{name}.py", std::process::id()));
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(PRELUDE.as_bytes()).unwrap();
    file.write_all(body.as_bytes()).unwrap();
    drop(file);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn job(limits: Limits, timeout_ms: u64) -> Job {
    Job {
        code: "/* the fake ignores it */".into(),
        context: json!({}),
        helpers: Vec::new(),
        limits,
        timeout: Duration::from_millis(timeout_ms),
    }
}

/// Runs the fake `body`; returns the result, what the host called, and how long it took.
async fn run(name: &str, body: &str, limits: Limits, timeout_ms: u64) -> (ExecutionResult, Vec<String>, Duration) {
    let worker = fake(name, body);
    let host = Recorder::default();
    let started = Instant::now();
    let result = Sandbox::with_worker(&worker).run(job(limits, timeout_ms), &host).await;
    let elapsed = started.elapsed();
    let _ = std::fs::remove_file(worker);
    let called = host.0.lock().unwrap().clone();
    (result, called, elapsed)
}

async fn refused(name: &str, body: &str, limits: Limits, expect: &str) -> Vec<String> {
    let (r, called, elapsed) = run(name, body, limits, 10_000).await;
    assert_eq!(r.error_kind, Some(ErrorKind::Security), "{name}: {r:?}");
    let error = r.error.unwrap_or_default();
    assert!(error.contains(expect) && error.starts_with("[SECURITY]"), "{name}: {error}");
    assert!(elapsed < Duration::from_secs(3), "{name}: took {elapsed:?}, the deadline was 10 s");
    called
}

#[tokio::test]
async fn a_well_behaved_fake_speaks_the_protocol() {
    let body = r#"
replies = calls(("echo", '{"a": 1}'), ("echo", '{"b": 2}'))
done([json.loads(r["result"]["Ok"])["structuredContent"] for r in sorted(replies, key=lambda r: r["id"])], ["hi"])
"#;
    let (r, called, _) = run("ok", body, Limits::default(), 10_000).await;
    assert_eq!(r.return_value, Some(json!([{"a": 1}, {"b": 2}])), "{r:?}");
    assert_eq!((r.output, called.len()), (vec!["hi".to_owned()], 2));
}

#[tokio::test]
async fn an_announced_gigabyte_is_refused_before_it_is_read() {
    let body = "out.write(struct.pack('>I', 1 << 30)); out.flush(); time.sleep(60)\n";
    refused("huge", body, Limits::default(), "a message of 1073741824 bytes").await;
}

#[tokio::test]
async fn over_the_call_caps_nothing_is_called() {
    let cases = [
        ("name", "calls(('x' * 300, '{}'))\n", "a tool name longer than 256 bytes"),
        ("args", "calls(('echo', '\"' + 'x' * (1 << 20) + '\"'))\n", "tool arguments over 1048576 bytes"),
        ("batch", "calls(*[('echo', '{}')] * 17)\n", "a batch of 17 tool calls"),
        ("garbage", "send(raw=b'{not json')\ntime.sleep(60)\n", "a message the host cannot read"),
        ("empty", "send({'Calls': []})\ntime.sleep(60)\n", "a batch of 0 tool calls"),
    ];
    for (name, body, expect) in cases {
        let called = refused(name, body, Limits::default(), expect).await;
        assert!(called.is_empty(), "{name}: {called:?}");
    }
}

#[tokio::test]
async fn the_call_count_and_the_bytes_of_one_execution_are_capped() {
    let limits = Limits { max_tool_calls: 3, ..Limits::default() };
    let called = refused(
        "count",
        "calls(('echo', '{}'), ('echo', '{}'))\ncalls(('echo', '{}'), ('echo', '{}'))\n",
        limits,
        "more than 3 tool calls",
    )
    .await;
    assert_eq!(called.len(), 2);
    let limits = Limits {
        exchange_bytes: 64 << 10,
        max_tool_calls: 100,
        output_chars: 1000,
        return_chars: 1000,
        ..Limits::default()
    };
    let body = "for _ in range(20):\n    calls(('echo', '\"' + 'x' * 30000 + '\"'))\ndone(1)\n";
    let called = refused("total", body, limits, "bytes in one execution").await;
    assert!(called.len() < 10, "{}", called.len());
}

#[tokio::test]
async fn output_over_the_limit_is_refused() {
    refused("output", "done(1, ['x' * 200000])\n", Limits::default(), "console output over its limit").await;
    // Exactly at the limit, with the marker, is what a real sandbox sends.
    let body = "done(1, ['x' * 102400, '[Output truncated: console output exceeded the limit]'])\n";
    let (r, _, _) = run("at-limit", body, Limits::default(), 10_000).await;
    assert!(r.success, "{r:?}");
}

#[tokio::test]
async fn a_sandbox_that_never_answers_is_killed_at_the_deadline() {
    let (r, _, elapsed) = run("spin", "while True:\n    pass\n", Limits::default(), 1_000).await;
    assert_eq!(r.error_kind, Some(ErrorKind::Timeout), "{r:?}");
    assert!(elapsed >= Duration::from_millis(1_000) && elapsed < Duration::from_millis(2_000), "{elapsed:?}");
}

#[tokio::test]
async fn after_the_deadline_the_closed_pipe_lets_the_sandbox_report_its_output() {
    let body = "replies = calls(('slow', '{}'))\nassert replies == [None]\ndone(end='TimedOut', output=['before'])\n";
    let (r, called, elapsed) = run("eof", body, Limits::default(), 1_000).await;
    assert_eq!(
        (r.error_kind, r.output.clone(), called),
        (Some(ErrorKind::Timeout), vec!["before".to_owned()], vec!["slow".to_owned()]),
        "{r:?}"
    );
    assert!(elapsed < Duration::from_millis(2_000), "{elapsed:?}");
}

#[tokio::test]
async fn how_a_sandbox_died_decides_the_kind() {
    let (r, _, _) =
        run("sigsys", "os.kill(os.getpid(), signal.SIGSYS)\ntime.sleep(5)\n", Limits::default(), 10_000).await;
    assert_eq!(r.error_kind, Some(ErrorKind::Security), "{r:?}");
    assert!(r.error.unwrap().contains("system call"));
    let body = "sys.stderr.write('memory allocation of 4096 bytes failed\\n'); sys.stderr.flush(); os.abort()\n";
    let (r, _, _) = run("oom", body, Limits::default(), 10_000).await;
    assert_eq!(r.error_kind, Some(ErrorKind::Memory), "{r:?}");
    let (r, _, _) = run("exit", "sys.exit(1)\n", Limits::default(), 10_000).await;
    assert_eq!(r.error_kind, Some(ErrorKind::Runtime), "{r:?}");
    assert!(r.error.unwrap().contains("inside the engine"));
}

#[tokio::test]
async fn a_missing_worker_is_an_engine_failure_not_a_panic() {
    let r = Sandbox::with_worker("/nonexistent/worker").run(job(Limits::default(), 1_000), &Recorder::default()).await;
    assert_eq!(r.error_kind, Some(ErrorKind::Runtime), "{r:?}");
}
