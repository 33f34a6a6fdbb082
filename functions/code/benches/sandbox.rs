//! Code execution latency on one core (plain std::time):
//!
//!     cargo bench -p code --bench sandbox
//!
//! - `fresh sandbox + trivial script`: everything one execution pays — starting the sandbox process (this
//!   package's release binary, as the `code` function starts it), its confinement, the QuickJS runtime
//!   and context, compiling the code, the prelude, running `return 1 + 1`, reading the result, reaping.
//! - `10 tool calls`: a script awaiting ten `callTool`s one after another, and ten in one
//!   `Promise.all`, against an in-process tool host that answers at once (the sandbox and bridge
//!   overhead; a real backend adds its own round trips).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::code::{ExecutionResult, Job, Limits, Sandbox, ToolFailure, ToolHost};

struct InstantTools;

#[async_trait::async_trait]
impl ToolHost for InstantTools {
    async fn call(&self, _name: &str, arguments: Value) -> Result<Value, ToolFailure> {
        let sum = arguments["a"].as_f64().unwrap_or(0.0) + arguments["b"].as_f64().unwrap_or(0.0);
        Ok(json!({ "content": [{ "type": "text", "text": sum.to_string() }], "structuredContent": { "result": sum } }))
    }
}

fn job(code: &str) -> Job {
    Job {
        code: code.to_owned(),
        context: json!({}),
        helpers: vec![("demo_add".into(), "demo_add".into())],
        limits: Limits::default(),
        timeout: Duration::from_secs(30),
    }
}

async fn measure(name: &str, code: &str, iterations: usize) {
    let sandbox = Sandbox::with_worker(env!("CARGO_BIN_EXE_code"));
    let run = |job| sandbox.run(job, &InstantTools);
    let check: ExecutionResult = run(job(code)).await;
    assert!(check.success, "{name}: {check:?}");
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let result = run(job(code)).await;
        samples.push(started.elapsed());
        assert!(result.success);
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1e3;
    let mean = samples.iter().sum::<Duration>().as_secs_f64() * 1e3 / samples.len() as f64;
    println!(
        "{name:<40} n={iterations:<5} mean {mean:.3} ms  p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms",
        at(0.5),
        at(0.95),
        at(0.99)
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    measure("fresh sandbox + trivial script", "return 1 + 1", 1_000).await;
    measure(
        "10 tool calls, sequential",
        "let s = 0; for (let i = 0; i < 10; i++) s += (await callTool('demo_add', {a: i, b: 1})).structuredContent.result; return s",
        500,
    )
    .await;
    measure(
        "10 tool calls, Promise.all (helpers)",
        "const r = await Promise.all(Array.from({length: 10}, (_, i) => demo_add({a: i, b: 1}))); return r.length",
        500,
    )
    .await;
}
