//! Protocol versions of the legacy (initialize + session) era and their negotiation.

/// The two eras of the protocol, served on one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    /// 2025-03-26 … 2025-11-25: `initialize` and `Mcp-Session-Id`.
    Legacy,
    /// 2026-07-28: stateless, every request carries its version and capabilities in `_meta`.
    Modern,
}

/// Versions served statelessly, oldest first.
pub const MODERN: [&str; 1] = ["2026-07-28"];
/// Every version the gateway speaks, for `supportedVersions` and -32022 errors.
pub const ALL: [&str; 4] = ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];

/// Versions served through `initialize`, oldest first.
pub const SUPPORTED: [&str; 3] = ["2025-03-26", "2025-06-18", "2025-11-25"];
/// What the gateway answers when a client asks for a version it does not serve.
pub const LATEST: &str = "2025-11-25";

/// The version to answer `initialize` with: the requested one if served, else the latest (the client
/// then decides whether it can continue, as the lifecycle spec says).
pub fn negotiate(requested: &str) -> &'static str {
    SUPPORTED.iter().copied().find(|v| *v == requested).unwrap_or(LATEST)
}

pub fn is_supported(version: &str) -> bool {
    SUPPORTED.contains(&version)
}

/// JSON-RPC batches exist only in 2025-03-26; later versions removed them.
pub fn allows_batches(version: &str) -> bool {
    version == "2025-03-26"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_keeps_known_versions_and_counters_unknown_ones() {
        assert_eq!(negotiate("2025-03-26"), "2025-03-26");
        assert_eq!(negotiate("2024-11-05"), LATEST);
        assert_eq!(negotiate("garbage"), LATEST);
        assert!(allows_batches("2025-03-26") && !allows_batches("2025-06-18"));
    }
}
