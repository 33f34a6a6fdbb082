//! Lambda backends through the client's MCP entry points, with an in-memory invoker standing in for the
//! AWS SDK (the SDK adapter itself is tested against an HTTP endpoint in `invoker`).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use serde_json::{json, Value};

use super::*;
use crate::{
    backend::{caller, BackendSet, BreakerState},
    Config,
};

type Answer = Box<dyn Fn(&Value) -> Result<Invoked, BackendError> + Send + Sync>;

/// Records every invoke and answers with `answer`, after `delay`.
struct FakeInvoker {
    invokes: Mutex<Vec<(String, Option<String>, Value)>>,
    answer: Answer,
    delay: Duration,
}

impl FakeInvoker {
    fn new(answer: impl Fn(&Value) -> Result<Invoked, BackendError> + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self { invokes: Mutex::default(), answer: Box::new(answer), delay: Duration::ZERO })
    }

    fn events(&self) -> Vec<Value> {
        self.invokes.lock().unwrap().iter().map(|(_, _, event)| event.clone()).collect()
    }
}

#[async_trait]
impl LambdaInvoker for FakeInvoker {
    async fn invoke(&self, function: &str, qualifier: Option<&str>, payload: Vec<u8>) -> Result<Invoked, BackendError> {
        let event: Value = serde_json::from_slice(&payload).unwrap();
        self.invokes.lock().unwrap().push((function.to_owned(), qualifier.map(str::to_owned), event.clone()));
        tokio::time::sleep(self.delay).await;
        (self.answer)(&event)
    }
}

fn ok(value: Value) -> Result<Invoked, BackendError> {
    Ok(Invoked { function_error: None, payload: value.to_string().into_bytes() })
}

fn lookup_tool() -> Value {
    json!({
        "name": "lookup_customer",
        "description": "Find a customer",
        "inputSchema": { "type": "object", "properties": { "id": { "type": "integer" } }, "required": ["id"] },
    })
}

fn config(backend: Value) -> Config {
    let json = json!({ "backends": [backend] }).to_string();
    Config::from_lookup(move |k| (k == "GATEWAY_BACKENDS_JSON").then(|| json.clone())).expect("valid configuration")
}

fn client_with(config: &Config, invoker: Arc<FakeInvoker>) -> McpHttpClient {
    let mut client = McpHttpClient::new(config).unwrap();
    client.set_lambda(invoker);
    client
}

fn configured() -> Value {
    json!({ "id": "fn", "type": "lambda", "functionName": "demo-tools", "qualifier": "live", "tools": [lookup_tool()],
            "timeoutMs": 300, "circuitBreaker": { "failureThreshold": 2, "openMs": 60000 } })
}

async fn call(client: &McpHttpClient, config: &Config, name: &str, arguments: Value) -> Result<Reply, BackendError> {
    let backend = config.backends.iter().next().unwrap().clone();
    client.request(&backend, None, "2025-11-25", "tools/call", json!({ "name": name, "arguments": arguments })).await
}

#[tokio::test]
async fn it_answers_the_handshake_and_lists_configured_tools_without_invoking() {
    let cfg = config(configured());
    let invoker = FakeInvoker::new(|_| ok(json!({})));
    let client = client_with(&cfg, invoker.clone());
    let backend = cfg.backends.iter().next().unwrap().clone();
    let handshake = client.initialize(&backend, "2025-06-18").await.unwrap();
    assert_eq!(handshake.protocol_version, "2025-06-18");
    assert_eq!(handshake.capabilities, json!({ "tools": {} }));
    assert!(client.discover(&backend).await.unwrap().is_some(), "served statelessly to modern clients too");
    let Reply::Result(list) = client.request(&backend, None, "2025-11-25", "tools/list", json!({})).await.unwrap()
    else {
        panic!("tools/list failed")
    };
    assert_eq!(list["tools"][0]["name"], "lookup_customer");
    assert_eq!(list["tools"][0]["inputSchema"]["required"], json!(["id"]));
    let other = client.request(&backend, None, "2025-11-25", "resources/list", json!({})).await.unwrap();
    assert!(matches!(other, Reply::Error(e) if e["code"] == -32601));
    assert!(invoker.events().is_empty(), "nothing of this needed the function");
}

#[tokio::test]
async fn a_call_sends_the_documented_event_with_the_caller_and_no_credential() {
    let cfg = config(configured());
    let invoker = FakeInvoker::new(|_| ok(json!({ "name": "Ada", "email": "ada@example.com" })));
    let client = client_with(&cfg, invoker.clone());
    let reply = caller::on_behalf_of("key-7", call(&client, &cfg, "lookup_customer", json!({ "id": 7 }))).await;
    let Reply::Result(result) = reply.unwrap() else { panic!("an error reply") };
    assert_eq!(result["structuredContent"]["email"], "ada@example.com");
    assert!(result.get("isError").is_none());
    let (function, qualifier, event) = invoker.invokes.lock().unwrap()[0].clone();
    assert_eq!((function.as_str(), qualifier.as_deref()), ("demo-tools", Some("live")));
    assert_eq!(event["tool"], "lookup_customer");
    assert_eq!(event["arguments"], json!({ "id": 7 }));
    assert_eq!(event["context"]["principal"], "key-7");
    assert!(event["context"]["requestId"].as_str().is_some_and(|id| id.starts_with("gw-")), "{event}");
    assert_eq!(event.as_object().unwrap().len(), 3, "tool, arguments, context and nothing else: {event}");
    assert_eq!(event["context"].as_object().unwrap().len(), 2, "{event}");
}

#[tokio::test]
async fn a_function_error_is_an_answer_and_an_unknown_tool_never_reaches_the_function() {
    let cfg = config(configured());
    let invoker = FakeInvoker::new(|_| {
        Ok(Invoked {
            function_error: Some("Unhandled".into()),
            payload: br#"{"errorType":"E","errorMessage":"no"}"#.to_vec(),
        })
    });
    let client = client_with(&cfg, invoker.clone());
    for _ in 0..3 {
        let Reply::Result(result) = call(&client, &cfg, "lookup_customer", json!({ "id": 1 })).await.unwrap() else {
            panic!("an error reply")
        };
        assert_eq!(result["isError"], true);
    }
    assert_eq!(client.breaker("fn").unwrap().state, BreakerState::Closed, "function errors are not outages");
    let unknown = call(&client, &cfg, "delete_everything", json!({})).await.unwrap();
    assert!(matches!(unknown, Reply::Error(e) if e["code"] == -32602));
    assert_eq!(invoker.events().len(), 3);
}

#[tokio::test]
async fn slow_functions_time_out_and_open_the_breaker() {
    let cfg = config(configured());
    let invoker = Arc::new(FakeInvoker {
        invokes: Mutex::default(),
        answer: Box::new(|_| ok(json!({}))),
        delay: Duration::from_secs(5),
    });
    let client = client_with(&cfg, invoker.clone());
    for _ in 0..2 {
        let err = call(&client, &cfg, "lookup_customer", json!({ "id": 1 })).await.unwrap_err();
        assert!(matches!(err, BackendError::Timeout(_)), "{err}");
    }
    assert_eq!(client.breaker("fn").unwrap().state, BreakerState::Open);
    let err = call(&client, &cfg, "lookup_customer", json!({ "id": 1 })).await.unwrap_err();
    assert!(matches!(err, BackendError::CircuitOpen(_)), "{err}");
    assert_eq!(invoker.events().len(), 2, "an open breaker invokes nothing");
}

#[tokio::test]
async fn replies_over_the_size_limit_are_refused() {
    let mut backend = configured();
    backend["maxResponseBytes"] = json!(1024);
    let cfg = config(backend);
    let client = client_with(&cfg, FakeInvoker::new(|_| ok(json!({ "blob": "x".repeat(2000) }))));
    let err = call(&client, &cfg, "lookup_customer", json!({ "id": 1 })).await.unwrap_err();
    assert!(matches!(err, BackendError::TooLarge(1024)), "{err}");
}

#[tokio::test]
async fn a_function_can_describe_its_tools_and_bad_definitions_are_dropped() {
    let cfg = config(json!({ "id": "fn", "type": "lambda", "functionName": "demo-tools" }));
    let invoker = FakeInvoker::new(|event| {
        assert_eq!(event["tool"], DESCRIBE);
        ok(json!({ "tools": [
            lookup_tool(),
            { "name": "bad name!", "inputSchema": { "type": "object" } },
            { "name": "no_schema" },
            { "name": "not_object", "inputSchema": { "type": "string" } },
            lookup_tool(),
        ]}))
    });
    let client = client_with(&cfg, invoker.clone());
    let backend = cfg.backends.iter().next().unwrap().clone();
    let Reply::Result(list) = client.request(&backend, None, "2025-11-25", "tools/list", json!({})).await.unwrap()
    else {
        panic!("tools/list failed")
    };
    let names: Vec<&str> = list["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lookup_customer"]);
    assert_eq!(invoker.events()[0]["context"]["principal"], Value::Null, "lists are shared: no caller");
}

#[tokio::test]
async fn without_an_invoker_a_call_is_unavailable() {
    let cfg = config(configured());
    let client = McpHttpClient::for_probes(&cfg).unwrap();
    let err = call(&client, &cfg, "lookup_customer", json!({ "id": 1 })).await.unwrap_err();
    assert!(matches!(err, BackendError::Unreachable(_)), "{err}");
}

#[test]
fn configuration_errors_name_the_field() {
    let cases = [
        (json!({ "id": "f", "type": "lambda" }), "backends[0].functionName", "required"),
        (json!({ "id": "f", "type": "lambda", "functionName": "a b" }), "backends[0].functionName", "ARN"),
        (
            json!({ "id": "f", "type": "lambda", "functionName": "f", "qualifier": "" }),
            "backends[0].qualifier",
            "alias",
        ),
        (json!({ "id": "f", "type": "lambda", "functionName": "f", "tools": [] }), "backends[0].tools", "leave it out"),
        (
            json!({ "id": "f", "type": "lambda", "functionName": "f", "tools": [{ "name": "a/b", "inputSchema": { "type": "object" } }] }),
            "backends[0].tools[0].name",
            "[A-Za-z0-9_.-]",
        ),
        (
            json!({ "id": "f", "type": "lambda", "functionName": "f", "tools": [{ "name": "a", "inputSchema": { "type": "array" } }] }),
            "backends[0].tools[0].inputSchema",
            "object",
        ),
        (
            json!({ "id": "f", "type": "lambda", "functionName": "f", "tools": [{ "name": "a", "inputSchema": { "type": "object", "minProperties": "x" } }] }),
            "backends[0].tools[0].inputSchema",
            "not a valid JSON Schema",
        ),
        (
            json!({ "id": "f", "type": "lambda", "functionName": "f", "tools": [lookup_tool(), lookup_tool()] }),
            "backends[1].tools[1].name",
            "twice",
        ),
        (
            json!({ "id": "f", "type": "lambda", "functionName": "f", "url": "http://x/mcp" }),
            "backends[0].url",
            "\"mcp\"",
        ),
        (
            json!({ "id": "f", "type": "lambda", "functionName": "f", "headers": { "x": "y" } }),
            "backends[0].headers",
            "IAM role",
        ),
        (json!({ "id": "f", "url": "http://x/mcp", "functionName": "f" }), "backends[0].functionName", "\"lambda\""),
    ];
    for (i, (backend, field, words)) in cases.into_iter().enumerate() {
        let backends = if i == 7 { json!([{ "id": "a", "url": "http://x/mcp" }, backend]) } else { json!([backend]) };
        let err = BackendSet::from_json(&json!({ "backends": backends }).to_string()).unwrap_err();
        assert_eq!(err.field, field, "case {i}: {err}");
        assert!(err.message.contains(words), "case {i}: {err}");
    }
}
