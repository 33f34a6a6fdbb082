//! This process's counters. Updates are relaxed atomic increments; a series (one combination of label
//! values) is looked up under a read lock and created under the write lock only the first time it is
//! seen. Label values are bounded on the way in (known methods, a cap on series per family), so a
//! client cannot make the registry grow by sending new names.

use std::{
    borrow::Cow,
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        Arc, OnceLock, RwLock,
    },
    time::SystemTime,
};

use super::{histogram::Histogram, BackendCall, RequestRecord};

/// Most series one family holds; later combinations are counted under labels `other`.
const MAX_SERIES: usize = 256;
/// Longest label value kept (routes and backend ids are far shorter).
const MAX_LABEL_CHARS: usize = 100;
/// Stands in for every label of a series past the cap, and for unknown methods.
pub const OTHER: &str = "other";

/// The process-wide registry.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// The method as counted: HTTP methods and the MCP methods the gateway serves keep their name, anything
/// else (a client can send any string) is `other`.
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 23] = [
        "GET",
        "POST",
        "DELETE",
        "OPTIONS",
        "HEAD",
        "batch",
        "initialize",
        "ping",
        "server/discover",
        "tools/list",
        "tools/call",
        "resources/list",
        "resources/read",
        "resources/templates/list",
        "resources/subscribe",
        "resources/unsubscribe",
        "prompts/list",
        "prompts/get",
        "completion/complete",
        "logging/setLevel",
        "notifications/initialized",
        "notifications/cancelled",
        "notifications/roots/list_changed",
    ];
    KNOWN.iter().find(|known| **known == method).copied().unwrap_or(OTHER)
}

/// Per-route figures besides the request count.
#[derive(Debug, Default)]
pub(crate) struct RouteStats {
    pub errors: AtomicU64,
    pub latency: Histogram,
}

/// Per-backend figures.
#[derive(Debug, Default)]
pub(crate) struct BackendStats {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub latency: Histogram,
}

/// Every counter of this process. Reach the global one through [`metrics()`].
#[derive(Debug)]
pub struct Metrics {
    pub(crate) started: SystemTime,
    /// Labels: route, method, status.
    pub(crate) requests: Family<AtomicU64>,
    /// Labels: route.
    pub(crate) routes: Family<RouteStats>,
    /// Labels: backend.
    pub(crate) backends: Family<BackendStats>,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) pii_tokens: AtomicU64,
    pub(crate) pii_vault_full: AtomicU64,
    pub(crate) auth_denials: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Counts PII tokens minted outside a request record (the tokenizer reports them as it goes).
    pub fn add_pii_tokens(&self, minted: u64) {
        self.pii_tokens.fetch_add(minted, Relaxed);
    }

    /// Counts requests that met a full PII vault outside a request record.
    pub fn add_pii_vault_full(&self, times: u64) {
        self.pii_vault_full.fetch_add(times, Relaxed);
    }

    /// An empty registry (tests and benchmarks use their own; the gateway uses [`metrics()`]).
    pub fn new() -> Self {
        Self {
            started: SystemTime::now(),
            requests: Family::default(),
            routes: Family::default(),
            backends: Family::default(),
            rate_limited: AtomicU64::new(0),
            pii_tokens: AtomicU64::new(0),
            pii_vault_full: AtomicU64::new(0),
            auth_denials: AtomicU64::new(0),
        }
    }

    /// Counts one finished request (and its backend call, when it made one).
    pub fn record(&self, record: &RequestRecord<'_>) {
        let status = status_label(record.status);
        self.requests.get(&[record.route, method_label(record.method), status.as_str()]).fetch_add(1, Relaxed);
        let route = self.routes.get(&[record.route]);
        route.latency.observe(record.latency);
        if record.is_error() {
            route.errors.fetch_add(1, Relaxed);
        }
        if record.rate_limited {
            self.rate_limited.fetch_add(1, Relaxed);
        }
        if record.auth_denied {
            self.auth_denials.fetch_add(1, Relaxed);
        }
        if record.pii_tokens > 0 {
            self.pii_tokens.fetch_add(record.pii_tokens, Relaxed);
        }
        if record.pii_vault_full > 0 {
            self.pii_vault_full.fetch_add(record.pii_vault_full, Relaxed);
        }
        if let Some(call) = &record.backend {
            self.record_backend(call);
        }
    }

    /// Counts a backend call on its own: for requests that fan out to several backends (lists), whose
    /// single EMF line cannot carry one `Backend` dimension per call.
    pub fn record_backend(&self, call: &BackendCall<'_>) {
        let stats = self.backends.get(&[call.id]);
        stats.calls.fetch_add(1, Relaxed);
        if !call.ok {
            stats.errors.fetch_add(1, Relaxed);
        }
        stats.latency.observe(call.latency);
    }
}

/// HTTP statuses are three digits; anything else (never produced) would only add series.
fn status_label(status: u16) -> String {
    if (100..=599).contains(&status) {
        status.to_string()
    } else {
        OTHER.to_owned()
    }
}

/// Series of one metric family, keyed by their label values.
#[derive(Debug)]
pub(crate) struct Family<V> {
    series: RwLock<HashMap<String, Series<V>>>,
    overflowed: AtomicBool,
}

#[derive(Debug)]
pub(crate) struct Series<V> {
    pub labels: Box<[String]>,
    pub value: Arc<V>,
}

impl<V> Default for Family<V> {
    fn default() -> Self {
        Self { series: RwLock::new(HashMap::new()), overflowed: AtomicBool::new(false) }
    }
}

impl<V: Default> Family<V> {
    /// The series for these label values, created on first use.
    pub fn get(&self, labels: &[&str]) -> Arc<V> {
        let labels: Vec<Cow<'_, str>> = labels.iter().map(|l| sanitize(l)).collect();
        let key = labels.join("\u{1f}");
        // A poisoned lock only means another thread panicked mid-insert; the map itself stays usable
        // (counters are atomics), so telemetry never takes a request down with it.
        if let Some(series) = self.series.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Arc::clone(&series.value);
        }
        let mut map = self.series.write().unwrap_or_else(|e| e.into_inner());
        let (key, labels): (String, Vec<String>) = if map.len() >= MAX_SERIES && !map.contains_key(&key) {
            if !self.overflowed.swap(true, Relaxed) {
                tracing::warn!(max = MAX_SERIES, "metric series cap reached; further label values count as `other`");
            }
            let others = vec![OTHER; labels.len()];
            (others.join("\u{1f}"), others.into_iter().map(str::to_owned).collect())
        } else {
            (key, labels.into_iter().map(Cow::into_owned).collect())
        };
        let series = map.entry(key).or_insert_with(|| Series { labels: labels.into(), value: Arc::default() });
        Arc::clone(&series.value)
    }

    /// Every series, sorted by label values (stable output for scrapes and tests).
    pub fn snapshot(&self) -> Vec<(Box<[String]>, Arc<V>)> {
        let map = self.series.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = map.values().map(|s| (s.labels.clone(), Arc::clone(&s.value))).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Label values are printable and short; escaping for the exposition format happens when rendering.
/// Borrowed in the usual case, so a lookup allocates only its key.
fn sanitize(value: &str) -> Cow<'_, str> {
    if value.len() <= MAX_LABEL_CHARS && !value.chars().any(char::is_control) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(value.chars().take(MAX_LABEL_CHARS).map(|c| if c.is_control() { '_' } else { c }).collect())
}
