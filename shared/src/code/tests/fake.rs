//! A tool host that records calls: `demo_add` adds, `slow` sleeps, everything else is unknown.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::{json, Value};

use crate::code::{ExecutionResult, Job, Limits, ToolFailure, ToolHost};

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

pub async fn run(code: &str) -> ExecutionResult {
    crate::code::run(job(code), &FakeTools::default()).await
}

pub async fn run_job(job: Job) -> ExecutionResult {
    crate::code::run(job, &FakeTools::default()).await
}
