//! The meta-tools (search, describe, call, call several) and the listing modes: what each caller sees and
//! reaches, what it is charged, shaping after PII tokenization, and the per-principal result cache.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::testing::{TestClient, TestKey};

use crate::{tool_names, Deployment};

const META_TOOLS: [&str; 4] =
    ["gateway_search_tools", "gateway_describe_tools", "gateway_call_tool", "gateway_call_tools"];

fn structured(reply: &shared::testing::Reply) -> Value {
    reply.result()["structuredContent"].clone()
}

fn names_in(found: &Value) -> Vec<String> {
    found["tools"].as_array().into_iter().flatten().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn lite_mode_lists_the_meta_tools_and_pinned_tools_in_both_eras_and_all_stay_callable() {
    let d = Deployment::new(&[("GATEWAY_TOOLS_MODE", "lite"), ("GATEWAY_PINNED_TOOLS", "fake_echo")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.browser);
    let init = client.initialize().await;
    assert!(init.result()["instructions"].as_str().unwrap().contains("gateway_search_tools"));
    let mut listed = tool_names(client.rpc("tools/list", json!({})).await.result());
    listed.sort();
    let mut expected: Vec<String> = META_TOOLS.iter().map(|s| s.to_string()).chain(["fake_echo".into()]).collect();
    expected.sort();
    assert_eq!(listed, expected);
    let mut modern = tool_names(client.modern("tools/list", json!({})).await.result());
    modern.sort();
    assert_eq!(modern, expected);
    // Unlisted, yet callable by name with the usual checks.
    assert_eq!(
        client.call_tool("fake_add", json!({"a": 2, "b": 3})).await.result()["structuredContent"]["result"],
        5.0
    );
    assert_eq!(client.call_tool("fake_add", json!({"a": "x", "b": 3})).await.result()["isError"], true);
}

#[tokio::test]
async fn auto_mode_goes_lite_only_for_callers_with_a_large_catalog() {
    let d = Deployment::new(&[("GATEWAY_TOOLS_MODE", "auto"), ("GATEWAY_TOOLS_AUTO_THRESHOLD", "2")]).await;
    let app = d.instance();
    let mut browser = TestClient::with_key(&app, &d.keys.browser); // five backend tools: lite
    browser.initialize().await;
    assert!(!tool_names(browser.rpc("tools/list", json!({})).await.result()).contains(&"fake_echo".into()));
    let mut narrow = TestClient::with_key(&app, &d.keys.narrow); // one backend tool: full
    narrow.initialize().await;
    let listed = tool_names(narrow.rpc("tools/list", json!({})).await.result());
    assert!(listed.contains(&"fake_echo".into()) && listed.contains(&"gateway_search_tools".into()), "{listed:?}");
}

#[tokio::test]
async fn meta_tools_need_their_gateway_scope() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut adder = TestClient::with_key(&app, &d.keys.adder);
    adder.initialize().await;
    let listed = tool_names(adder.rpc("tools/list", json!({})).await.result());
    assert_eq!(listed, ["fake_add"]);
    let refused = adder.call_tool("gateway_search_tools", json!({"query": "add"})).await;
    assert_eq!(refused.json["error"]["message"], "invalid params: unknown tool: gateway_search_tools");
    // One meta-tool's own scope grants that one only.
    let one = TestKey::new("k_one", &["gateway:gateway_search_tools", "tool:fake_add"]);
    d.stores.set_keys(std::slice::from_ref(&one));
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &one);
    client.initialize().await;
    let listed = tool_names(client.rpc("tools/list", json!({})).await.result());
    assert_eq!(listed, ["fake_add", "gateway_search_tools"]);
}

#[tokio::test]
async fn search_describe_and_call_work_together() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.browser);
    client.initialize().await;
    let found = structured(&client.call_tool("gateway_search_tools", json!({"query": "echo"})).await);
    assert_eq!(names_in(&found)[0], "fake_echo");
    assert_eq!(found["tools"][0]["description"], "The fake backend's echo tool.");
    let all = structured(&client.call_tool("gateway_search_tools", json!({"detail": "name", "limit": 2})).await);
    // echo, add, fail, boom, slow and the fake backend's four streaming tools.
    assert_eq!((all["total"].as_u64(), all["hasMore"].as_bool()), (Some(9), Some(true)));
    assert_eq!(all["backends"], json!({"fake": 9}));
    assert_eq!(all["tools"][0], json!({"name": "fake_add"}));
    let described =
        structured(&client.call_tool("gateway_describe_tools", json!({"names": ["fake_add", "nope"]})).await);
    assert_eq!(described["tools"][0]["inputSchema"]["required"], json!(["a", "b"]));
    assert_eq!(described["unknown"], json!(["nope"]));
    let called =
        client.call_tool("gateway_call_tool", json!({"name": "fake_add", "arguments": {"a": 40, "b": 2}})).await;
    assert_eq!(called.result()["structuredContent"]["result"], 42.0);
    assert!(called.result().pointer("/_meta/mcp-gateway~1shaping").is_none(), "nothing asked, nothing reported");
    // Bad arguments of a meta-tool are a result the model can read, naming the field, not the value.
    let bad = client.call_tool("gateway_search_tools", json!({"limit": "s3cret"})).await;
    assert_eq!(bad.result()["isError"], true);
    assert!(bad.tool_text().contains("/limit") && !bad.text.contains("s3cret"), "{bad:?}");
}

#[tokio::test]
async fn a_narrow_key_never_sees_or_reaches_other_tools_through_any_meta_tool() {
    let d = Deployment::new(&[("GATEWAY_RESULT_CACHE", "annotated")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.narrow);
    client.initialize().await;
    let found = structured(&client.call_tool("gateway_search_tools", json!({"query": ""})).await);
    assert_eq!(names_in(&found), ["fake_echo"]);
    let found = structured(&client.call_tool("gateway_search_tools", json!({"query": "add"})).await);
    assert!(names_in(&found).is_empty());
    let described = structured(&client.call_tool("gateway_describe_tools", json!({"names": ["fake_add"]})).await);
    assert_eq!((described["tools"].clone(), described["unknown"].clone()), (json!([]), json!(["fake_add"])));
    let called =
        client.call_tool("gateway_call_tool", json!({"name": "fake_add", "arguments": {"a": 1, "b": 1}})).await;
    assert_eq!(
        (called.result()["isError"].as_bool(), called.tool_text()),
        (Some(true), "invalid params: unknown tool: fake_add")
    );
    let both = json!({"calls": [{"name": "fake_add", "arguments": {"a": 1, "b": 1}}, {"name": "fake_echo", "arguments": {"text": "hi"}}]});
    let many = structured(&client.call_tool("gateway_call_tools", both).await);
    assert_eq!(many["results"][0]["error"], "invalid params: unknown tool: fake_add");
    assert_eq!(many["results"][1]["result"]["structuredContent"]["text"], "hi");
    // Nor the gateway's own tools, nor the code sandbox, through a call meta-tool.
    let nested = client.call_tool("gateway_call_tool", json!({"name": "gateway_search_tools", "arguments": {}})).await;
    assert_eq!(nested.result()["isError"], true);
    assert!(d.backend.calls_of("add").is_empty(), "the backend never got a call the key may not make");
    assert_eq!(d.stores.results.operations(), (0, 0), "no cache read for a tool the caller may not call");
}

#[tokio::test]
async fn a_meta_call_is_charged_like_the_call_it_makes() {
    let d = Deployment::new(&[("RATE_LIMIT_PER_PRINCIPAL", "6"), ("RATE_LIMIT_TOOLS", r#"{"fake_echo": 1}"#)]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.browser);
    client.initialize().await; // 1
    let call = |a: u64| json!({"name": "fake_add", "arguments": {"a": a, "b": 1}});
    assert_eq!(client.call_tool("gateway_call_tool", call(1)).await.status, 200); // 3: the request and its call
    assert_eq!(client.call_tool("gateway_call_tool", call(2)).await.status, 200); // 5
    let refused = client.call_tool("gateway_call_tool", call(3)).await; // the request fits (6), its call does not
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(d.backend.calls_of("add").len(), 2);
    // A per-tool limit applies through the meta-tools too.
    let d = Deployment::new(&[("RATE_LIMIT_TOOLS", r#"{"fake_echo": 1}"#)]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.browser);
    client.initialize().await;
    let echo = json!({"name": "fake_echo", "arguments": {"text": "x"}});
    assert_eq!(client.call_tool("gateway_call_tool", echo.clone()).await.status, 200);
    assert_eq!(client.call_tool("gateway_call_tool", echo).await.status, 429);
    assert_eq!(d.backend.calls_of("echo").len(), 1);
}

#[tokio::test]
async fn call_tools_runs_in_parallel_and_reports_each_call_on_its_own() {
    let d = Deployment::new(&[("GATEWAY_CALL_TOOLS_MAX", "4")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.browser);
    client.initialize().await;
    let slow = json!({"name": "fake_slow", "arguments": {"ms": 800}});
    let calls = json!({"calls": [slow, slow, slow, {"name": "fake_boom", "arguments": {"text": "bang"}}]});
    let started = Instant::now();
    let reply = client.call_tool("gateway_call_tools", calls).await;
    let elapsed = started.elapsed();
    let results = structured(&reply);
    assert!(elapsed < Duration::from_millis(2_000), "three 800 ms calls took {elapsed:?}: not parallel");
    assert_eq!(results["failed"], 1);
    for i in 0..3 {
        assert_eq!(results["results"][i]["result"]["content"][0]["text"], "slept", "{results}");
    }
    assert_eq!(results["results"][3], json!({"name": "fake_boom", "error": "The tool failed: boom: bang"}));
    assert_eq!(reply.result()["isError"], false);
    let five = json!({"calls": vec![json!({"name": "fake_echo", "arguments": {"text": "x"}}); 5]});
    let refused = client.call_tool("gateway_call_tools", five).await;
    assert_eq!(refused.result()["isError"], true);
    assert!(refused.tool_text().contains("at most 4 calls per request (5 given)"), "{refused:?}");
    assert_eq!(d.backend.calls_of("echo").len(), 0, "a refused batch makes no call");
}

#[tokio::test]
async fn shaping_cuts_the_tokenized_result_and_reports_it() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.browser);
    client.initialize().await;
    let text = "mail alice@example.com about the report";
    let args = json!({"name": "fake_echo", "arguments": {"text": text}, "maxChars": 12, "fields": ["/text"]});
    let reply = client.call_tool("gateway_call_tool", args).await;
    assert!(!reply.text.contains("alice") && !reply.text.contains("example.com"), "{}", reply.text);
    let result = reply.result();
    assert_eq!(result["structuredContent"], json!({"text": "mail [EMAIL_…"}));
    assert_eq!(result["content"][0]["text"], "mail [EMAIL_…");
    let report = &result["_meta"]["mcp-gateway/shaping"];
    assert_eq!(report["stringsCut"], 2);
    assert_eq!(report["fieldsNotApplied"], json!(["/content/0/text"]));
    // The token in the unshaped result resolves in the caller's vault, as after a direct call.
    client.call_tool("gateway_call_tool", json!({"name": "fake_echo", "arguments": {"text": "to [EMAIL_1]"}})).await;
    assert_eq!(d.backend.calls_of("echo")[1]["arguments"]["text"], "to alice@example.com");
}

#[tokio::test]
async fn a_cached_result_is_served_without_the_backend_per_principal_and_charged() {
    let d = Deployment::new(&[("GATEWAY_RESULT_CACHE", "annotated")]).await;
    let (a, b) = (d.instance(), d.instance());
    let mut client = TestClient::with_key(&a, &d.keys.browser);
    client.initialize().await;
    let add = json!({"name": "fake_add", "arguments": {"a": 1, "b": 2}});
    let first = client.call_tool("gateway_call_tool", add.clone()).await;
    assert_eq!(first.result()["_meta"]["mcp-gateway/cache"], "miss");
    // Another instance, the arguments in another order: the same entry.
    let second =
        client.on(&b).call_tool("gateway_call_tool", json!({"name": "fake_add", "arguments": {"b": 2, "a": 1}})).await;
    assert_eq!(second.result()["_meta"]["mcp-gateway/cache"], "hit");
    assert_eq!(second.result()["structuredContent"], first.result()["structuredContent"]);
    assert_eq!(d.backend.calls_of("add").len(), 1, "the second call did not reach the backend");
    // Another principal has its own cache.
    let mut other = TestClient::with_key(&a, &d.keys.all);
    other.initialize().await;
    assert_eq!(other.call_tool("gateway_call_tool", add.clone()).await.result()["_meta"]["mcp-gateway/cache"], "miss");
    assert_eq!(d.backend.calls_of("add").len(), 2);
    // One read per cacheable call; tools without the hints are never looked up.
    client.call_tool("gateway_call_tool", json!({"name": "fake_echo", "arguments": {"text": "x"}})).await;
    assert_eq!(d.stores.results.operations(), (3, 2));
}

#[tokio::test]
async fn a_cached_result_is_not_served_once_the_scope_is_gone() {
    let d = Deployment::new(&[("GATEWAY_RESULT_CACHE", "annotated")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.browser);
    client.initialize().await;
    let add = json!({"name": "fake_add", "arguments": {"a": 1, "b": 2}});
    client.call_tool("gateway_call_tool", add.clone()).await;
    // The key loses tool:fake_add (same id): a new instance reads the new key file.
    let narrowed = TestKey { scopes: vec!["gateway:call", "tool:fake_echo"], ..d.keys.browser.clone() };
    d.stores.set_keys(std::slice::from_ref(&narrowed));
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &narrowed);
    client.initialize().await;
    let refused = client.call_tool("gateway_call_tool", add).await;
    assert_eq!(refused.tool_text(), "invalid params: unknown tool: fake_add");
    assert_eq!(d.stores.results.operations().0, 1, "no cache read after the scope was withdrawn");
}

#[tokio::test]
async fn errors_are_never_cached_and_values_are_stored_tokenized_under_a_hashed_key() {
    let d = Deployment::new(&[("GATEWAY_RESULT_CACHE", "listed"), ("GATEWAY_RESULT_CACHE_TOOLS", "fake_*")]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.browser);
    client.initialize().await;
    for _ in 0..2 {
        client.call_tool("gateway_call_tool", json!({"name": "fake_fail"})).await;
        client.call_tool("gateway_call_tool", json!({"name": "fake_boom", "arguments": {"text": "x"}})).await;
    }
    assert_eq!((d.backend.calls_of("fail").len(), d.backend.calls_of("boom").len()), (2, 2));
    assert!(d.stores.results.dump().is_empty(), "no error was stored");
    let echo = |text: &str| json!({"name": "fake_echo", "arguments": {"text": text}});
    let first = client.call_tool("gateway_call_tool", echo("alice@example.com")).await;
    assert_eq!(first.result()["content"][0]["text"], "[EMAIL_1]");
    let stored = d.stores.results.dump();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].1.contains("[EMAIL_1]") && !stored[0].1.contains("alice"), "{stored:?}");
    assert!(!stored[0].0.contains("alice") && stored[0].0.len() == 64);
    // The token and the value it stands for are the same call.
    let again = client.call_tool("gateway_call_tool", echo("[EMAIL_1]")).await;
    assert_eq!(again.result()["_meta"]["mcp-gateway/cache"], "hit");
    assert_eq!(d.backend.calls_of("echo").len(), 1);
}

#[tokio::test]
async fn the_cache_is_off_by_default_and_for_anonymous_callers() {
    let d = Deployment::new(&[]).await;
    let app = d.instance();
    let mut client = TestClient::with_key(&app, &d.keys.browser);
    client.initialize().await;
    for _ in 0..2 {
        let reply =
            client.call_tool("gateway_call_tool", json!({"name": "fake_add", "arguments": {"a": 1, "b": 1}})).await;
        assert!(reply.result().pointer("/_meta/mcp-gateway~1cache").is_none());
    }
    let d2 = Deployment::with_backend(
        d.backend.clone(),
        &[("AUTH_MODE", "none"), ("ALLOW_INSECURE", "1"), ("GATEWAY_RESULT_CACHE", "annotated")],
    );
    let app = d2.instance();
    let mut anonymous = TestClient::new(&app);
    anonymous.initialize().await;
    for _ in 0..2 {
        anonymous.call_tool("gateway_call_tool", json!({"name": "fake_add", "arguments": {"a": 1, "b": 1}})).await;
    }
    assert_eq!(d.backend.calls_of("add").len(), 4);
    assert_eq!((d.stores.results.operations(), d2.stores.results.operations()), ((0, 0), (0, 0)));
}

#[tokio::test]
async fn sessions_of_one_principal_share_token_free_results_only() {
    let d =
        Deployment::new(&[("GATEWAY_RESULT_CACHE", "listed"), ("GATEWAY_RESULT_CACHE_TOOLS", "fake_add,fake_echo")])
            .await;
    let app = d.instance();
    let (mut first, mut second) =
        (TestClient::with_key(&app, &d.keys.browser), TestClient::with_key(&app, &d.keys.browser));
    first.initialize().await;
    second.initialize().await;
    let add = json!({"name": "fake_add", "arguments": {"a": 1, "b": 2}});
    first.call_tool("gateway_call_tool", add.clone()).await;
    assert_eq!(second.call_tool("gateway_call_tool", add).await.result()["_meta"]["mcp-gateway/cache"], "hit");
    assert_eq!(d.backend.calls_of("add").len(), 1);
    // A result holding a token is bound to the vault that minted it: the other session calls the backend.
    let echo = json!({"name": "fake_echo", "arguments": {"text": "alice@example.com"}});
    first.call_tool("gateway_call_tool", echo.clone()).await;
    let other = second.call_tool("gateway_call_tool", echo.clone()).await;
    assert_eq!(other.result()["_meta"]["mcp-gateway/cache"], "miss");
    assert_eq!(d.backend.calls_of("echo").len(), 2);
    // Its own token, which resolves in its own vault.
    second.call_tool("fake_echo", json!({"text": other.result()["content"][0]["text"].as_str().unwrap()})).await;
    assert_eq!(d.backend.calls_of("echo")[2]["arguments"]["text"], "alice@example.com");
}
