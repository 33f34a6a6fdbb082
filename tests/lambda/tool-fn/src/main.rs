//! A Lambda function that serves tools to the gateway, for the end-to-end tests (served locally by
//! `cargo lambda watch`, invoked through the real Lambda `Invoke` API).
//!
//! Event: `{"tool": name, "arguments": {...}, "context": {"principal", "requestId"}}`; the event
//! `{"tool": "tools/list", ...}` asks for the tool definitions. Tools:
//! - `lookup_customer {id}`: a customer record with an email address (PII for the gateway to tokenize);
//! - `echo {text}`: `{"echo": text}` (shows what the function received after token restoration);
//! - `fail {reason}`: a function error (`DemoToolError`);
//! - `sleep {seconds}`: sleeps, then answers (past the backend's timeout in the tests).
//!
//! Every event is appended as one JSON line to `$DEMO_TOOLS_RECORD` when set, so the tests can prove
//! what reached the function and what never did.

use std::io::Write;

use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::{json, Value};

/// A tool's failure, reported to Lambda with its own error type.
struct ToolError(String);

impl From<ToolError> for Diagnostic {
    fn from(error: ToolError) -> Self {
        Diagnostic { error_type: "DemoToolError".into(), error_message: error.0 }
    }
}

impl std::fmt::Debug for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn definitions() -> Value {
    let object = |properties: Value, required: Value| json!({ "type": "object", "properties": properties, "required": required });
    json!({ "tools": [
        { "name": "lookup_customer", "description": "Look up a customer by id.",
          "inputSchema": object(json!({ "id": { "type": "integer", "minimum": 1 } }), json!(["id"])) },
        { "name": "echo", "description": "Echo the text back.",
          "inputSchema": object(json!({ "text": { "type": "string" } }), json!(["text"])) },
        { "name": "fail", "description": "Always fails with DemoToolError.",
          "inputSchema": object(json!({ "reason": { "type": "string" } }), json!([])) },
        { "name": "sleep", "description": "Sleep, then answer.",
          "inputSchema": object(json!({ "seconds": { "type": "number", "minimum": 0, "maximum": 30 } }), json!(["seconds"])) },
    ]})
}

fn record(event: &Value) {
    let Ok(path) = std::env::var("DEMO_TOOLS_RECORD") else { return };
    let line = format!("{event}\n");
    // One write per line with O_APPEND: concurrent instances never interleave a line.
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = file.write_all(line.as_bytes());
    }
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, ToolError> {
    let event = event.payload;
    record(&event);
    let arguments = &event["arguments"];
    match event["tool"].as_str().unwrap_or_default() {
        "tools/list" => Ok(definitions()),
        "lookup_customer" => {
            let id = arguments["id"].as_i64().ok_or_else(|| ToolError("id must be an integer".into()))?;
            Ok(json!({ "id": id, "name": "Ada Lovelace", "email": "ada.lambda-pii@example.com", "tier": "gold" }))
        }
        "echo" => Ok(json!({ "echo": arguments["text"] })),
        "fail" => Err(ToolError(format!("failed on purpose: {}", arguments["reason"].as_str().unwrap_or("no reason")))),
        "sleep" => {
            let seconds = arguments["seconds"].as_f64().unwrap_or(0.0).clamp(0.0, 30.0);
            tokio::time::sleep(std::time::Duration::from_secs_f64(seconds)).await;
            Ok(json!({ "slept": seconds }))
        }
        other => Err(ToolError(format!("unknown tool {other:?}"))),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
