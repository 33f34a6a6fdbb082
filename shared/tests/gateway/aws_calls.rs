//! The AWS calls a warm request costs, per mode, counted by the SDK interceptor every client of the
//! gateway carries (`aws::counted`), against the moto emulator: the budget `make test` holds the gateway
//! to. A change that adds a store call to the hot path, or makes two concurrent calls sequential, fails
//! here. (Skipped without moto; `make test` requires it.)

use serde_json::json;
use shared::{
    aws,
    testing::{self, TestClient},
};

use crate::{keys, FakeBackend};

/// One mode of the gateway and what a warm `tools/call` may cost in it.
struct Mode {
    name: &'static str,
    vars: &'static [(&'static str, &'static str)],
    modern: bool,
    /// Average calls per warm request.
    calls: f64,
    /// Round trips of the slowest warm request.
    round_trips: u64,
}

const MODES: &[Mode] = &[
    Mode { name: "2026-07-28, no limit", vars: &[], modern: true, calls: 0.0, round_trips: 0 },
    Mode {
        name: "2026-07-28, exact limit",
        vars: &[("RATE_LIMIT_ENABLED", "1")],
        modern: true,
        calls: 1.0,
        round_trips: 1,
    },
    Mode {
        name: "2026-07-28, leased limit",
        vars: &[("RATE_LIMIT_ENABLED", "1"), ("RATE_LIMIT_MODE", "leased")],
        modern: true,
        calls: 0.2,
        round_trips: 1,
    },
    Mode { name: "2025-11-25 session, cached", vars: &[], modern: false, calls: 0.0, round_trips: 0 },
    Mode {
        name: "2025-11-25 session, not cached",
        vars: &[("GATEWAY_SESSION_CACHE_SECS", "0")],
        modern: false,
        calls: 1.0,
        round_trips: 1,
    },
    Mode {
        name: "2025-11-25 session, not cached, exact limit",
        vars: &[("GATEWAY_SESSION_CACHE_SECS", "0"), ("RATE_LIMIT_ENABLED", "1")],
        modern: false,
        calls: 2.0,
        round_trips: 1,
    },
    Mode {
        name: "2025-11-25 session, cached, exact limit",
        vars: &[("RATE_LIMIT_ENABLED", "1")],
        modern: false,
        calls: 1.0,
        round_trips: 1,
    },
    Mode {
        name: "2025-11-25 session, cached, leased limit",
        vars: &[("RATE_LIMIT_ENABLED", "1"), ("RATE_LIMIT_MODE", "leased")],
        modern: false,
        calls: 0.2,
        round_trips: 1,
    },
];

const WARM_UP: usize = 3;
const REQUESTS: usize = 60;

#[test]
fn warm_requests_cost_no_more_aws_calls_than_their_budget() {
    testing::on_deep_stack(measure);
}

async fn measure() {
    let Some(sdk) = testing::moto("warm_requests_cost_no_more_aws_calls_than_their_budget").await else { return };
    let backend = FakeBackend::start_modern().await;
    let backends = testing::backends_json(&[("fake", &backend.url())]);
    let keys = keys();
    let mut report = Vec::new();
    for mode in MODES {
        // Every mode charges the same principal: the limit is generous so none of them ever refuses.
        let mut vars = vec![
            ("GATEWAY_BACKENDS_JSON", backends.as_str()),
            ("AUTH_MODE", "api-key"),
            ("RATE_LIMIT_ENABLED", "0"),
            ("RATE_LIMIT_PER_PRINCIPAL", "1000000"),
        ];
        vars.extend(mode.vars.iter().copied());
        let app = std::sync::Arc::new(testing::aws_app(&vars, std::slice::from_ref(&keys.all), &sdk));
        let mut client = TestClient::with_key(&app, &keys.all);
        if !mode.modern {
            assert_eq!(client.initialize().await.status, 200, "{}", mode.name);
        }
        let call = |text: &'static str| {
            let client = &client;
            async move {
                let arguments = json!({"name": "fake_echo", "arguments": {"text": text}});
                let reply = if mode.modern {
                    client.modern("tools/call", arguments).await
                } else {
                    client.rpc("tools/call", arguments).await
                };
                assert_eq!(reply.tool_text(), text, "{}: {reply:?}", mode.name);
            }
        };
        for _ in 0..WARM_UP {
            call("warm-up").await;
        }
        let (mut calls, mut round_trips) = (0, 0);
        for _ in 0..REQUESTS {
            let ((), cost) = aws::counted(call("the quarterly report lists 42 open items")).await;
            calls += cost.calls;
            round_trips = round_trips.max(cost.round_trips);
        }
        let average = calls as f64 / REQUESTS as f64;
        report.push(format!("{}: {average:.2} calls, {round_trips} round trips at most", mode.name));
        assert!(
            average <= mode.calls && round_trips <= mode.round_trips,
            "{}: {average:.2} AWS calls per warm request (budget {}), {round_trips} round trips (budget {})",
            mode.name,
            mode.calls,
            mode.round_trips
        );
    }
    eprintln!("AWS calls per warm tools/call:\n  {}", report.join("\n  "));
}
