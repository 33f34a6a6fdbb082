//! Request telemetry: what one finished request was, counted three ways.
//!
//! - `registry`: this process's counters and latency histograms ([`metrics()`]), atomics behind a
//!   read-mostly map whose label values are bounded, so no client input can grow it without limit.
//! - `emf`: one CloudWatch Embedded Metric Format line per request on stdout ([`emit_request`]).
//!   CloudWatch Logs turns those lines into metrics for the whole fleet: these are the real numbers.
//! - `prometheus`: the text exposition of this process's counters ([`render_prometheus`]), served by
//!   the `metrics` function at `GET /metrics` (the `metrics` route module). A Lambda instance only sees its own
//!   requests, so a scrape shows one instance of one function, not the deployment.
//!
//! Privacy: metric names, dimensions and labels are route, method, status and backend id only. The
//! principal id appears in the per-request log line ([`observe`]), never in a metric or an EMF line, and
//! no credential, token or tool argument reaches this module at all.

mod emf;
mod histogram;
mod prometheus;
mod registry;
mod scope;

#[cfg(test)]
mod emf_tests;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(any(test, feature = "test-util"))]
pub use emf::disable_for_tests as disable_emf_for_tests;

use std::time::Duration;

pub use emf::{emit_request, init, write_request, EmfConfig, TelemetryConfigError, DEFAULT_NAMESPACE};
pub use histogram::{Histogram, BUCKETS_SECONDS};
pub use prometheus::{render_prometheus, render_prometheus_public, render_to, CONTENT_TYPE};
pub use registry::{method_label, metrics, Metrics};
pub use scope::{note_backend, note_pii_tokens, note_pii_vault_full, scoped, Notes};

/// One call to a backend made while serving a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendCall<'a> {
    /// The backend's configured id (`[A-Za-z0-9_-]`, chosen by the operator): never its URL.
    pub id: &'a str,
    pub latency: Duration,
    /// `false` when the backend could not be reached, timed out or answered with a transport error. A
    /// JSON-RPC error or an `isError` tool result is still a successful call.
    pub ok: bool,
}

/// What the handler knows about one finished request. Build it with [`RequestRecord::new`] and set
/// the fields that apply; every field is safe to count (the principal id only goes to the log line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRecord<'a> {
    /// The route as API Gateway names it (`/mcp`, `/metrics`), never the raw path.
    pub route: &'a str,
    /// The JSON-RPC method when there was exactly one (`tools/call`), else the HTTP method. Counted
    /// under [`method_label`], so an unknown method is `other` and cannot add series.
    pub method: &'a str,
    /// The authenticated caller's id (API key id or JWT `sub`); logged, never a metric dimension.
    pub principal_id: Option<&'a str>,
    /// The backend a single-backend request (`tools/call`, `resources/read`, `prompts/get`) went to.
    pub backend: Option<BackendCall<'a>>,
    /// The HTTP status of the response. 5xx counts as an error; a JSON-RPC error in a 200 does not.
    pub status: u16,
    pub latency: Duration,
    /// Refused by a rate limit (HTTP 429).
    pub rate_limited: bool,
    /// Refused by authentication or authorization (missing, invalid or insufficient credential).
    pub auth_denied: bool,
    /// PII tokens minted while answering (new vault entries, not tokens reused).
    pub pii_tokens: u64,
    /// The request met a full PII vault (new values were redacted): 0 or 1 per request.
    pub pii_vault_full: u64,
    /// AWS calls made while answering, and the round trips they took (logged, not a metric dimension).
    pub aws: crate::aws::Calls,
}

impl<'a> RequestRecord<'a> {
    pub fn new(route: &'a str, method: &'a str, status: u16, latency: Duration) -> Self {
        Self {
            route,
            method,
            principal_id: None,
            backend: None,
            status,
            latency,
            rate_limited: false,
            auth_denied: false,
            pii_tokens: 0,
            pii_vault_full: 0,
            aws: crate::aws::Calls::default(),
        }
    }

    /// Server-side failures only: a client's mistake (4xx) is not the gateway's error rate.
    pub fn is_error(&self) -> bool {
        self.status >= 500
    }
}

/// [`observe`] with what the request noted on its way ([`scoped`]): its backend when it had exactly one
/// (else each backend call is counted on its own), and the PII tokens it minted.
pub fn observe_noted<'a>(mut record: RequestRecord<'a>, notes: &'a Notes) {
    record.pii_tokens += notes.pii_tokens;
    record.pii_vault_full += notes.pii_vault_full;
    record.aws = notes.aws;
    record.backend = notes.single_backend();
    if record.backend.is_none() {
        notes.calls().for_each(|call| metrics().record_backend(&call));
    }
    observe(&record);
}

/// Everything a finished request owes telemetry: count it in this process, print its EMF line and
/// write the one structured log line (the only place the principal id appears).
pub fn observe(record: &RequestRecord<'_>) {
    metrics().record(record);
    emit_request(record);
    let backend = record.backend.map(|b| b.id);
    tracing::info!(
        route = record.route,
        method = method_label(record.method),
        principal = record.principal_id.unwrap_or("-"),
        backend = backend.unwrap_or("-"),
        status = record.status,
        latency_ms = millis(record.latency),
        rate_limited = record.rate_limited,
        auth_denied = record.auth_denied,
        pii_tokens = record.pii_tokens,
        pii_vault_full = record.pii_vault_full,
        aws_calls = record.aws.calls,
        aws_round_trips = record.aws.round_trips,
        "request"
    );
}

/// Milliseconds with microsecond precision, the unit CloudWatch graphs latency in.
fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}
