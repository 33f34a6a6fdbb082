//! `/api/code/*`: `POST /execute`, `GET /sdk`, `GET /tools/search`. Every route needs an
//! authenticated caller with `code:execute`; errors are JSON `{"error": "..."}` with their status.

use std::{collections::HashMap, time::Instant};

use ::http::{header, HeaderValue, Method, Response, StatusCode};
use lambda_http::{Body, Request, RequestExt};
use serde_json::{json, Value};

use super::{
    config::CodeConfig,
    error::CodeError,
    execute::{execute, Caller, ExecuteRequest},
    sdk,
    search::{search, SearchQuery},
    tools::callable,
};
use crate::{
    auth::CODE_EXECUTE,
    gate,
    http::{self, Served},
    protocol::VaultScope,
    ratelimit::Decision,
    telemetry, App, GatewayError,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Execute,
    Sdk,
    Search,
}

/// Serves one request to `/api/code/*`. Never fails: every error becomes its JSON response.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let config = &app.config.code;
    let started = Instant::now();
    let headers = request.headers();
    let mut seen = Seen::default();
    let (outcome, notes) = telemetry::scoped(route(app, config, &request, &mut seen)).await;
    let (response, error) = match outcome {
        Ok(response) => (response, None),
        Err(error) => (error_response(&error), Some(error)),
    };
    let route = endpoint(request.uri().path()).map_or("/api/code", |(_, _, _, route)| route);
    let mut served = Served::new(route, request.method().as_str(), started);
    served.principal = seen.principal.as_deref();
    served.decision = seen.decision.as_ref();
    served.auth_error = match &error {
        Some(CodeError::Gateway(GatewayError::Auth(auth))) => Some((auth, &app.config.auth)),
        _ => None,
    };
    let refused_origin =
        matches!(error, Some(CodeError::Gateway(GatewayError::ForbiddenOrigin | GatewayError::ForbiddenHost)));
    served.origin_checked = !refused_origin;
    served.notes = Some(&notes);
    http::finish(headers, &served, response)
}

/// What the request revealed on its way through, for headers and the log line.
#[derive(Default)]
struct Seen {
    decision: Option<Decision>,
    principal: Option<String>,
}

/// The endpoint of a path, the method it takes, its `Allow` header and its route name.
fn endpoint(path: &str) -> Option<(Endpoint, Method, &'static str, &'static str)> {
    // API Gateway passes the full path; `cargo lambda watch` may strip the function's prefix.
    let route = path.strip_prefix("/api/code").unwrap_or(path).trim_end_matches('/');
    Some(match route {
        "/execute" => (Endpoint::Execute, Method::POST, "POST, OPTIONS", "/api/code/execute"),
        "/sdk" => (Endpoint::Sdk, Method::GET, "GET, OPTIONS", "/api/code/sdk"),
        "/tools/search" => (Endpoint::Search, Method::GET, "GET, OPTIONS", "/api/code/tools/search"),
        _ => return None,
    })
}

async fn route(
    app: &App,
    config: &CodeConfig,
    request: &Request,
    seen: &mut Seen,
) -> Result<Response<Body>, CodeError> {
    app.sync().await;
    let headers = request.headers();
    http::check_origin(&app.config, headers)?;
    let (endpoint, method, allow, _) = endpoint(request.uri().path()).ok_or(CodeError::RouteNotFound)?;
    if request.method() == Method::OPTIONS {
        return Ok(http::preflight(headers));
    }
    if request.method() != method {
        return Err(CodeError::MethodNotAllowed(allow));
    }
    // Authenticated, rate limited and authorized before the body is even read.
    let admitted = gate::admit(app, request).await.map_err(|error| {
        if let GatewayError::RateLimited(refused) = &error {
            seen.decision = Some(refused.clone());
        }
        CodeError::Gateway(error)
    })?;
    seen.decision = admitted.decision;
    seen.principal = Some(admitted.principal.id.clone());
    let principal = admitted.principal;
    principal.require(CODE_EXECUTE).map_err(GatewayError::from)?;
    match endpoint {
        Endpoint::Execute => {
            http::check_content_type(headers)?;
            let body = http::body(request, app.config.max_body_bytes)?;
            let body: Value = serde_json::from_slice(body).map_err(|_| GatewayError::Parse)?;
            let caller = Caller {
                principal: &principal,
                // Stateless, like a modern /mcp request: tokens live in the principal's vault.
                vault: VaultScope::Principal(principal.id.clone()),
                budget: Some(admitted.budget),
            };
            let result = execute(app, &caller, config, ExecuteRequest::from_json(&body)?).await?;
            Ok(http::json(StatusCode::OK, &result.to_value()))
        }
        Endpoint::Sdk => {
            let tools = callable(app, &principal, config).await?;
            let backends = app.backends();
            let text = sdk::render(&tools, |name| {
                backends.resolve(name).map(|r| r.backend.id.clone()).unwrap_or_else(|| "gateway".into())
            });
            Ok(typescript(text))
        }
        Endpoint::Search => {
            let query = SearchQuery::from_params(&query_params(request))?;
            let tools = callable(app, &principal, config).await?;
            let backends = app.backends();
            let origin = |name: &str| backends.resolve(name).map(|r| (r.backend.id.clone(), r.name));
            Ok(http::json(StatusCode::OK, &search(tools, &query, origin)))
        }
    }
}

fn query_params(request: &Request) -> HashMap<String, String> {
    let params = request.query_string_parameters();
    ["query", "backend", "detailLevel", "limit", "offset"]
        .into_iter()
        .filter_map(|name| params.first(name).map(|value| (name.to_owned(), value.to_owned())))
        .collect()
}

fn typescript(text: String) -> Response<Body> {
    http::text(StatusCode::OK, "text/plain; charset=utf-8", text)
}

fn error_response(error: &CodeError) -> Response<Body> {
    let status = error.status();
    if status.is_server_error() {
        tracing::error!(%error, "code request failed");
    }
    let mut response = http::json(status, &json!({ "error": error.message() }));
    if let CodeError::MethodNotAllowed(allow) = error {
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_with_or_without_the_prefix() {
        assert_eq!(endpoint("/api/code/execute").map(|e| e.0), Some(Endpoint::Execute));
        assert_eq!(endpoint("/execute").map(|e| e.0), Some(Endpoint::Execute));
        assert_eq!(endpoint("/api/code/tools/search/").map(|e| e.0), Some(Endpoint::Search));
        assert_eq!(endpoint("/api/code/sdk").map(|e| e.1), Some(Method::GET));
        assert!(endpoint("/api/code/other").is_none());
    }
}
