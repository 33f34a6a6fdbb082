//! Lambda for `GET /health`: wiring only. It reads no secrets and touches no table.

use std::sync::Arc;

use lambda_http::{run, service_fn, Request};
use lambda_runtime::Error;
use shared::backend::McpHttpClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Arc::new(shared::Config::from_env()?);
    // Probes bypass circuit breakers and caches: /health reports what the backends answer right now.
    let client = Arc::new(McpHttpClient::for_probes(config.as_ref())?);
    run(service_fn(move |request: Request| {
        let (config, client) = (Arc::clone(&config), Arc::clone(&client));
        async move { Ok::<_, Error>(shared::health::handle(&config, &client, &request).await) }
    }))
    .await
}
