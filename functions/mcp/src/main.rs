//! Lambda for `/mcp`: wiring only. All behaviour lives in the `shared` crate.
//!
//! With `GATEWAY_STREAMING` on (the template sets it behind the REST API's response streaming), the
//! function answers through Lambda response streaming, so an event stream reaches the client as it is
//! written; otherwise (behind the HTTP API, which buffers) every answer is one buffered body.

use std::sync::Arc;

use lambda_http::{run, run_with_streaming_response, service_fn, Request};
use lambda_runtime::Error;
use shared::http::ResponseBody;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    shared::telemetry::init()?;
    // A bad configuration fails the cold start with the variable's name, before any request is served.
    // The API keys (or the JWKS) are loaded here too, so the first request does not wait for them.
    let app = Arc::new(shared::App::from_env().await?);
    if app.config.streaming.replies() {
        return run_with_streaming_response(service_fn(move |request: Request| {
            let app = Arc::clone(&app);
            async move { Ok::<_, Error>(shared::mcp::handler::handle(&app, request).await) }
        }))
        .await;
    }
    run(service_fn(move |request: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Error>(ResponseBody::buffered(shared::mcp::handler::handle(&app, request).await).await) }
    }))
    .await
}
