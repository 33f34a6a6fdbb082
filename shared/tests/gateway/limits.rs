//! Rate limits: exact across instances, reported in headers, per tool.

use serde_json::json;
use shared::testing::TestClient;

use crate::Deployment;

#[tokio::test]
async fn the_limit_is_exact_across_two_instances_sharing_the_store() {
    let d = Deployment::new(&[("RATE_LIMIT_PER_PRINCIPAL", "10")]).await;
    let (a, b) = (d.instance(), d.instance());
    let mut first = TestClient::with_key(&a, &d.keys.all);
    first.initialize().await;
    let second = first.on(&b);
    let mut statuses = Vec::new();
    for i in 0..12 {
        let client = if i % 2 == 0 { &first } else { &second };
        statuses.push(client.rpc("ping", json!({})).await.status);
    }
    // One request went to initialize: nine more pass, across both instances, then 429.
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 9, "{statuses:?}");
    assert!(statuses[9..].iter().all(|s| *s == 429), "{statuses:?}");
}

#[tokio::test]
async fn responses_carry_the_limit_state_and_a_refusal_says_when_to_retry() {
    let d = Deployment::new(&[("RATE_LIMIT_PER_PRINCIPAL", "2")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    let first = client.initialize().await;
    assert_eq!(first.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("1"));
    assert_eq!(client.rpc("ping", json!({})).await.status, 200);
    let refused = client.rpc("ping", json!({})).await;
    assert_eq!((refused.status, refused.error_code()), (429, Some(-32000)));
    assert!(refused.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()));
    assert!(refused.json["error"]["data"]["retryAfterSeconds"].is_u64());
    assert_ne!(refused.json["id"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_per_tool_limit_applies_to_that_tool_only() {
    let d = Deployment::new(&[("RATE_LIMIT_TOOLS", r#"{"fake_add": 1}"#)]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize().await;
    assert!(client.call_tool("fake_add", json!({"a": 1, "b": 1})).await.json.get("result").is_some());
    let refused = client.call_tool("fake_add", json!({"a": 1, "b": 1})).await;
    assert_eq!(refused.status, 429);
    assert_eq!(client.call_tool("fake_echo", json!({"text": "still fine"})).await.tool_text(), "still fine");
    assert_eq!(d.backend.calls_of("add").len(), 1);
}

#[tokio::test]
async fn anonymous_callers_are_limited_per_address() {
    let d = Deployment::new(&[("AUTH_MODE", "none"), ("ALLOW_INSECURE", "1"), ("RATE_LIMIT_ANONYMOUS", "2")]).await;
    let app = d.instance();
    let mut one = TestClient::new(&app);
    one.initialize().await;
    assert_eq!(one.rpc("ping", json!({})).await.status, 200);
    assert_eq!(one.rpc("ping", json!({})).await.status, 429);
    let mut other = TestClient::new(&app);
    other.ip = "203.0.113.77".parse().unwrap();
    assert_eq!(other.initialize().await.status, 200);
}

fn calls(n: usize, tool: &str) -> serde_json::Value {
    let messages: Vec<_> = (0..n)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": tool, "arguments": {"a": 1, "b": i}}}))
        .collect();
    serde_json::Value::Array(messages)
}

#[tokio::test]
async fn every_message_of_a_batch_is_charged_like_a_request() {
    let d = Deployment::new(&[("RATE_LIMIT_PER_PRINCIPAL", "6")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize_at("2025-03-26").await;
    let reply = client.post(&calls(8, "fake_add")).await;
    let replies = reply.json.as_array().expect("one reply per message");
    let refused = replies.iter().filter(|r| r["error"]["code"] == -32000).count();
    // Initialize took one of six: five messages pass, three are refused, each with its own id.
    assert_eq!((replies.len(), refused), (8, 3), "{reply:?}");
    assert_eq!(d.backend.calls_of("add").len(), 5);
    assert!(replies.iter().all(|r| r["id"].is_u64()));
}

#[tokio::test]
async fn a_batch_pays_per_tool_limits_per_message_and_has_a_size_limit() {
    let d = Deployment::new(&[("RATE_LIMIT_TOOLS", r#"{"fake_add": 2}"#), ("GATEWAY_MAX_BATCH", "5")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.all);
    client.initialize_at("2025-03-26").await;
    let reply = client.post(&calls(4, "fake_add")).await;
    let ok = reply.json.as_array().unwrap().iter().filter(|r| r.get("result").is_some()).count();
    assert_eq!(ok, 2, "{reply:?}");
    let too_big = client.post(&calls(6, "fake_echo")).await;
    assert_eq!((too_big.status, too_big.error_code()), (400, Some(-32600)));
    assert!(too_big.json["error"]["message"].as_str().unwrap().contains("at most 5"));
    assert!(d.backend.calls_of("echo").is_empty());
}

#[tokio::test]
async fn leased_limits_admit_exactly_the_limit_of_a_saturating_burst_over_two_instances() {
    let d = Deployment::new(&[("RATE_LIMIT_MODE", "leased"), ("RATE_LIMIT_PER_PRINCIPAL", "50")]).await;
    let (a, b) = (d.instance(), d.instance());
    let first = TestClient::with_key(&a, &d.keys.all);
    let second = first.on(&b);
    let burst = (0..200).map(|i| {
        let client = if i % 2 == 0 { &first } else { &second };
        async move { client.modern("tools/call", json!({"name": "fake_add", "arguments": {"a": 1, "b": i}})).await }
    });
    let statuses: Vec<u16> = futures_util::future::join_all(burst).await.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 50, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 150, "{statuses:?}");
    assert_eq!(d.backend.calls_of("add").len(), 50);
}

#[tokio::test]
async fn leased_limits_never_admit_more_than_the_limit_when_traffic_moves_between_instances() {
    let d = Deployment::new(&[("RATE_LIMIT_MODE", "leased"), ("RATE_LIMIT_PER_PRINCIPAL", "30")]).await;
    let (a, b) = (d.instance(), d.instance());
    let on_a = TestClient::with_key(&a, &d.keys.all);
    let on_b = on_a.on(&b);
    let mut admitted = 0;
    // a grows its slices, then the traffic moves to b: a's unspent units are lost to the principal in this
    // window (the documented price), never given twice.
    for _ in 0..20 {
        admitted += usize::from(on_a.modern("tools/list", json!({})).await.status != 429);
    }
    for _ in 0..40 {
        admitted += usize::from(on_b.modern("tools/list", json!({})).await.status != 429);
    }
    assert!(admitted <= 30, "{admitted} admitted");
    assert!(admitted >= 27, "at most one slice (a tenth of the limit) is left unspent: {admitted}");
}

#[tokio::test]
async fn a_quiet_principal_on_leased_limits_sees_the_exact_count_in_its_headers() {
    let d = Deployment::new(&[("RATE_LIMIT_MODE", "leased"), ("RATE_LIMIT_PER_PRINCIPAL", "5")]).await;
    let app = d.instance();
    let client = TestClient::with_key(&app, &d.keys.all);
    let first = client.modern("tools/list", json!({})).await;
    assert_eq!((first.header("x-ratelimit-limit"), first.header("x-ratelimit-remaining")), (Some("5"), Some("4")));
    let mut last = first;
    for _ in 0..4 {
        last = client.modern("tools/list", json!({})).await;
    }
    assert_eq!(last.header("x-ratelimit-remaining"), Some("0"));
    let refused = client.modern("tools/list", json!({})).await;
    assert_eq!(refused.status, 429);
    assert!(refused.header("retry-after").is_some());
}
