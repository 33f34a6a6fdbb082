//! A tool host that records calls (`demo_add` adds, `echo` returns its arguments, `big` answers 10 MB,
//! `slow` sleeps, everything else is unknown), and the sandbox of the real `code` binary.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{json, Value};

use shared::code::{ExecutionResult, Job, Limits, Sandbox, ToolFailure, ToolHost};

#[derive(Default, Clone)]
pub struct FakeTools {
    pub calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl FakeTools {
    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl ToolHost for FakeTools {
    async fn call(&self, name: &str, arguments: Value) -> Result<Value, ToolFailure> {
        self.calls.lock().unwrap().push((name.to_owned(), arguments.clone()));
        match name {
            "demo_add" => {
                let sum = arguments["a"].as_f64().unwrap_or(0.0) + arguments["b"].as_f64().unwrap_or(0.0);
                Ok(
                    json!({"content": [{"type": "text", "text": sum.to_string()}], "structuredContent": {"result": sum}}),
                )
            }
            "echo" => Ok(json!({"content": [], "structuredContent": arguments})),
            "big" => Ok(json!({"content": [{"type": "text", "text": "x".repeat(10 << 20)}]})),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(json!({"content": []}))
            }
            "failing" => Err(ToolFailure::Failed("backend 'x' is unavailable: token=abc123".into())),
            _ => Err(ToolFailure::NotFound(format!("Tool not found: {name}"))),
        }
    }
}

pub fn job(code: &str) -> Job {
    Job {
        code: code.to_owned(),
        context: json!({}),
        helpers: vec![("demo_add".into(), "demo_add".into())],
        limits: Limits::default(),
        timeout: Duration::from_millis(2_000),
    }
}

/// Sandbox processes started from the `code` function's binary, as the function itself starts them.
pub fn sandbox() -> Sandbox {
    Sandbox::with_worker(env!("CARGO_BIN_EXE_code"))
}

pub async fn run(code: &str) -> ExecutionResult {
    sandbox().run(job(code), &FakeTools::default()).await
}

pub async fn run_job(job: Job) -> ExecutionResult {
    sandbox().run(job, &FakeTools::default()).await
}
