//! Added latency of the rate limiter per request against moto, and AWS calls per request.
//!
//!     source infra/env.sh && infra/local-stack.sh up && cargo bench -p mcp-gateway-shared --bench ratelimit
//!
//! Each request is one `RateLimiter::check`: one `UpdateItem` in exact mode, one per slice in leased mode;
//! the SDK is wrapped so every HTTP call it makes is counted (retries included).

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};

use shared::ratelimit::{DynamoRateLimitStore, Limit, RateLimitConfig, RateLimiter};

#[derive(Debug)]
struct CountCalls(Arc<AtomicU64>);

impl aws_sdk_dynamodb::config::Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_transmit(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    if std::env::var("AWS_ENDPOINT_URL").is_err() {
        eprintln!("set AWS_ENDPOINT_URL to a running moto (source infra/env.sh && infra/local-stack.sh up)");
        std::process::exit(2);
    }
    for mode in ["exact", "leased"] {
        run(mode).await;
    }
}

/// 1 000 sequential checks of one key in `mode` (`RATE_LIMIT_MODE`), after 20 warm-up ones.
async fn run(mode: &str) {
    let calls = Arc::new(AtomicU64::new(0));
    let sdk = shared::aws::sdk_config().await.expect("the AWS SDK configuration builds");
    let builder = aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(CountCalls(Arc::clone(&calls)));
    let table = std::env::var("TABLE_NAME").unwrap_or_else(|_| "mcp-gateway".into());
    let store = Arc::new(DynamoRateLimitStore::from_builder(builder, table));
    let config = RateLimitConfig::from_lookup(|k| (k == "RATE_LIMIT_MODE").then(|| mode.to_owned())).expect("config");
    let limiter = RateLimiter::new(config, store);
    let limit = Limit { key: format!("bench-{mode}-{}", std::process::id()), max: 1_000_000 };
    for _ in 0..20 {
        limiter.check(&limit).await.expect("warm-up");
    }
    let before = calls.load(Ordering::Relaxed);
    let requests = 1000u64;
    let mut samples = Vec::with_capacity(requests as usize);
    for _ in 0..requests {
        let started = Instant::now();
        let decision = limiter.check(&limit).await.expect("moto answers");
        samples.push(started.elapsed());
        assert!(decision.is_some_and(|d| d.allowed));
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3;
    let calls = calls.load(Ordering::Relaxed) - before;
    println!("rate limiter ({mode} mode) against moto: {requests} requests");
    println!("  added latency p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms", pct(0.5), pct(0.9), pct(0.99));
    println!("  AWS calls per request: {:.3} (reads: 0)", calls as f64 / requests as f64);
}
