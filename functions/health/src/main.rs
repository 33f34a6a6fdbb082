//! Lambda for `GET /health`: wiring only. It reads no secrets and touches no table.

use std::sync::Arc;

use lambda_http::{run, service_fn, Request};
use lambda_runtime::Error;
use shared::backend::McpHttpClient;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Arc::new(shared::Config::from_env()?);
    let client = Arc::new(McpHttpClient::new(config.max_backend_response_bytes, &config.gateway_name)?);
    run(service_fn(move |request: Request| {
        let (config, client) = (Arc::clone(&config), Arc::clone(&client));
        async move { Ok::<_, Error>(shared::health::handle(&config, &client, &request).await) }
    }))
    .await
}
