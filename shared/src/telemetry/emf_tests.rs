//! The EMF line checked against the CloudWatch Embedded Metric Format specification: the JSON Schema of
//! the document structure, then the rules a schema cannot express (every metric and dimension named
//! in a directive is a top-level member; dimension values are strings; metric values are numbers).

use std::time::Duration;

use serde_json::{json, Value};

use super::{write_request, BackendCall, EmfConfig, RequestRecord};

/// The structure the specification defines, with its limits and units (see the file's `$comment`).
fn emf_schema() -> Value {
    serde_json::from_str(include_str!("testdata/emf.schema.json")).unwrap()
}

fn config() -> EmfConfig {
    EmfConfig { namespace: "McpGateway".into(), function: "mcp-gateway-mcp".into(), enabled: true }
}

/// Runs the emitter into a buffer and returns the one line it wrote, parsed.
fn emit(record: &RequestRecord<'_>) -> Value {
    let mut buffer = Vec::new();
    write_request(&mut buffer, &config(), record, 1_764_000_000_123).unwrap();
    let text = String::from_utf8(buffer).unwrap();
    assert!(text.ends_with('\n'), "one line, newline-terminated");
    assert_eq!(text.matches('\n').count(), 1, "exactly one line: {text}");
    serde_json::from_str(text.trim_end()).unwrap()
}

/// Every check of the specification; panics naming the rule broken.
fn assert_valid_emf(doc: &Value) {
    let validator = jsonschema::validator_for(&emf_schema()).unwrap();
    let errors: Vec<String> = validator.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "not EMF: {errors:?}\n{doc:#}");
    let root = doc.as_object().unwrap();
    for directive in doc["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
        for set in directive["Dimensions"].as_array().unwrap() {
            for name in set.as_array().unwrap() {
                let name = name.as_str().unwrap();
                let value = root.get(name).unwrap_or_else(|| panic!("dimension {name} is not a top-level member"));
                assert!(value.is_string(), "dimension {name} must be a string, is {value}");
            }
        }
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            let value = root.get(name).unwrap_or_else(|| panic!("metric {name} is not a top-level member"));
            assert!(value.is_number(), "metric {name} must be a number, is {value}");
        }
    }
}

fn metric_names(doc: &Value) -> Vec<String> {
    doc["_aws"]["CloudWatchMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["Metrics"].as_array().unwrap().iter().map(|m| m["Name"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn request_line_is_valid_emf() {
    let mut record = RequestRecord::new("/mcp", "tools/list", 200, Duration::from_micros(12_345));
    record.principal_id = Some("k_0123456789abcdef");
    let doc = emit(&record);
    assert_valid_emf(&doc);
    assert_eq!(doc["_aws"]["Timestamp"], 1_764_000_000_123u64);
    assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "McpGateway");
    assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["Function", "Route"]]));
    assert_eq!((doc["Function"].as_str(), doc["Route"].as_str()), (Some("mcp-gateway-mcp"), Some("/mcp")));
    assert_eq!((doc["Requests"].as_u64(), doc["Errors"].as_u64()), (Some(1), Some(0)));
    assert_eq!(doc["Latency"].as_f64(), Some(12.345));
    assert_eq!(doc["_aws"]["CloudWatchMetrics"].as_array().unwrap().len(), 1, "no backend, no backend directive");
}

#[test]
fn backend_call_adds_a_valid_backend_directive() {
    let mut record = RequestRecord::new("/mcp", "tools/call", 502, Duration::from_millis(40));
    record.backend = Some(BackendCall { id: "github", latency: Duration::from_millis(35), ok: false });
    record.rate_limited = false;
    record.pii_tokens = 3;
    record.pii_vault_full = 1;
    let doc = emit(&record);
    assert_valid_emf(&doc);
    assert_eq!(doc["_aws"]["CloudWatchMetrics"][1]["Dimensions"], json!([["Function", "Backend"]]));
    assert_eq!(doc["Backend"], "github");
    assert_eq!((doc["BackendCalls"].as_u64(), doc["BackendErrors"].as_u64()), (Some(1), Some(1)));
    assert_eq!((doc["Errors"].as_u64(), doc["PiiTokens"].as_u64()), (Some(1), Some(3)));
    assert_eq!(doc["PiiVaultFull"].as_u64(), Some(1));
    let names = metric_names(&doc);
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "a metric is defined once per line: {names:?}");
}

#[test]
fn refusals_count_as_their_metrics() {
    let mut limited = RequestRecord::new("/mcp", "POST", 429, Duration::from_millis(2));
    limited.rate_limited = true;
    let doc = emit(&limited);
    assert_valid_emf(&doc);
    assert_eq!((doc["RateLimited"].as_u64(), doc["Errors"].as_u64()), (Some(1), Some(0)));
    let mut denied = RequestRecord::new("/mcp", "POST", 401, Duration::from_millis(1));
    denied.auth_denied = true;
    let doc = emit(&denied);
    assert_valid_emf(&doc);
    assert_eq!(doc["AuthDenials"].as_u64(), Some(1));
}

#[test]
fn line_never_carries_the_principal_or_a_raw_method() {
    let mut record = RequestRecord::new("/mcp", "made/up\"method", 200, Duration::from_millis(1));
    record.principal_id = Some("alice@example.com");
    let mut buffer = Vec::new();
    write_request(&mut buffer, &config(), &record, 1).unwrap();
    let text = String::from_utf8(buffer).unwrap();
    assert!(!text.contains("alice"), "principal leaked into the EMF line: {text}");
    assert!(!text.contains("made/up"), "client-chosen method copied into the line: {text}");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["Method"], "other");
}

#[test]
fn schema_rejects_what_emf_rejects() {
    // The validator is only worth something if it fails on broken documents.
    let mut doc = emit(&RequestRecord::new("/mcp", "POST", 200, Duration::ZERO));
    doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Millis");
    assert!(!jsonschema::validator_for(&emf_schema()).unwrap().is_valid(&doc));
    let mut doc = emit(&RequestRecord::new("/mcp", "POST", 200, Duration::ZERO));
    doc["_aws"].as_object_mut().unwrap().remove("Timestamp");
    assert!(!jsonschema::validator_for(&emf_schema()).unwrap().is_valid(&doc));
}

#[test]
#[should_panic(expected = "is not a top-level member")]
fn missing_target_member_is_caught() {
    let mut doc = emit(&RequestRecord::new("/mcp", "POST", 200, Duration::ZERO));
    doc.as_object_mut().unwrap().remove("Latency");
    assert_valid_emf(&doc);
}

#[test]
fn namespace_and_switch_are_validated() {
    let lookup = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    };
    let defaults = EmfConfig::from_lookup(lookup(&[])).unwrap();
    assert_eq!(
        (defaults.namespace.as_str(), defaults.function.as_str(), defaults.enabled),
        ("McpGateway", "local", true)
    );
    let set = EmfConfig::from_lookup(lookup(&[
        ("METRICS_NAMESPACE", "Team/Gateway"),
        ("METRICS_EMF", "off"),
        ("AWS_LAMBDA_FUNCTION_NAME", "gw-mcp"),
    ]))
    .unwrap();
    assert_eq!((set.namespace.as_str(), set.function.as_str(), set.enabled), ("Team/Gateway", "gw-mcp", false));
    assert!(EmfConfig::from_lookup(lookup(&[("METRICS_NAMESPACE", "AWS/Lambda")])).is_err());
    assert!(EmfConfig::from_lookup(lookup(&[("METRICS_NAMESPACE", "bad{ns}")])).is_err());
    assert!(EmfConfig::from_lookup(lookup(&[("METRICS_EMF", "maybe")])).is_err());
}
