//! The MCP protocol as the gateway serves it: JSON-RPC framing, version negotiation, sessions, and the
//! methods, each routed to the backends that own the items involved.

mod calls;
mod catalog;
mod dispatch;
pub mod handler;
mod initialize;
pub mod jsonrpc;
mod lists;
pub mod modern;
mod owners;
mod session;
mod upstream;
pub mod version;

pub use catalog::ToolCatalog;
pub use modern::ModernSessions;
pub use owners::ResourceOwners;
pub use session::{BackendSession, Session};

/// A fresh session id, for store adapter tests.
#[cfg(test)]
pub fn session_id_for_tests() -> String {
    session::mint_id().unwrap_or_default()
}
