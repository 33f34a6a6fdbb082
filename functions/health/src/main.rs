//! Lambda for `GET /health`: wiring only. Liveness only: it reads no secrets, touches no table and
//! contacts no backend (the detailed view is `GET /mcp/health` on the mcp function, behind a credential).

use std::sync::Arc;

use lambda_http::{run, service_fn, Request};
use lambda_runtime::Error;
use shared::ratelimit::{PublicLimiter, RateLimitConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // A bad RATE_LIMIT_* variable fails the cold start with its name.
    let config = RateLimitConfig::from_lookup(|name| std::env::var(name).ok())?;
    let limiter = Arc::new(PublicLimiter::new(&config));
    let hops = config.trusted_proxy_hops;
    run(service_fn(move |request: Request| {
        let limiter = Arc::clone(&limiter);
        async move { Ok::<_, Error>(shared::health::handle(&limiter, hops, &request)) }
    }))
    .await
}
