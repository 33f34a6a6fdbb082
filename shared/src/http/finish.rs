//! The one place a response is finished, for every route (`/mcp`, `/api/code/*`, `/health`, `/metrics`,
//! and any route added later): security headers, the caller's rate-limit state, the `WWW-Authenticate`
//! challenge of an authentication failure, CORS for a browser origin the route has accepted, and the
//! request's telemetry (log line, EMF metrics line, process counters). A route decides what to answer;
//! how every answer is dressed and counted is decided here only. A streamed answer is dressed the same
//! way when its headers go out; its telemetry is recorded when the stream ends (its latency is then the
//! whole stream's, and the backend calls and PII tokens of the streamed part count too).

use std::time::Instant;

use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use lambda_http::Body;

use super::{
    body::{ResponseBody, StreamEnd},
    origin::cors_headers,
    request::header,
    response::secure,
};
use crate::{
    auth::{AuthConfig, AuthError},
    ratelimit::Decision,
    telemetry::{self, Notes, RequestRecord},
};

/// A body `finish` can dress: a buffered one is recorded at once, a stream when it ends.
pub trait Finishable {
    /// Where the body reports its end, if it is a stream.
    fn stream_end(&self) -> Option<&std::sync::Arc<StreamEnd>> {
        None
    }
}

impl Finishable for Body {}

impl Finishable for ResponseBody {
    fn stream_end(&self) -> Option<&std::sync::Arc<StreamEnd>> {
        self.end()
    }
}

/// What a route learned while serving one request, for its response and its telemetry.
pub struct Served<'a> {
    /// The route as API Gateway names it (`/mcp`, `/api/code/execute`), never the raw path.
    pub route: &'a str,
    /// The JSON-RPC method when there was exactly one, else the HTTP method.
    pub method: &'a str,
    pub started: Instant,
    /// The authenticated caller's id, for the log line only.
    pub principal: Option<&'a str>,
    /// The caller's rate-limit state after this request was charged (or refused).
    pub decision: Option<&'a Decision>,
    /// An authentication failure and the settings its challenge names.
    pub auth_error: Option<(&'a AuthError, &'a AuthConfig)>,
    /// The route checked the request's `Origin` (and `Host`) against the allowed lists, so a browser
    /// origin that got this far may read the answer. Routes that do not check get no CORS headers.
    pub origin_checked: bool,
    /// What the request noted on its way (backend calls, PII tokens), when it ran in a telemetry scope.
    pub notes: Option<&'a Notes>,
}

impl<'a> Served<'a> {
    /// A request to `route` started at `started`, nothing learned yet.
    pub fn new(route: &'a str, method: &'a str, started: Instant) -> Self {
        Self {
            route,
            method,
            started,
            principal: None,
            decision: None,
            auth_error: None,
            origin_checked: false,
            notes: None,
        }
    }
}

/// Dresses `response` for the request whose headers are `request` and records the request (when a
/// streamed body ends, for a stream).
pub fn finish<B: Finishable>(request: &HeaderMap, served: &Served<'_>, mut response: Response<B>) -> Response<B> {
    secure(response.headers_mut());
    // A response refused by another limit (a per-tool one) already says which; it is not overwritten.
    if let Some(decision) = served.decision.filter(|_| !response.headers().contains_key("x-ratelimit-limit")) {
        decision.apply(response.headers_mut());
    }
    if let Some((error, config)) = served.auth_error {
        let challenge = error.www_authenticate(config, header(request, "host"));
        if let Some(value) = challenge.and_then(|c| HeaderValue::try_from(c).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
    }
    // A refused origin (403) never learns anything, CORS headers included.
    if served.origin_checked && response.status() != StatusCode::FORBIDDEN {
        cors_headers(request, &mut response);
    }
    let record = Finished {
        route: served.route.to_owned(),
        method: served.method.to_owned(),
        principal: served.principal.map(str::to_owned),
        status: response.status().as_u16(),
        started: served.started,
        auth_denied: served.auth_error.is_some(),
        notes: served.notes.cloned(),
    };
    match response.body().stream_end() {
        Some(end) => end.on_end(Box::new(move |streamed| record.observe(Some(streamed)))),
        None => record.observe(None),
    }
    response
}

/// What a finished request owes telemetry, kept until a streamed body ends.
struct Finished {
    route: String,
    method: String,
    principal: Option<String>,
    status: u16,
    started: Instant,
    auth_denied: bool,
    notes: Option<Notes>,
}

impl Finished {
    /// Records the request, with what the streamed part of it noted (`streamed`), if any.
    fn observe(self, streamed: Option<Notes>) {
        let mut record = RequestRecord::new(&self.route, &self.method, self.status, self.started.elapsed());
        record.principal_id = self.principal.as_deref();
        record.rate_limited = self.status == StatusCode::TOO_MANY_REQUESTS.as_u16();
        record.auth_denied = self.auth_denied;
        let notes = match (self.notes, streamed) {
            (Some(mut notes), Some(streamed)) => {
                notes.merge(streamed);
                Some(notes)
            }
            (notes, streamed) => notes.or(streamed),
        };
        match &notes {
            Some(notes) => telemetry::observe_noted(record, notes),
            None => telemetry::observe(&record),
        }
    }
}
