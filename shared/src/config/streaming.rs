//! Whether and how `/mcp` streams (`GATEWAY_STREAMING`, `GATEWAY_STREAM_*`). Streaming needs a front door
//! that passes a response through as it is written: API Gateway REST API with response streaming, a
//! function URL in `RESPONSE_STREAM` mode, `cargo lambda watch`, or the plain server. Behind an HTTP API
//! (which buffers), leave it `off`: every reply is then one JSON body.

use std::time::Duration;

use crate::env::{Env, EnvError};

/// What `/mcp` may stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamingMode {
    /// Every reply is buffered JSON: notifications during a call are dropped, requests a backend sends
    /// the client are refused, `GET /mcp` is 405, nothing is advertised that needs a stream.
    Off,
    /// A POST that produces more than its result (progress, log messages, requests to the client) or
    /// runs long is answered with an event stream. No standalone stream.
    Replies,
    /// `Replies`, plus the standalone streams (legacy `GET /mcp`, 2026-07-28 `subscriptions/listen`) that
    /// deliver list changes and resource updates; `listChanged` and `subscribe` are then advertised.
    On,
}

/// The streaming settings.
#[derive(Debug, Clone)]
pub struct StreamingConfig {
    /// `GATEWAY_STREAMING`: `off` (default), `replies` or `on`.
    pub mode: StreamingMode,
    /// `GATEWAY_STREAM_AFTER_MS` (default 5000): how long a POST waits for its result before it answers
    /// with an event stream anyway (keep-alive comments then hold the connection), so a long call never
    /// meets a buffered time limit.
    pub after: Duration,
    /// `GATEWAY_STREAM_KEEPALIVE_SECS` (default 15): the idle time after which a comment is sent.
    pub keepalive: Duration,
    /// `GATEWAY_STREAM_MAX_SECS` (default 300): the longest life of a standalone stream; the client then
    /// reconnects (resuming with `Last-Event-ID`). Keep it below the function timeout.
    pub max_stream: Duration,
    /// `GATEWAY_PENDING_REQUEST_SECS` (default 300): how long a request a backend sent the client waits for
    /// the client's answer before the backend is told it will not come.
    pub pending_ttl: Duration,
    /// `GATEWAY_MAX_PENDING_REQUESTS` (default 16): requests to the client one stream may have waiting
    /// at once; more are refused at once (a backend cannot flood the client or the table).
    pub max_pending: usize,
    /// `GATEWAY_STREAM_EVENTS_TTL_SECS` (default 3600): how long standalone-stream events are kept for
    /// resumption.
    pub events_ttl: Duration,
}

impl StreamingConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let env = Env::new(lookup);
        let mode = match env.get("GATEWAY_STREAMING").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("off" | "0" | "false" | "no") => StreamingMode::Off,
            Some("replies") => StreamingMode::Replies,
            Some("on" | "1" | "true" | "yes") => StreamingMode::On,
            Some(other) => return Err(EnvError::new("GATEWAY_STREAMING", other, "expected off, replies or on")),
        };
        Ok(Self {
            mode,
            after: Duration::from_millis(env.number("GATEWAY_STREAM_AFTER_MS", 5_000, 0..=60_000)?),
            keepalive: env.secs("GATEWAY_STREAM_KEEPALIVE_SECS", 15, 1..=240)?,
            max_stream: env.secs("GATEWAY_STREAM_MAX_SECS", 300, 5..=900)?,
            pending_ttl: env.secs("GATEWAY_PENDING_REQUEST_SECS", 300, 5..=900)?,
            max_pending: env.number("GATEWAY_MAX_PENDING_REQUESTS", 16, 1..=256)? as usize,
            events_ttl: env.secs("GATEWAY_STREAM_EVENTS_TTL_SECS", 3_600, 60..=86_400)?,
        })
    }

    /// Whether a POST may be answered with an event stream.
    pub fn replies(&self) -> bool {
        self.mode != StreamingMode::Off
    }

    /// Whether standalone streams are served (and list changes and subscriptions advertised).
    pub fn standalone(&self) -> bool {
        self.mode == StreamingMode::On
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &'static [(&'static str, &'static str)]) -> Result<StreamingConfig, EnvError> {
        StreamingConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn streaming_is_off_unless_asked_for() {
        assert_eq!(config(&[]).unwrap().mode, StreamingMode::Off);
        let replies = config(&[("GATEWAY_STREAMING", "Replies")]).unwrap();
        assert!(replies.replies() && !replies.standalone());
        let on = config(&[("GATEWAY_STREAMING", "on"), ("GATEWAY_STREAM_MAX_SECS", "60")]).unwrap();
        assert!(on.replies() && on.standalone() && on.max_stream == Duration::from_secs(60));
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(config(&[("GATEWAY_STREAMING", "sometimes")]).unwrap_err().var, "GATEWAY_STREAMING");
        assert_eq!(config(&[("GATEWAY_STREAM_MAX_SECS", "3600")]).unwrap_err().var, "GATEWAY_STREAM_MAX_SECS");
    }
}
