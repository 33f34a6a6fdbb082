//! Lambda for `GET /health`: wiring only. It reads no secrets; of the table it reads only the stored
//! configuration (the backends added through the admin API are probed too).

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
    let stored = Arc::new(shared::boot::follower_from_env(&config).await);
    run(service_fn(move |request: Request| {
        let (config, client, stored) = (Arc::clone(&config), Arc::clone(&client), Arc::clone(&stored));
        async move {
            // At most one small read per poll interval; a new set rebuilds only what changed.
            if let Some(applied) = stored.poll().await.and_then(|changes| changes.config) {
                if let Err(error) = client.replace_backends(applied.backends) {
                    tracing::error!(%error, "could not build probe clients for the stored backends");
                }
            }
            Ok::<_, Error>(shared::health::handle(&config, &client, &request).await)
        }
    }))
    .await
}
