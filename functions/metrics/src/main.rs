//! Lambda for `GET /metrics`: wiring only. It reads no secrets and touches no table.
//!
//! The exposition shows the counters of the instance that answers, and this function only serves
//! scrapes: on Lambda it never sees the `mcp` function's traffic, and each scrape may reach another
//! instance. The fleet-wide metrics are the EMF lines every function prints (CloudWatch namespace
//! `METRICS_NAMESPACE`); see `shared::telemetry`.

use std::sync::Arc;

use lambda_http::{run, service_fn, Request};
use lambda_runtime::Error;
use shared::ratelimit::{PublicLimiter, RateLimitConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // A bad METRICS_NAMESPACE, METRICS_EMF or RATE_LIMIT_* variable fails the cold start with its name.
    shared::telemetry::init()?;
    let config = RateLimitConfig::from_lookup(|name| std::env::var(name).ok())?;
    let limiter = Arc::new(PublicLimiter::new(&config));
    let hops = config.trusted_proxy_hops;
    run(service_fn(move |request: Request| {
        let limiter = Arc::clone(&limiter);
        async move { Ok::<_, Error>(shared::metrics::handle(&limiter, hops, &request)) }
    }))
    .await
}
