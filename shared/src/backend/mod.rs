//! The gateway's side as an MCP *client*: which backends exist (`spec`), how their names are exposed
//! (`naming`), how one exchange works (`client` over `streamable` or `legacy` SSE), and what protects
//! the gateway from a backend that fails, lies or hangs: the SSRF `guard`, the circuit `breaker`,
//! response limits, timeouts, and the list `cache`. Backends authenticate the gateway with their own
//! `credentials` from Secrets Manager, never with the client's.

mod breaker;
mod cache;
mod client;
pub mod credentials;
mod error;
mod fleet;
pub mod guard;
mod legacy;
mod naming;
mod options;
mod spec;
mod sse;
mod streamable;
#[cfg(test)]
pub(crate) mod testing;
mod wire;

pub use breaker::{BreakerSettings, BreakerSnapshot, BreakerState};
pub use cache::ListCache;
pub use client::{ClientSettings, McpHttpClient};
pub use error::BackendError;
pub use guard::NetworkPolicy;
pub use naming::{Collision, ExposedName, Exposure, Resolved, MAX_NAME_LEN};
pub use options::BackendOptions;
pub use spec::{Backend, BackendSet, BackendSetError, Defaults, Transport};
pub use wire::{BackendHandshake, Exchange, Reply, MODERN_VERSION};
