//! Lambda for `/api/code/*` and the internal invocation of `gateway_execute_code` by the `mcp` function:
//! wiring only. All behaviour lives in `shared::code`.

use std::sync::Arc;

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

fn main() -> Result<(), Error> {
    // First, before any runtime or thread: this binary is also the sandbox process of each execution.
    shared::code::serve_if_child();
    serve()
}

#[tokio::main]
async fn serve() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    // A bad configuration fails the cold start with the variable's name, before any request is served.
    // The API keys (or the JWKS) are loaded here too, so the first request does not wait for them.
    let app = Arc::new(shared::App::from_env().await?);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        async move { shared::code::lambda::handle(&app, event).await }
    }))
    .await
}
