//! All behaviour of the MCP gateway. The Lambda binaries in `functions/` only wire these pieces together.
//!
//! A request flows `http` (transport policy) → `mcp` (JSON-RPC, sessions, routing) → `backend` (MCP clients
//! to the aggregated servers); state lives behind the ports in `store`.

pub mod app;
pub mod auth;
pub mod aws;
pub mod backend;
pub mod code;
pub mod config;
pub mod error;
pub mod gate;
pub mod health;
pub mod http;
pub mod mcp;
pub mod pii;
pub mod ratelimit;
pub mod schema;
pub mod selfhost;
pub mod store;
pub mod telemetry;

pub use app::App;
pub use config::Config;
pub use error::GatewayError;
