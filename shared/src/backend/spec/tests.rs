use super::*;

#[test]
fn prefix_defaults_to_id_and_disabled_backends_are_dropped() {
    let set = BackendSet::from_json(
        r#"{"backends":[{"id":"a","url":"http://h:1/mcp"},{"id":"b","url":"http://x/mcp","enabled":false}]}"#,
    )
    .unwrap();
    assert_eq!(set.len(), 1);
    assert_eq!(set.get("a").unwrap().prefix, "a");
    assert_eq!(set.separator, "_");
}

#[test]
fn duplicate_prefixes_are_rejected() {
    let err = BackendSet::from_json(
        r#"{"backends":[{"id":"a","url":"http://h/mcp","prefix":"p"},{"id":"b","url":"http://h/mcp","prefix":"p"}]}"#,
    )
    .unwrap_err();
    assert_eq!(err.field, "backends[1].prefix");
}

#[test]
fn header_values_are_not_echoed_in_errors_or_debug() {
    let err = BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp","headers":{"x-key":"sec\nret"}}]}"#)
        .unwrap_err();
    assert!(!err.to_string().contains("sec"), "{err}");
    let set = BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp","headers":{"x-key":"hunter2"}}]}"#)
        .unwrap();
    assert!(!format!("{set:?}").contains("hunter2"));
}

#[test]
fn unknown_fields_and_bad_timeouts_name_the_field() {
    let err = BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp","timeoutMs":5}]}"#).unwrap_err();
    assert_eq!(err.field, "backends[0].timeoutMs");
    let err = BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp","tiemout":5}]}"#).unwrap_err();
    assert!(err.message.contains("tiemout"), "{err}");
}

#[test]
fn ssrf_targets_are_refused_with_the_field_named() {
    for (url, why) in [
        ("http://169.254.169.254/latest/meta-data/", "never allowed"),
        ("http://[fd00:ec2::254]/", "never allowed"),
        ("http://10.0.0.5/mcp", "GATEWAY_ALLOW_PRIVATE_BACKENDS"),
        ("http://127.0.0.1:3002/mcp", "GATEWAY_ALLOW_LOOPBACK_BACKENDS"),
        ("http://localhost:3002/mcp", "GATEWAY_ALLOW_LOOPBACK_BACKENDS"),
    ] {
        let json = format!(r#"{{"backends":[{{"id":"a","url":"http://h/mcp"}},{{"id":"b","url":"{url}"}}]}}"#);
        let err = BackendSet::from_json(&json).unwrap_err();
        assert_eq!(err.field, "backends[1].url", "{url}");
        assert!(err.message.contains(why), "{url}: {err}");
    }
    let open = Defaults { network: NetworkPolicy { allow_private: true, allow_loopback: true }, ..Defaults::default() };
    assert!(BackendSet::parse(r#"{"backends":[{"id":"a","url":"http://127.0.0.1:3002/mcp"}]}"#, &open).is_ok());
    let err = BackendSet::parse(r#"{"backends":[{"id":"a","url":"http://169.254.169.254/"}]}"#, &open).unwrap_err();
    assert_eq!(err.field, "backends[0].url");
}

#[test]
fn transport_limits_auth_and_breaker_are_parsed_per_backend() {
    let set = BackendSet::from_json(
        r#"{"backends":[{"id":"a","url":"http://h/sse","transport":"sse","connectTimeoutMs":250,"timeoutMs":200,
            "maxResponseBytes":2048,"auth":{"type":"bearer","secret":"mcp-gateway/backends/a"},"circuitBreaker":{"openMs":1000}}]}"#,
    )
    .unwrap();
    let a = set.get("a").unwrap();
    assert!(matches!(a.kind, BackendKind::Mcp { transport: Transport::Sse, .. }), "{:?}", a.kind);
    assert_eq!((a.connect_timeout, a.max_response_bytes), (Duration::from_millis(200), 2048));
    assert_eq!(a.breaker.open_for, Duration::from_secs(1));
    assert_eq!(a.breaker.failure_threshold, 5);
    assert_eq!(a.credential.as_ref().map(Credential::secret_id), Some("mcp-gateway/backends/a"));
    let fields = [
        (r#""transport":"websocket""#, "backends document"),
        (r#""connectTimeoutMs":5"#, "backends[0].connectTimeoutMs"),
        (r#""maxResponseBytes":1"#, "backends[0].maxResponseBytes"),
        (r#""auth":{"type":"bearer","secret":""}"#, "backends[0].auth.secret"),
        (r#""circuitBreaker":{"failureThreshold":0}"#, "backends[0].circuitBreaker.failureThreshold"),
        (
            r#""auth":{"type":"bearer","secret":"mcp-gateway/backends/s"},"headers":{"Authorization":"x"}"#,
            "backends[0].headers",
        ),
        // Only secrets under the backend-secret prefix, never the gateway's own.
        (r#""auth":{"type":"bearer","secret":"mcp-gateway/api-keys"}"#, "backends[0].auth.secret"),
        (r#""auth":{"type":"header","header":"x-key","secret":"mcp-gateway/pii-key"}"#, "backends[0].auth.secret"),
        (r#""auth":{"type":"bearer","secret":"prod/database"}"#, "backends[0].auth.secret"),
    ];
    for (extra, field) in fields {
        let json = format!(r#"{{"backends":[{{"id":"a","url":"http://h/mcp",{extra}}}]}}"#);
        assert_eq!(BackendSet::from_json(&json).unwrap_err().field, field, "{extra}");
    }
}
