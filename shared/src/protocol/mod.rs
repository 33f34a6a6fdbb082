//! The protocol layer: what the gateway says on the wire and keeps between requests, with no I/O and no
//! dependency on any other module of the crate. Everything above builds on these types.
//!
//! - `jsonrpc`: JSON-RPC 2.0 framing over `serde_json::Value` (unknown fields pass through untouched).
//! - `version`: the protocol versions of both eras and their negotiation.
//! - `params`: typed views of the request parameters the gateway itself reads.
//! - `session`: a legacy-era client session and its backend sessions, as stored.
//! - `scope`: whose PII vault a request uses.
//! - `clock`: epoch seconds.

mod clock;
pub mod jsonrpc;
pub mod params;
mod scope;
mod session;
pub mod version;

pub use clock::now_secs;
pub use jsonrpc::InvalidMessage;
pub use params::InvalidParams;
pub use scope::VaultScope;
pub use session::{mint_id, BackendSession, Session};
pub use version::Era;
