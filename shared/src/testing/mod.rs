//! The in-process test kit (feature `test-util`, and the crate's own unit tests): apps made of memory
//! fakes, an MCP backend on a loopback port inside the test process, and a client that drives the same
//! handlers a Lambda function runs. With it the whole request path runs under `cargo test`, with no local
//! stack and no AWS endpoint. `moto` gives the adapter tests their emulator, or skips them with a message.

mod app;
mod backend;
mod client;
mod moto;
mod streaming;

pub use app::{app, aws_app, backends_json, config, Stores, TestKey};
pub use backend::{FakeBackend, OWNER};
pub use client::{Opened, Reply, TestClient};
pub use moto::{moto, on_deep_stack};
