//! The invoke client against a fake Lambda endpoint that answers as AWS does and as `cargo lambda watch`
//! does: results, both forms of function error, throttling; never a second attempt.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use super::*;
use crate::{
    auth::{Principal, PrincipalKind, Scopes},
    code::ErrorKind,
    protocol::VaultScope,
    ratelimit::Limit,
};

/// What the fake answers: status, extra header, body.
type Answer = (u16, Option<(&'static str, &'static str)>, String);

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, Value)>>>);

async fn fake_lambda(answer: Answer) -> (SocketAddr, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Seen::default();
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (record, answer) = (record.clone(), answer.clone());
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let (record, answer) = (record.clone(), answer.clone());
                async move {
                    let path = request.uri().path().to_owned();
                    let body = request.into_body().collect().await.unwrap().to_bytes();
                    record.0.lock().unwrap().push((path, serde_json::from_slice(&body).unwrap_or(Value::Null)));
                    let (status, header, body) = answer;
                    let mut response = Response::builder().status(status).header("content-type", "application/json");
                    if let Some((name, value)) = header {
                        response = response.header(name, value);
                    }
                    Ok::<_, std::convert::Infallible>(response.body(Full::new(Bytes::from(body))).unwrap())
                }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    (addr, seen)
}

fn executor(addr: SocketAddr) -> LambdaExecutor {
    use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
    let builder = aws_sdk_lambda::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(format!("http://{addr}"))
        .http_client(crate::aws::http_client().expect("TLS configuration"));
    LambdaExecutor::from_builder(builder, "code".into())
}

fn principal(scopes: &[&str]) -> Principal {
    Principal { id: "key-1".into(), scopes: Scopes::from_iter(scopes.iter().copied()), kind: PrincipalKind::ApiKey }
}

fn request() -> ExecuteRequest {
    ExecuteRequest::from_json(&json!({"code": "return 1", "timeout": 5000})).unwrap()
}

async fn invoke(answer: Answer) -> (Result<ExecutionResult, CodeError>, Vec<(String, Value)>) {
    let (addr, seen) = fake_lambda(answer).await;
    let principal = principal(&["code:execute", "tool:call"]);
    let caller = Caller {
        principal: &principal,
        vault: VaultScope::Session("s1".into()),
        budget: Some(Limit { key: "p:key-1".into(), max: 9 }),
    };
    let result = executor(addr).invoke(&caller, request()).await;
    let seen = seen.0.lock().unwrap().clone();
    (result, seen)
}

#[tokio::test]
async fn a_result_comes_back_and_the_event_names_the_caller() {
    let result = ExecutionResult::failure(ErrorKind::Timeout, "Execution timed out".into(), vec![], 1000);
    let body = json!({ "result": result }).to_string();
    let (answered, seen) = invoke((200, None, body)).await;
    assert_eq!(answered.unwrap(), result);
    let [(path, event)] = &seen[..] else { panic!("{seen:?}") };
    assert_eq!(path, "/2015-03-31/functions/code/invocations");
    assert_eq!(event["mcpGatewayInternal"], "code.execute/1");
    assert_eq!(event["principal"], json!({"id": "key-1", "kind": "api_key", "scopes": ["code:execute", "tool:call"]}));
    assert_eq!(
        (event["piiScope"].clone(), event["budget"].clone()),
        (json!("session:s1"), json!({"key": "p:key-1", "max": 9}))
    );
    assert_eq!(event["request"], json!({"code": "return 1", "timeout": 5000, "context": {}}));
}

#[tokio::test]
async fn function_errors_fail_in_both_forms_and_are_never_retried() {
    let error = json!({"errorType": "Panic", "errorMessage": "the caller's data"}).to_string();
    for answer in [
        (200, Some(("x-amz-function-error", "Unhandled")), error.clone()),
        (500, None, error.clone()),
        (200, None, json!({"refused": {"status": 400, "message": "bad"}}).to_string()),
        (200, None, "not json".to_owned()),
    ] {
        let (answered, seen) = invoke(answer.clone()).await;
        assert!(matches!(answered, Err(CodeError::Failed)), "{answer:?}: {answered:?}");
        assert_eq!(seen.len(), 1, "{answer:?}: retried");
    }
}

#[tokio::test]
async fn throttling_is_busy_not_retried() {
    let body = json!({"Type": "User", "message": "Rate Exceeded."}).to_string();
    let (answered, seen) = invoke((429, Some(("x-amzn-errortype", "TooManyRequestsException")), body)).await;
    assert!(matches!(answered, Err(CodeError::Busy)), "{answered:?}");
    assert_eq!(seen.len(), 1);
}

#[tokio::test]
async fn a_caller_without_the_scope_costs_no_invocation() {
    let (addr, seen) = fake_lambda((200, None, "{}".into())).await;
    let principal = principal(&["tool:call"]);
    let caller = Caller { principal: &principal, vault: VaultScope::Session("s1".into()), budget: None };
    let answered = executor(addr).invoke(&caller, request()).await;
    assert!(matches!(answered, Err(CodeError::Gateway(_))), "{answered:?}");
    assert!(seen.0.lock().unwrap().is_empty());
}
