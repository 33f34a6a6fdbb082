//! Lambda for `GET /metrics`: wiring only. It reads no secrets and touches no table.
//!
//! The exposition shows the counters of the instance that answers, and this function only serves
//! scrapes: on Lambda it never sees the `mcp` function's traffic, and each scrape may reach another
//! instance. The fleet-wide metrics are the EMF lines every function prints (CloudWatch namespace
//! `METRICS_NAMESPACE`); see `shared::telemetry`.

use lambda_http::{run, service_fn, Request};
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // A bad METRICS_NAMESPACE or METRICS_EMF fails the cold start with the variable's name.
    shared::telemetry::init()?;
    run(service_fn(|request: Request| async move { Ok::<_, Error>(shared::metrics::handle(&request)) })).await
}
