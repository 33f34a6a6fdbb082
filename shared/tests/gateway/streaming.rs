//! Streamed replies (`GATEWAY_STREAMING`): what a backend sends while it works reaches the client on the
//! call's event stream (ids and tokens mapped, PII tokenized), its requests to the client are answered
//! from any instance, and every bound holds against a backend that floods, chatters or sends huge events.

use ::http::Method;
use serde_json::{json, Value};
use shared::testing::{backends_json, FakeBackend, TestClient};

use crate::Deployment;

const REPLIES: (&str, &str) = ("GATEWAY_STREAMING", "replies");
const ELICITS: &str = r#"{"elicitation": {}}"#;

fn tool_call(id: u64, name: &str, arguments: Value, meta: Option<Value>) -> Value {
    let mut params = json!({ "name": name, "arguments": arguments });
    if let Some(meta) = meta {
        params["_meta"] = meta;
    }
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params })
}

async fn initialized(client: &mut TestClient<'_>, capabilities: &str) {
    let reply = client.initialize_with("2025-11-25", serde_json::from_str(capabilities).unwrap()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test]
async fn progress_and_log_messages_arrive_mid_call_under_the_clients_own_token() {
    let d = Deployment::new(&[REPLIES]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    initialized(&mut client, "{}").await;
    let call = tool_call(7, "fake_progress", json!({ "steps": 3, "ms": 20 }), Some(json!({ "progressToken": "p-7" })));
    let mut stream = client.open(Method::POST, "/mcp", Some(&call), &[]).await;
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert_eq!(stream.headers["x-accel-buffering"], "no");
    assert_eq!(stream.headers["cache-control"], "no-store", "finish dressed the streamed response too");
    let mut messages = Vec::new();
    while let Some(message) = stream.next_message().await {
        messages.push(message);
    }
    let progress: Vec<&Value> = messages.iter().filter(|m| m["method"] == "notifications/progress").collect();
    assert_eq!(progress.len(), 3, "{messages:?}");
    assert!(progress.iter().all(|p| p["params"]["progressToken"] == "p-7"), "another token's progress never passes");
    let logs: Vec<&Value> = messages.iter().filter(|m| m["method"] == "notifications/message").collect();
    assert_eq!(logs.len(), 3);
    assert!(!messages.iter().any(|m| m.to_string().contains("ada@example.com")), "PII in events is tokenized");
    assert!(logs[0]["params"]["data"].as_str().unwrap().contains("[EMAIL_"), "{:?}", logs[0]);
    let last = messages.last().unwrap();
    assert_eq!(
        (last["id"].clone(), last["result"]["content"][0]["text"].clone()),
        (json!(7), json!("done after 3 steps"))
    );
    // The backend saw the gateway's own token, not the client's.
    let sent = &d.backend.calls_of("progress")[0]["_meta"]["progressToken"];
    assert!(sent.as_str().is_some_and(|t| t.starts_with("gw-progress-")), "{sent}");
}

#[tokio::test]
async fn replies_stay_json_without_streaming_and_when_nothing_comes_before_the_result() {
    let buffered = Deployment::new(&[]).await;
    let app = buffered.instance();
    let mut client = TestClient::with_key(&app, &buffered.keys.all);
    initialized(&mut client, "{}").await;
    let call = tool_call(1, "fake_progress", json!({ "steps": 2, "ms": 1 }), Some(json!({ "progressToken": 1 })));
    let reply = client.post(&call).await;
    assert_eq!(reply.header("content-type"), Some("application/json"), "notifications dropped, result in one body");
    assert_eq!(reply.tool_text(), "done after 2 steps");

    let streaming = Deployment::new(&[REPLIES]).await;
    let app = streaming.instance();
    let mut client = TestClient::with_key(&app, &streaming.keys.all);
    initialized(&mut client, "{}").await;
    let reply = client.call_tool("fake_echo", json!({ "text": "plain" })).await;
    assert_eq!(reply.header("content-type"), Some("application/json"), "nothing but the result: one JSON body");
    assert_eq!(reply.tool_text(), "plain");
}

#[tokio::test]
async fn a_long_quiet_call_switches_to_a_stream_and_is_kept_alive() {
    let d =
        Deployment::new(&[REPLIES, ("GATEWAY_STREAM_AFTER_MS", "100"), ("GATEWAY_STREAM_KEEPALIVE_SECS", "1")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    initialized(&mut client, "{}").await;
    let mut stream =
        client.open(Method::POST, "/mcp", Some(&tool_call(3, "fake_slow", json!({ "ms": 1500 }), None)), &[]).await;
    assert!(stream.is_stream(), "no result after 100 ms: the reply is a stream");
    assert_eq!(stream.next_event().await, Some((None, None)), "a keep-alive comment while the call runs");
    let result = stream.next_message().await.unwrap();
    assert_eq!(result["result"]["content"][0]["text"], "slept");
}

#[tokio::test]
async fn an_elicitation_is_answered_through_another_instance_and_only_by_its_own_session() {
    let d = Deployment::new(&[REPLIES]).await;
    let (a, b) = (d.instance(), d.instance());
    let mut client = TestClient::with_key(&a, &d.keys.all);
    initialized(&mut client, ELICITS).await;
    let call = tool_call(9, "fake_ask", json!({ "method": "elicitation/create" }), None);
    let mut stream = client.open(Method::POST, "/mcp", Some(&call), &[]).await;
    let request = stream.next_message().await.unwrap();
    assert_eq!(request["method"], "elicitation/create");
    let id = request["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("gw-") && id != "ask-1", "the backend's id never reaches the client: {id}");
    let message = request["params"]["message"].as_str().unwrap();
    assert!(message.contains("[EMAIL_") && !message.contains("ada@"), "{message}");
    let at = message.find("[EMAIL_").unwrap();
    let token = message[at..=at + message[at..].find(']').unwrap()].to_owned();
    let answer = json!({ "jsonrpc": "2.0", "id": id, "result": { "action": "accept", "content": { "name": token } } });

    // Another session of the same key, and another principal, get what an unknown id gets.
    let mut other = TestClient::with_key(&b, &d.keys.all);
    initialized(&mut other, ELICITS).await;
    let refused = other.post(&answer).await;
    assert_eq!((refused.status, refused.error_code()), (400, Some(-32600)), "{refused:?}");
    let mut stranger = TestClient::with_key(&b, &d.keys.raw);
    initialized(&mut stranger, ELICITS).await;
    assert_eq!(stranger.post(&answer).await.status, 400);
    let unknown = client.on(&b).post(&json!({ "jsonrpc": "2.0", "id": "gw-nope", "result": {} })).await;
    assert_eq!(
        (unknown.status, unknown.json["error"]["message"].clone()),
        (400, refused.json["error"]["message"].clone())
    );

    // Its own session answers on instance B; the call on instance A completes.
    let delivered = client.on(&b).post(&answer).await;
    assert_eq!(delivered.status, 202, "{delivered:?}");
    let result = stream.next_message().await.unwrap();
    assert_eq!(result["id"], 9);
    let backend_got = &d.backend.answers()[0];
    assert_eq!(backend_got["id"], "ask-1", "the answer reached the backend under its own id");
    assert_eq!(backend_got["result"]["content"]["name"], "ada@example.com", "the token was restored for the backend");
    assert_eq!(client.on(&b).post(&answer).await.status, 400, "answered once");
}

#[tokio::test]
async fn requests_the_client_cannot_take_or_too_many_at_once_are_refused_to_the_backend() {
    let d = Deployment::new(&[REPLIES, ("GATEWAY_MAX_PENDING_REQUESTS", "2")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    initialized(&mut client, "{}").await;
    let sampling = tool_call(1, "fake_ask", json!({ "method": "sampling/createMessage" }), None);
    let reply = client.post(&sampling).await;
    assert!(reply.tool_text().contains("did not declare this capability"), "{reply:?}");

    initialized(&mut client, ELICITS).await;
    let before = d.backend.answers().len();
    let flood = tool_call(2, "fake_ask", json!({ "method": "elicitation/create", "count": 5 }), None);
    let mut stream = client.open(Method::POST, "/mcp", Some(&flood), &[]).await;
    let mut forwarded = Vec::new();
    for _ in 0..2 {
        forwarded.push(stream.next_message().await.unwrap());
    }
    assert!(forwarded.iter().all(|m| m["method"] == "elicitation/create"));
    // While those two wait, the other three are refused to the backend at once.
    for _ in 0..200 {
        if d.backend.answers().len() == before + 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(d.backend.answers().len(), before + 3, "three refusals reached the backend");
    assert_eq!(d.stores.streams.pending_count(), 2, "only the cap is ever stored");
    for request in &forwarded {
        let answer = json!({ "jsonrpc": "2.0", "id": request["id"], "result": { "action": "decline" } });
        assert_eq!(client.post(&answer).await.status, 202);
    }
    let result = stream.next_message().await.unwrap();
    let answers: Vec<Value> = serde_json::from_str(result["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    let refused = answers.iter().filter(|a| a["message"].as_str().is_some_and(|m| m.contains("too many"))).count();
    assert_eq!((answers.len(), refused), (5, 3), "{answers:?}");
    assert_eq!(d.stores.streams.pending_count(), 0);
}

#[tokio::test]
async fn an_unanswered_request_expires_and_a_late_answer_is_refused() {
    let d = Deployment::new(&[REPLIES, ("GATEWAY_PENDING_REQUEST_SECS", "5")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    initialized(&mut client, ELICITS).await;
    let call = tool_call(4, "fake_ask", json!({ "method": "elicitation/create" }), None);
    let mut stream = client.open(Method::POST, "/mcp", Some(&call), &[]).await;
    let request = stream.next_message().await.unwrap();
    let result = stream.next_message().await.unwrap();
    let text = result["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("did not answer within 5 s"), "the backend was told: {text}");
    let late = json!({ "jsonrpc": "2.0", "id": request["id"], "result": { "action": "accept" } });
    assert_eq!(client.post(&late).await.status, 400);
}

fn fast_backend(backend: &FakeBackend, extra: &str) -> String {
    let mut json: Value = serde_json::from_str(&backends_json(&[("fake", &backend.url())])).unwrap();
    let extra: Value = serde_json::from_str(extra).unwrap();
    json["backends"][0].as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json.to_string()
}

#[tokio::test]
async fn a_backend_that_never_stops_or_sends_a_huge_event_is_cut_off() {
    let backend = FakeBackend::start().await;
    let config = fast_backend(&backend, r#"{"timeoutMs": 1500, "maxResponseBytes": 4096}"#);
    let d = Deployment::with_backend(backend, &[REPLIES, ("GATEWAY_BACKENDS_JSON", &config)]);
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    initialized(&mut client, "{}").await;
    let started = std::time::Instant::now();
    let chatter = client.post(&tool_call(1, "fake_chatter", json!({}), None)).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "bounded by the backend's timeout");
    assert_eq!(chatter.json["result"]["isError"], true, "{}", chatter.text.len());
    assert!(chatter.json["result"]["content"][0]["text"].as_str().unwrap().contains("timed out"));
    let huge = client.post(&tool_call(2, "fake_huge", json!({ "bytes": 100_000 }), None)).await;
    assert!(huge.tool_text().contains("larger than 4096 bytes"), "{}", huge.tool_text());
    assert!(huge.text.len() < 8192, "the huge event never reached the client");
}

#[tokio::test]
async fn a_modern_call_streams_its_progress_but_never_a_request_to_the_client() {
    let d = Deployment::with_backend(FakeBackend::start_modern().await, &[REPLIES]);
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    let reply = client
        .modern(
            "tools/call",
            json!({ "name": "fake_progress", "arguments": { "steps": 2, "ms": 5 },
        "_meta": { "progressToken": "m-1" } }),
        )
        .await;
    assert!(reply.text.contains("\"progressToken\":\"m-1\""), "{}", reply.text);
    assert_eq!(reply.result()["resultType"], "complete");
    let ask = client.modern("tools/call", json!({ "name": "fake_ask", "arguments": {} })).await;
    assert!(ask.tool_text().contains("2026-07-28 has no requests"), "{:?}", ask.json);
}

#[tokio::test]
async fn a_notification_that_arrives_with_the_result_is_never_lost() {
    let d = Deployment::new(&[REPLIES]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    initialized(&mut client, "{}").await;
    // The backend writes the log line and the result back to back: often one read holds both.
    for i in 0..20 {
        let reply = client.post(&tool_call(i, "fake_huge", json!({ "bytes": 10 }), None)).await;
        assert_eq!(reply.header("content-type"), Some("text/event-stream"), "call {i}: {}", reply.text);
        assert!(reply.text.contains("notifications/message") && reply.tool_text() == "sent a huge event");
    }
}
