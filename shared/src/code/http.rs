//! `/api/code/*`: `POST /execute`, `GET /sdk`, `GET /tools/search`. Every route needs an
//! authenticated caller with `code:execute`; errors are JSON `{"error": "..."}` with their status.

use std::{collections::HashMap, time::Instant};

use ::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
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
use crate::{auth::CODE_EXECUTE, gate, http, ratelimit::Decision, App, GatewayError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Execute,
    Sdk,
    Search,
}

/// Serves one request to `/api/code/*`. Never fails: every error becomes its JSON response.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let config = &app.code;
    let started = Instant::now();
    let headers = request.headers();
    let mut decision = None;
    let mut response = match route(app, config, &request, &mut decision).await {
        Ok(response) => response,
        Err(error) => error_response(app, headers, &error),
    };
    if let Some(decision) = &decision {
        decision.apply(response.headers_mut());
    }
    if response.status() != StatusCode::FORBIDDEN {
        http::cors_headers(headers, &mut response);
    }
    tracing::info!(
        method = %request.method(),
        path = request.uri().path(),
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        "code request"
    );
    response
}

fn endpoint(path: &str) -> Option<(Endpoint, Method, &'static str)> {
    // API Gateway passes the full path; `cargo lambda watch` may strip the function's prefix.
    let route = path.strip_prefix("/api/code").unwrap_or(path).trim_end_matches('/');
    Some(match route {
        "/execute" => (Endpoint::Execute, Method::POST, "POST, OPTIONS"),
        "/sdk" => (Endpoint::Sdk, Method::GET, "GET, OPTIONS"),
        "/tools/search" => (Endpoint::Search, Method::GET, "GET, OPTIONS"),
        _ => return None,
    })
}

async fn route(
    app: &App,
    config: &CodeConfig,
    request: &Request,
    decision: &mut Option<Decision>,
) -> Result<Response<Body>, CodeError> {
    let headers = request.headers();
    http::check_origin(&app.config, headers)?;
    let (endpoint, method, allow) = endpoint(request.uri().path()).ok_or(CodeError::RouteNotFound)?;
    if request.method() == Method::OPTIONS {
        return Ok(http::preflight(headers));
    }
    if request.method() != method {
        return Err(CodeError::MethodNotAllowed(allow));
    }
    // Authenticated, rate limited and authorized before the body is even read.
    let admitted = gate::admit(app, request).await.map_err(|error| {
        if let GatewayError::RateLimited(refused) = &error {
            *decision = Some(refused.clone());
        }
        CodeError::Gateway(error)
    })?;
    *decision = admitted.decision;
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
                pii_scope: format!("principal:{}", principal.id),
                budget: Some(admitted.budget),
            };
            let result = execute(app, &caller, config, ExecuteRequest::from_json(&body)?).await?;
            Ok(http::json(StatusCode::OK, &result.to_value()))
        }
        Endpoint::Sdk => {
            let tools = callable(app, &principal, config).await?;
            let backends = &app.config.backends;
            let text = sdk::render(&tools, |name| {
                backends.resolve(name).map(|r| r.backend.id.clone()).unwrap_or_else(|| "gateway".into())
            });
            Ok(typescript(text))
        }
        Endpoint::Search => {
            let query = SearchQuery::from_params(&query_params(request))?;
            let tools = callable(app, &principal, config).await?;
            Ok(http::json(StatusCode::OK, &search(&tools, &query)))
        }
    }
}

fn query_params(request: &Request) -> HashMap<String, String> {
    let params = request.query_string_parameters();
    ["query", "detailLevel", "limit", "offset"]
        .into_iter()
        .filter_map(|name| params.first(name).map(|value| (name.to_owned(), value.to_owned())))
        .collect()
}

fn typescript(text: String) -> Response<Body> {
    let mut response = http::empty(StatusCode::OK);
    *response.body_mut() = Body::Text(text);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

fn error_response(app: &App, headers: &HeaderMap, error: &CodeError) -> Response<Body> {
    let status = error.status();
    if status.is_server_error() {
        tracing::error!(%error, "code request failed");
    }
    let mut response = http::json(status, &json!({ "error": error.message() }));
    let out = response.headers_mut();
    if let CodeError::MethodNotAllowed(allow) = error {
        out.insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    if let CodeError::Gateway(GatewayError::Auth(auth)) = error {
        let challenge = auth.www_authenticate(&app.config.auth, http::header(headers, "host"));
        if let Some(value) = challenge.and_then(|c| HeaderValue::try_from(c).ok()) {
            out.insert(header::WWW_AUTHENTICATE, value);
        }
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
