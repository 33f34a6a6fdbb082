use std::{collections::HashSet, time::Duration};

use super::{method_label, render_to, BackendCall, Metrics, RequestRecord};

fn render(metrics: &Metrics) -> String {
    let mut out = String::new();
    render_to(&mut out, metrics, "test-fn");
    out
}

/// Checks the 0.0.4 text format: HELP then TYPE before a family's samples, sample lines of the form
/// `name{label="value",...} number`, every sample belonging to a declared family, no duplicate series.
pub(crate) fn assert_exposition(text: &str) {
    let sample = regex::Regex::new(
        r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})? (-?[0-9.eE+]+|\+Inf|NaN)$"#,
    )
    .unwrap();
    let mut declared = HashSet::new();
    let mut series = HashSet::new();
    let mut help_for = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help_for = rest.split(' ').next().map(str::to_owned);
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(help_for.as_deref(), Some(name), "TYPE without its HELP: {line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(declared.insert(name.to_owned()), "family declared twice: {name}");
        } else {
            let caps = sample.captures(line).unwrap_or_else(|| panic!("not a sample line: {line:?}"));
            let name = &caps[1];
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| declared.contains(*f)))
                .unwrap_or(name);
            assert!(declared.contains(family), "sample before its TYPE: {line}");
            let key = line.rsplit_once(' ').unwrap().0;
            assert!(series.insert(key.to_owned()), "duplicate series: {key}");
        }
    }
    assert!(text.ends_with('\n'));
}

pub(crate) fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn empty_registry_still_declares_every_family() {
    let text = render(&Metrics::new());
    assert_exposition(&text);
    for family in ["mcp_gateway_requests_total", "mcp_gateway_request_duration_seconds", "mcp_gateway_pii_tokens_total"]
    {
        assert!(text.contains(&format!("# TYPE {family} ")), "{family} missing:\n{text}");
    }
    let build = format!("mcp_gateway_build_info{{version=\"{}\",function=\"test-fn\"}}", env!("CARGO_PKG_VERSION"));
    assert_eq!(value(&text, &build), Some(1.0));
    assert_eq!(value(&text, "mcp_gateway_rate_limited_total"), Some(0.0));
}

#[test]
fn records_are_counted_by_route_method_status_and_backend() {
    let metrics = Metrics::new();
    let mut call = RequestRecord::new("/mcp", "tools/call", 200, Duration::from_millis(3));
    call.backend = Some(BackendCall { id: "demo", latency: Duration::from_millis(2), ok: true });
    call.pii_tokens = 2;
    metrics.record(&call);
    metrics.record(&call);
    let mut limited = RequestRecord::new("/mcp", "POST", 429, Duration::from_micros(300));
    limited.rate_limited = true;
    metrics.record(&limited);
    metrics.record(&RequestRecord::new("/mcp", "POST", 503, Duration::from_secs(40)));
    metrics.record_backend(&BackendCall { id: "demo", latency: Duration::from_secs(1), ok: false });

    let text = render(&metrics);
    assert_exposition(&text);
    assert_eq!(value(&text, r#"mcp_gateway_requests_total{route="/mcp",method="tools/call",status="200"}"#), Some(2.0));
    assert_eq!(value(&text, r#"mcp_gateway_requests_total{route="/mcp",method="POST",status="429"}"#), Some(1.0));
    assert_eq!(value(&text, r#"mcp_gateway_errors_total{route="/mcp"}"#), Some(1.0));
    assert_eq!(value(&text, "mcp_gateway_rate_limited_total"), Some(1.0));
    assert_eq!(value(&text, "mcp_gateway_pii_tokens_total"), Some(4.0));
    assert_eq!(value(&text, r#"mcp_gateway_backend_calls_total{backend="demo"}"#), Some(3.0));
    assert_eq!(value(&text, r#"mcp_gateway_backend_errors_total{backend="demo"}"#), Some(1.0));
    // Cumulative buckets: 300 µs ≤ 1 ms; 3 ms ≤ 5 ms; 40 s only in +Inf.
    let bucket =
        |le: &str| value(&text, &format!("mcp_gateway_request_duration_seconds_bucket{{route=\"/mcp\",le=\"{le}\"}}"));
    assert_eq!(
        (bucket("0.001"), bucket("0.005"), bucket("30"), bucket("+Inf")),
        (Some(1.0), Some(3.0), Some(3.0), Some(4.0))
    );
    assert_eq!(value(&text, r#"mcp_gateway_request_duration_seconds_count{route="/mcp"}"#), Some(4.0));
    let sum = value(&text, r#"mcp_gateway_request_duration_seconds_sum{route="/mcp"}"#).unwrap();
    assert!((sum - 40.0063).abs() < 1e-9, "{sum}");
}

#[test]
fn client_chosen_values_cannot_grow_the_registry() {
    let metrics = Metrics::new();
    for i in 0..1000 {
        metrics.record(&RequestRecord::new("/mcp", &format!("x/{i}"), 200, Duration::ZERO));
    }
    assert_eq!(metrics.requests.snapshot().len(), 1, "unknown methods fold into `other`");
    assert_eq!(method_label("x/1"), "other");
    for i in 0..1000 {
        metrics.record_backend(&BackendCall { id: &format!("b{i}"), latency: Duration::ZERO, ok: true });
    }
    let backends = metrics.backends.snapshot();
    assert_eq!(backends.len(), 257, "256 series, then one `other`");
    assert!(backends.iter().any(|(labels, _)| &*labels[0] == "other"));
    assert_exposition(&render(&metrics));
}

#[test]
fn label_values_are_escaped() {
    let metrics = Metrics::new();
    metrics.record(&RequestRecord::new("/a\"b\\c\nd", "GET", 200, Duration::ZERO));
    let text = render(&metrics);
    assert_exposition(&text);
    assert!(text.contains(r#"route="/a\"b\\c_d""#), "{text}");
}
