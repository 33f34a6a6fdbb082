//! `GET /metrics` (the `metrics` function): the Prometheus exposition of *this process's* counters.
//!
//! On Lambda every function runs in its own instances, so this endpoint counts the requests its own
//! instance served (its scrapes) plus the build info, never the `mcp` function's traffic; and each
//! scrape may land on a different instance. Fleet-wide numbers are the EMF metrics in CloudWatch. The
//! renderer is shared so a self-hosted process serving every route would expose all of its counters.
//!
//! Unauthenticated on purpose: the function holds no secret to check a key against, and what it shows
//! (route names, statuses, the version) is no more than `/health` already tells.

use std::time::Instant;

use http::{header, HeaderValue, Method, Response, StatusCode};
use lambda_http::{Body, Request};

use super::{observe, render_prometheus, RequestRecord, CONTENT_TYPE};

/// The route as API Gateway and `cargo lambda watch` name it.
pub const ROUTE: &str = "/metrics";

/// Answers one request to `/metrics`: GET/HEAD → the exposition, anything else → 405.
pub fn handle(request: &Request) -> Response<Body> {
    let started = Instant::now();
    let response = respond(request.method());
    let record = RequestRecord::new(ROUTE, request.method().as_str(), response.status().as_u16(), started.elapsed());
    // Counted after rendering: a scrape shows the scrapes before it.
    observe(&record);
    response
}

fn respond(method: &Method) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        let mut response = crate::http::empty(StatusCode::METHOD_NOT_ALLOWED);
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = crate::http::empty(StatusCode::OK);
    if method == Method::GET {
        *response.body_mut() = Body::Text(render_prometheus());
    }
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}
