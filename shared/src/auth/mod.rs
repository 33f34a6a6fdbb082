//! Who is calling. Every request is authenticated on its own; a session id never authenticates.

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable id (API key id, JWT subject, or `anonymous`). Never a credential.
    pub id: String,
}

impl Principal {
    pub fn anonymous() -> Self {
        Self {
            id: "anonymous".into(),
        }
    }
}
