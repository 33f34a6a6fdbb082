//! CloudWatch Embedded Metric Format: one JSON line per request on stdout. Lambda ships stdout to
//! CloudWatch Logs, which extracts the metrics named in `_aws.CloudWatchMetrics` from the line, so every
//! instance of every function adds to the same fleet-wide metrics with no API call and no agent.
//!
//! Two directives: request metrics by `Function` + `Route`, and (when the request went to one backend)
//! backend metrics by `Function` + `Backend`. `Method` and `Status` ride along as plain properties:
//! searchable in Logs Insights, but not dimensions, so they cost no extra custom metrics.
//!
//! Lambda assigns lines without a `level` to INFO: with an application log level above INFO
//! (`LogLevel` WARN or ERROR in the template) Lambda drops these lines, and the metrics with them.

use std::{
    io::Write,
    sync::OnceLock,
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::{json, Map, Value};

use super::{millis, registry::method_label, RequestRecord};

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "McpGateway";

#[derive(Debug, thiserror::Error)]
pub enum TelemetryConfigError {
    #[error("METRICS_NAMESPACE: {value:?} is not a CloudWatch namespace: {reason}")]
    Namespace { value: String, reason: &'static str },
    #[error("METRICS_EMF: {0:?} is not on/off")]
    Switch(String),
}

/// Where the EMF lines go and how they are labelled; read once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmfConfig {
    /// `METRICS_NAMESPACE` (default `McpGateway`).
    pub namespace: String,
    /// The `Function` dimension: `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda and by `cargo lambda
    /// watch`), else `local`.
    pub function: String,
    /// `METRICS_EMF` (`on` by default): `off` for a self-hosted process whose stdout is not CloudWatch.
    pub enabled: bool,
}

impl EmfConfig {
    pub fn from_env() -> Result<Self, TelemetryConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, TelemetryConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let namespace = get("METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        check_namespace(&namespace)?;
        let enabled = match get("METRICS_EMF") {
            None => true,
            Some(value) => match value.to_ascii_lowercase().as_str() {
                "on" | "1" | "true" => true,
                "off" | "0" | "false" => false,
                _ => return Err(TelemetryConfigError::Switch(value)),
            },
        };
        let function = get("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "local".to_owned());
        Ok(Self { namespace, function, enabled })
    }
}

/// CloudWatch's rules for a custom namespace: 1–255 characters of `[A-Za-z0-9.-_/#: ]`, not `AWS/…`.
fn check_namespace(value: &str) -> Result<(), TelemetryConfigError> {
    let fail = |reason| Err(TelemetryConfigError::Namespace { value: value.to_owned(), reason });
    if value.len() > 255 {
        return fail("longer than 255 characters");
    }
    if value.starts_with("AWS/") {
        return fail("the AWS/ prefix is reserved for AWS services");
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c)) {
        return fail("only letters, digits and . - _ / # : and space are allowed");
    }
    Ok(())
}

static CONFIG: OnceLock<EmfConfig> = OnceLock::new();

/// Reads the telemetry settings at cold start, so a bad value stops the function with the variable's
/// name. Functions that skip it get the settings from the environment on first use, with a bad value
/// logged and replaced by the default.
pub fn init() -> Result<(), TelemetryConfigError> {
    let config = EmfConfig::from_env()?;
    // A second call (tests, two entry points) keeps the first settings: they came from the same env.
    let _ = CONFIG.set(config);
    Ok(())
}

/// Tests drive the endpoint through the global settings; this keeps their EMF lines off the output.
#[cfg(any(test, feature = "test-util"))]
pub fn disable_for_tests() {
    let _ =
        CONFIG.set(EmfConfig { namespace: DEFAULT_NAMESPACE.to_owned(), function: "test".to_owned(), enabled: false });
}

pub(crate) fn config() -> &'static EmfConfig {
    CONFIG.get_or_init(|| {
        EmfConfig::from_env().unwrap_or_else(|error| {
            tracing::warn!(%error, "telemetry settings ignored; using the defaults");
            EmfConfig {
                namespace: DEFAULT_NAMESPACE.to_owned(),
                function: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".to_owned()),
                enabled: true,
            }
        })
    })
}

/// Prints the request's EMF line on stdout (one `write_all` of one line, so it never interleaves with
/// the tracing lines). A failed write is dropped: metrics must not fail a request.
pub fn emit_request(record: &RequestRecord<'_>) {
    let config = config();
    if !config.enabled {
        return;
    }
    let _ = write_request(&mut std::io::stdout().lock(), config, record, now_millis());
}

/// Writes the request's EMF line (with its trailing newline) to `out`; `timestamp_ms` is the
/// `_aws.Timestamp`, milliseconds since the epoch.
pub fn write_request(
    out: &mut dyn Write,
    config: &EmfConfig,
    record: &RequestRecord<'_>,
    timestamp_ms: u64,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(&document(config, record, timestamp_ms)).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)?;
    out.flush()
}

fn document(config: &EmfConfig, record: &RequestRecord<'_>, timestamp_ms: u64) -> Value {
    let count = |b: bool| u64::from(b);
    let mut directives = vec![json!({
        "Namespace": config.namespace,
        "Dimensions": [["Function", "Route"]],
        "Metrics": [
            { "Name": "Requests", "Unit": "Count" },
            { "Name": "Errors", "Unit": "Count" },
            { "Name": "Latency", "Unit": "Milliseconds" },
            { "Name": "RateLimited", "Unit": "Count" },
            { "Name": "AuthDenials", "Unit": "Count" },
            { "Name": "PiiTokens", "Unit": "Count" },
            { "Name": "PiiVaultFull", "Unit": "Count" },
        ],
    })];
    let mut root = Map::new();
    root.insert("Function".into(), json!(config.function));
    root.insert("Route".into(), json!(record.route));
    root.insert("Requests".into(), json!(1));
    root.insert("Errors".into(), json!(count(record.is_error())));
    root.insert("Latency".into(), json!(millis(record.latency)));
    root.insert("RateLimited".into(), json!(count(record.rate_limited)));
    root.insert("AuthDenials".into(), json!(count(record.auth_denied)));
    root.insert("PiiTokens".into(), json!(record.pii_tokens));
    root.insert("PiiVaultFull".into(), json!(record.pii_vault_full));
    if let Some(call) = &record.backend {
        directives.push(json!({
            "Namespace": config.namespace,
            "Dimensions": [["Function", "Backend"]],
            "Metrics": [
                { "Name": "BackendCalls", "Unit": "Count" },
                { "Name": "BackendErrors", "Unit": "Count" },
                { "Name": "BackendLatency", "Unit": "Milliseconds" },
            ],
        }));
        root.insert("Backend".into(), json!(call.id));
        root.insert("BackendCalls".into(), json!(1));
        root.insert("BackendErrors".into(), json!(count(!call.ok)));
        root.insert("BackendLatency".into(), json!(millis(call.latency)));
    }
    // Properties, not dimensions: searchable per request, free of custom-metric cost.
    root.insert("Method".into(), json!(method_label(record.method)));
    root.insert("Status".into(), json!(record.status));
    root.insert("_aws".into(), json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": directives }));
    Value::Object(root)
}

fn now_millis() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
