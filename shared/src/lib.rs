//! All behaviour of the MCP gateway. The Lambda binaries in `functions/` only wire these pieces together.
//!
//! The top-level modules form layers; each uses only those below it (checked by `infra/check-layers.py`
//! in `make test`):
//!
//! | layer | modules | holds |
//! |---|---|---|
//! | 0 protocol | `protocol`, `env`, `cache`, `schema`, `tls`, `aws` | wire types, settings, the bounded TTL cache, the TLS and AWS client set-up; no I/O of their own |
//! | 1 ports | `store` | the session and stored-configuration ports, their DynamoDB adapters (sessions also cached per instance) and memory fakes |
//! | 2 services | `telemetry`, `backend`, `auth`, `ratelimit`, `pii` | each with its ports, adapters and fakes |
//! | 3 policy | `config`, `error` | the deployment's settings; the one error type and its mapping |
//! | 4 transport | `http`, `routing` | request checks and the one response finisher; per-instance routing caches |
//! | 5 state | `app` | the state routes share, and the gateway-tool trait |
//! | 6 routes | `gate`, `mcp`, `health`, `metrics`, `code`, `admin`, `meta` | what each route (and gateway tool) does |
//! | 7 composition | `boot`, `selfhost`, `testing` | building the `App`; the plain server; in-process test kit |
//!
//! See `shared/ARCHITECTURE.md` for one request walked through these layers.

pub mod admin;
pub mod app;
pub mod auth;
pub mod aws;
pub mod backend;
pub mod boot;
pub mod cache;
pub mod code;
pub mod config;
pub mod env;
pub mod error;
pub mod gate;
pub mod health;
pub mod http;
pub mod mcp;
pub mod meta;
pub mod metrics;
pub mod pii;
pub mod protocol;
pub mod ratelimit;
pub mod routing;
pub mod schema;
pub mod selfhost;
pub mod store;
pub mod telemetry;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod tls;

pub use app::App;
pub use config::Config;
pub use error::GatewayError;
