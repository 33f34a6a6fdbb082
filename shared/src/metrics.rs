//! `GET /metrics` (the `metrics` function): the Prometheus exposition of *this process's* counters.
//!
//! On Lambda every function runs in its own instances, so this endpoint counts the requests its own
//! instance served (its scrapes) plus the build info, never the `mcp` function's traffic; and each
//! scrape may land on a different instance. Fleet-wide numbers are the EMF metrics in CloudWatch. The
//! renderer is shared so a self-hosted process serving every route would expose all of its counters.
//!
//! Public, and rate-limited per client address like every public route (`RATE_LIMIT_PUBLIC`, counted
//! per instance): the function holds no secret to check a key against. The public exposition leaves out
//! the per-backend series (their labels name backends); only the plain server, which can authenticate,
//! shows them, to a caller holding `gateway:metrics`. What remains (route names, statuses, the version)
//! names no backend and no caller.

use std::time::Instant;

use ::http::{Method, Response, StatusCode};
use lambda_http::{Body, Request};

use crate::{
    gate, health,
    http::{self, Served},
    ratelimit::{Decision, PublicLimiter},
    telemetry::{render_prometheus, render_prometheus_public, CONTENT_TYPE},
    App, GatewayError,
};

/// The route as API Gateway and `cargo lambda watch` name it.
pub const ROUTE: &str = "/metrics";
/// The scope of the full exposition (with per-backend series).
pub const METRICS_SCOPE: &str = "gateway:metrics";

/// Answers one request to `/metrics` on the metrics function: GET/HEAD → the public exposition (after the
/// per-address limit), anything else → 405.
pub fn handle(limiter: &PublicLimiter, trusted_hops: usize, request: &Request) -> Response<Body> {
    let started = Instant::now();
    let (response, decision) = public(limiter, trusted_hops, request);
    finish(request, started, response, decision.as_ref(), None)
}

fn public(limiter: &PublicLimiter, trusted_hops: usize, request: &Request) -> (Response<Body>, Option<Decision>) {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return (respond(request.method(), false), None);
    }
    match gate::admit_public(limiter, trusted_hops, request) {
        Ok(decision) => (respond(request.method(), false), decision),
        Err(decision) => (health::refused(&decision), Some(decision)),
    }
}

/// `/metrics` where the gateway can authenticate (the plain server): a caller presenting a credential
/// gets the full exposition if it holds `gateway:metrics` (401/403 otherwise, charged like any request),
/// anyone else the public one.
pub async fn handle_with_auth(app: &App, request: &Request) -> Response<Body> {
    let started = Instant::now();
    if !health::wants_detail(app, request.headers()) {
        let (response, decision) = public(&app.public, app.limiter.config().trusted_proxy_hops, request);
        return finish(request, started, response, decision.as_ref(), None);
    }
    let mut decision = None;
    let outcome = async {
        let caller = gate::authenticate(app, request).await?;
        decision = gate::charge(app, &caller.budget).await?;
        caller.principal.require(METRICS_SCOPE)?;
        Ok::<_, GatewayError>(respond(request.method(), true))
    }
    .await;
    let (response, error) = match outcome {
        Ok(response) => (response, None),
        Err(error) => {
            let status = error.mapping(crate::protocol::Era::Legacy).status;
            let mut response = http::json(status, &serde_json::json!({ "error": error.to_string() }));
            if let GatewayError::RateLimited(refused) = &error {
                refused.apply(response.headers_mut());
            }
            (response, Some(error))
        }
    };
    let auth_error = match &error {
        Some(GatewayError::Auth(auth)) => Some((auth, &app.config.auth)),
        _ => None,
    };
    finish(request, started, response, decision.as_ref(), auth_error)
}

fn finish(
    request: &Request,
    started: Instant,
    response: Response<Body>,
    decision: Option<&Decision>,
    auth_error: Option<(&crate::auth::AuthError, &crate::auth::AuthConfig)>,
) -> Response<Body> {
    let mut served = Served::new(ROUTE, request.method().as_str(), started);
    served.decision = decision;
    served.auth_error = auth_error;
    // Counted after rendering: a scrape shows the scrapes before it.
    http::finish(request.headers(), &served, response)
}

fn respond(method: &Method, with_backends: bool) -> Response<Body> {
    let render = if with_backends { render_prometheus } else { render_prometheus_public };
    match *method {
        Method::GET => http::text(StatusCode::OK, CONTENT_TYPE, render()),
        Method::HEAD => {
            let mut response = http::text(StatusCode::OK, CONTENT_TYPE, String::new());
            *response.body_mut() = Body::Empty;
            response
        }
        _ => http::not_allowed("GET, HEAD"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::tests::{assert_exposition, value};

    fn handle(request: &Request) -> Response<Body> {
        let config = crate::ratelimit::RateLimitConfig::from_lookup(|_| None).unwrap();
        super::handle(&PublicLimiter::new(&config), 0, request)
    }

    fn request(method: Method) -> lambda_http::Request {
        crate::telemetry::disable_emf_for_tests();
        let mut request = lambda_http::Request::new(Body::Empty);
        *request.method_mut() = method;
        *request.uri_mut() = "/metrics".parse().unwrap();
        request
    }

    #[test]
    fn endpoint_serves_the_exposition_and_counts_itself() {
        let first = handle(&request(Method::GET));
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(first.headers()["cache-control"], "no-store");
        let second = handle(&request(Method::GET));
        let Body::Text(text) = second.body() else { panic!("text body expected") };
        assert_exposition(text);
        let scrapes = value(text, r#"mcp_gateway_requests_total{route="/metrics",method="GET",status="200"}"#);
        assert!(scrapes.is_some_and(|n| n >= 1.0), "the earlier scrape is counted:\n{text}");
    }

    #[test]
    fn endpoint_refuses_other_methods() {
        let response = handle(&request(Method::POST));
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "GET, HEAD");
        let head = handle(&request(Method::HEAD));
        assert_eq!(head.status(), StatusCode::OK);
        assert!(matches!(head.body(), Body::Empty));
    }
}
