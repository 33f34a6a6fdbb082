//! Prometheus text exposition (format 0.0.4) of this process's counters. Every family is always
//! announced with `# HELP` and `# TYPE`, so a scrape of a fresh instance still lists what it counts.

use std::{fmt::Write, sync::atomic::Ordering::Relaxed, time::UNIX_EPOCH};

use super::{
    emf::config,
    histogram::{Histogram, BUCKETS_SECONDS},
    registry::{metrics, Metrics},
};

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exposition of the process-wide registry.
pub fn render_prometheus() -> String {
    let mut out = String::with_capacity(4096);
    render_to(&mut out, metrics(), &config().function);
    out
}

/// The exposition without the per-backend samples (their labels name backends), for anonymous scrapers.
/// The families are still announced.
pub fn render_prometheus_public() -> String {
    let mut out = String::with_capacity(4096);
    render(&mut out, metrics(), &config().function, false);
    out
}

/// Renders `metrics` into `out`; `function` labels the build-info series.
pub fn render_to(out: &mut String, metrics: &Metrics, function: &str) {
    render(out, metrics, function, true);
}

fn render(out: &mut String, metrics: &Metrics, function: &str, with_backends: bool) {
    let mut w = Writer(out);
    w.family("mcp_gateway_build_info", "gauge", "Always 1; the labels say which build and function answered.");
    w.sample("mcp_gateway_build_info", &[("version", env!("CARGO_PKG_VERSION")), ("function", function)], 1);
    let started = metrics.started.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    w.family("mcp_gateway_process_start_time_seconds", "gauge", "When this instance started (Unix time).");
    w.sample_f64("mcp_gateway_process_start_time_seconds", &[], started);

    w.family("mcp_gateway_requests_total", "counter", "Requests this instance answered, by route, method and status.");
    for (labels, count) in metrics.requests.snapshot() {
        let l = [("route", &*labels[0]), ("method", &*labels[1]), ("status", &*labels[2])];
        w.sample("mcp_gateway_requests_total", &l, count.load(Relaxed));
    }
    let routes = metrics.routes.snapshot();
    w.family("mcp_gateway_errors_total", "counter", "Requests answered with a 5xx status, by route.");
    for (labels, stats) in &routes {
        w.sample("mcp_gateway_errors_total", &[("route", &labels[0])], stats.errors.load(Relaxed));
    }
    w.family("mcp_gateway_request_duration_seconds", "histogram", "Time to answer a request, by route.");
    for (labels, stats) in &routes {
        w.histogram("mcp_gateway_request_duration_seconds", ("route", &labels[0]), &stats.latency);
    }

    let backends = if with_backends { metrics.backends.snapshot() } else { Vec::new() };
    w.family("mcp_gateway_backend_calls_total", "counter", "Calls to each backend.");
    for (labels, stats) in &backends {
        w.sample("mcp_gateway_backend_calls_total", &[("backend", &labels[0])], stats.calls.load(Relaxed));
    }
    w.family(
        "mcp_gateway_backend_errors_total",
        "counter",
        "Backend calls that failed (unreachable, timeout, transport).",
    );
    for (labels, stats) in &backends {
        w.sample("mcp_gateway_backend_errors_total", &[("backend", &labels[0])], stats.errors.load(Relaxed));
    }
    w.family("mcp_gateway_backend_duration_seconds", "histogram", "Time of each backend call.");
    for (labels, stats) in &backends {
        w.histogram("mcp_gateway_backend_duration_seconds", ("backend", &labels[0]), &stats.latency);
    }

    let totals = [
        ("mcp_gateway_rate_limited_total", "Requests refused by a rate limit (429).", &metrics.rate_limited),
        ("mcp_gateway_auth_denials_total", "Requests refused by authentication or scopes.", &metrics.auth_denials),
        ("mcp_gateway_pii_tokens_total", "PII tokens minted in backend results.", &metrics.pii_tokens),
        (
            "mcp_gateway_pii_vault_full_total",
            "Requests whose new PII values were redacted because the vault was at its cap.",
            &metrics.pii_vault_full,
        ),
    ];
    for (name, help, counter) in totals {
        w.family(name, "counter", help);
        w.sample(name, &[], counter.load(Relaxed));
    }
    w.family(
        "mcp_gateway_aws_calls_total",
        "counter",
        "AWS API calls this process sent, retries included, by operation.",
    );
    for (operation, count) in crate::aws::totals() {
        w.sample("mcp_gateway_aws_calls_total", &[("operation", operation)], count);
    }
}

struct Writer<'a>(&'a mut String);

// `fmt::Write` for a `String` cannot fail; the results are discarded on purpose.
impl Writer<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.name_and_labels(name, labels);
        let _ = writeln!(self.0, " {value}");
    }

    fn sample_f64(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.name_and_labels(name, labels);
        let _ = writeln!(self.0, " {}", float(value));
    }

    fn histogram(&mut self, name: &str, label: (&str, &str), histogram: &Histogram) {
        let cumulative = histogram.cumulative();
        let bucket = format!("{name}_bucket");
        for (bound, count) in BUCKETS_SECONDS.iter().zip(cumulative) {
            self.sample(&bucket, &[label, ("le", &float(*bound))], count);
        }
        let total = cumulative[BUCKETS_SECONDS.len()];
        self.sample(&bucket, &[label, ("le", "+Inf")], total);
        self.sample_f64(&format!("{name}_sum"), &[label], histogram.sum_seconds());
        self.sample(&format!("{name}_count"), &[label], total);
    }

    fn name_and_labels(&mut self, name: &str, labels: &[(&str, &str)]) {
        self.0.push_str(name);
        if labels.is_empty() {
            return;
        }
        self.0.push('{');
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            let _ = write!(self.0, "{key}=\"{}\"", escape(value));
        }
        self.0.push('}');
    }
}

/// Label values escape backslash, double quote and newline (the format's only escapes).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Go-style floats as Prometheus prints them (`0.005`, `1`, `30`), never an exponent for these ranges.
fn float(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod public_tests {
    use std::time::Duration;

    use super::*;
    use crate::telemetry::{tests::assert_exposition, BackendCall};

    #[test]
    fn the_public_exposition_names_no_backend_but_announces_every_family() {
        let metrics = Metrics::new();
        metrics.record_backend(&BackendCall { id: "secret-backend", latency: Duration::from_millis(3), ok: true });
        let (mut full, mut public) = (String::new(), String::new());
        render(&mut full, &metrics, "fn", true);
        render(&mut public, &metrics, "fn", false);
        assert!(full.contains("backend=\"secret-backend\""));
        assert!(!public.contains("secret-backend"), "{public}");
        assert!(public.contains("# TYPE mcp_gateway_backend_calls_total counter"));
        assert_exposition(&public);
    }
}
