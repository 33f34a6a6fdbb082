//! Time as the gateway stores it: whole seconds since the Unix epoch (DynamoDB TTL attributes, windows).

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
