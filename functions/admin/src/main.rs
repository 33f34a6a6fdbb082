//! Lambda for `/admin/` (the dashboard) and `/admin/api/*`: wiring only. All behaviour lives in
//! `shared::admin`. Its role may write the stored configuration items and the API-key secret, nothing else.

use std::sync::Arc;

use lambda_http::{run, service_fn, Request};
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    shared::telemetry::init()?;
    // A bad configuration fails the cold start with the variable's name, before any request is served.
    let app = Arc::new(shared::App::from_env_for_admin().await?);
    app.auth.prime().await;
    run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Error>(shared::admin::handle(&app, request).await) }
    }))
    .await
}
