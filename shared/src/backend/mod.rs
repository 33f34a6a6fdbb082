//! The gateway's side as an MCP *client*: which backends exist (`spec`), how their names are exposed
//! (`naming`), and how one JSON-RPC exchange with a Streamable HTTP backend works (`client`, `sse`).

mod client;
mod naming;
mod spec;
mod sse;

pub use client::{BackendError, BackendHandshake, Exchange, McpHttpClient, Reply, MODERN_VERSION};
pub use naming::Resolved;
pub use spec::{Backend, BackendSet, BackendSetError};
