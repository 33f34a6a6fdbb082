//! Why an exchange with a backend failed, and which failures count against its circuit breaker.

use std::time::Duration;

use super::credentials::CredentialError;

/// Messages carry no URL, header or secret: they can reach clients (in `isError` tool results).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("connection failed")]
    Connect(#[source] reqwest::Error),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("session expired")]
    SessionExpired,
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    #[error("invalid response: {0}")]
    InvalidResponse(String),
    #[error("unsupported protocol version {0:?}")]
    UnsupportedVersion(String),
    #[error("temporarily skipped after repeated failures (circuit breaker open, next attempt in {}s)", .0.as_secs_f32().ceil() as u64)]
    CircuitOpen(Duration),
    #[error("the gateway's credential for it is unavailable")]
    Credential(#[source] CredentialError),
    /// Derived, not observed on this call: its list could not be fetched just now.
    #[error("it did not answer its list request")]
    Unlisted,
    /// This gateway instance had no free slot for the exchange within the backend's timeout: the
    /// instance is busy, which says nothing about the backend.
    #[error("the gateway is busy (too many backend exchanges in flight); retry shortly")]
    Saturated,
}

impl BackendError {
    /// Whether this failure says the backend is unhealthy (and counts against its breaker). A JSON-RPC
    /// error never gets here: it is an answer. Session loss, version mismatches and our own credential
    /// problems say nothing about the backend's health.
    pub fn is_outage(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Connect(_) | Self::TooLarge(_) | Self::InvalidResponse(_) => true,
            Self::Status(status) => *status >= 500 || *status == 429,
            Self::SessionExpired
            | Self::UnsupportedVersion(_)
            | Self::CircuitOpen(_)
            | Self::Credential(_)
            | Self::Unlisted
            | Self::Saturated => false,
        }
    }

    /// The innermost cause, for logs only (it may name hosts and addresses).
    pub fn root_cause(&self) -> String {
        let mut cause: &dyn std::error::Error = self;
        while let Some(next) = cause.source() {
            cause = next;
        }
        cause.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_outages_count_against_the_breaker() {
        assert!(BackendError::Timeout(Duration::from_secs(1)).is_outage());
        assert!(BackendError::Status(500).is_outage() && BackendError::Status(429).is_outage());
        assert!(!BackendError::Status(404).is_outage() && !BackendError::SessionExpired.is_outage());
        assert!(BackendError::TooLarge(1).is_outage());
        assert!(!BackendError::CircuitOpen(Duration::from_secs(3)).is_outage());
        assert!(!BackendError::Saturated.is_outage(), "waiting for a slot is not the backend's fault");
    }

    #[test]
    fn open_breaker_message_names_the_wait() {
        let text = BackendError::CircuitOpen(Duration::from_millis(2100)).to_string();
        assert!(text.contains("circuit breaker open") && text.contains("3s"), "{text}");
    }
}
