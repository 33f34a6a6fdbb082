//! The gateway's side as an MCP *client*: which backends exist (`spec`, `kind`), how their names are
//! exposed (`naming`), how one exchange works (`client` over `streamable` or `legacy` SSE), and what
//! protects the gateway from a backend that fails, lies or hangs: the SSRF `guard`, the circuit
//! `breaker`, response limits, timeouts, and the list `cache`. Backends authenticate the gateway with
//! their own `credentials` from Secrets Manager, never with the client's.
//!
//! Lambda functions (`lambda`) and OpenAPI-described HTTP APIs (`openapi`) are backends too: the
//! client answers for them as an MCP server offering tools would (`tool_server`), so the MCP layer
//! treats every backend alike. Who a call is made for reaches them through `caller`.

mod breaker;
mod cache;
pub mod caller;
mod client;
pub mod credentials;
mod error;
mod events;
mod fleet;
pub mod guard;
mod handshake;
mod kind;
pub mod lambda;
mod legacy;
mod naming;
mod openapi;
mod options;
mod probe;
mod spec;
mod sse;
mod streamable;
mod streamed;
#[cfg(test)]
pub(crate) mod testing;
mod tool_server;
mod wire;

pub use breaker::{BreakerSettings, BreakerSnapshot, BreakerState};
pub use cache::ListCache;
pub use client::{ClientSettings, McpHttpClient};
pub use error::BackendError;
pub use events::{refusal, Listener};
pub use guard::NetworkPolicy;
pub use kind::BackendKind;
pub use lambda::{LambdaInvoker, SdkLambdaInvoker};
pub use naming::{Collision, ExposedName, Exposure, Resolved, MAX_NAME_LEN};
pub use options::BackendOptions;
pub use probe::{probe_now, Probe, Prober, PROBE_FRESH_FOR};
pub use spec::{Backend, BackendSet, BackendSetError, Defaults, Transport};
pub use streamed::EventStream;
pub use wire::{BackendHandshake, Exchange, Reply, MODERN_VERSION};
