//! Lambda for `/api/code/*`: wiring only. All behaviour lives in `shared::code`.

use std::sync::Arc;

use lambda_http::{run, service_fn, Request};
use lambda_runtime::Error;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // A bad configuration fails the cold start with the variable's name, before any request is served.
    // The API keys (or the JWKS) are loaded here too, so the first request does not wait for them.
    let app = Arc::new(shared::App::from_env().await?);
    run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Error>(shared::code::http::handle(&app, request).await) }
    }))
    .await
}
