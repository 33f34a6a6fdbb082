//! The `code` function's Lambda entry: API Gateway events for `/api/code/*` (through `lambda_http`, as
//! `lambda_http::run` would serve them) and the internal event of `gateway_execute_code` from the `mcp`
//! function (see `internal` for how the two are told apart).

use std::convert::Infallible;

use lambda_http::{
    lambda_runtime::{Diagnostic, LambdaEvent},
    request::LambdaRequest,
    service_fn, Adapter, Service,
};
use serde_json::{json, Value};

use super::{
    execute::execute,
    internal::{recognise, Event, InternalAnswer, InternalEvent},
};
use crate::App;

/// Serves one invocation of the `code` function.
pub async fn handle(app: &App, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let (payload, context) = event.into_parts();
    match recognise(payload) {
        Event::Internal(parsed) => Ok(answer(match *parsed {
            Ok(event) => serve_internal(app, event).await,
            Err(reason) => {
                tracing::warn!(audit = true, decision = "deny", %reason, "internal event refused");
                InternalAnswer::Refused { status: 400, message: reason }
            }
        })),
        Event::Http(payload) => {
            let request: LambdaRequest = serde_json::from_value(payload).map_err(|_| Diagnostic {
                error_type: "UnrecognizedEvent".into(),
                error_message: "neither an API Gateway event nor an internal event".into(),
            })?;
            let service = service_fn(|request| async { Ok::<_, Infallible>(super::http::handle(app, request).await) });
            let response = Adapter::from(service)
                .call(LambdaEvent::new(request, context))
                .await
                .unwrap_or_else(|never| match never {});
            serde_json::to_value(response)
                .map_err(|error| Diagnostic { error_type: "ResponseEncoding".into(), error_message: error.to_string() })
        }
    }
}

/// Runs the execution the `mcp` function handed over, for the principal it authenticated.
async fn serve_internal(app: &App, event: InternalEvent) -> InternalAnswer {
    let principal = event.principal();
    let caller = event.caller(&principal);
    // Proof in the logs that `gateway_execute_code` ran here, under this function's role.
    tracing::info!(principal = %principal.id, "code execution for gateway_execute_code (internal invoke)");
    let outcome = match event.execute_request() {
        Ok(request) => execute(app, &caller, &app.config.code, request).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(result) => InternalAnswer::Result(result),
        Err(error) => InternalAnswer::Refused { status: error.status().as_u16(), message: error.message() },
    }
}

fn answer(answer: InternalAnswer) -> Value {
    serde_json::to_value(answer).unwrap_or_else(|_| json!({ "refused": { "status": 500, "message": "encoding" } }))
}
