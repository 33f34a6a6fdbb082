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

use ::http::{Method, Response, StatusCode};
use lambda_http::{Body, Request};

use crate::{
    http::{self, Served},
    telemetry::{render_prometheus, CONTENT_TYPE},
};

/// The route as API Gateway and `cargo lambda watch` name it.
pub const ROUTE: &str = "/metrics";

/// Answers one request to `/metrics`: GET/HEAD → the exposition, anything else → 405.
pub fn handle(request: &Request) -> Response<Body> {
    let started = Instant::now();
    let response = respond(request.method());
    // Counted after rendering: a scrape shows the scrapes before it.
    http::finish(request.headers(), &Served::new(ROUTE, request.method().as_str(), started), response)
}

fn respond(method: &Method) -> Response<Body> {
    match *method {
        Method::GET => http::text(StatusCode::OK, CONTENT_TYPE, render_prometheus()),
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
