//! The request path end to end, in process: the `/mcp` and `/api/code` handlers exactly as a Lambda
//! function runs them, over memory stores, with a real MCP backend on a loopback port of this process.
//! No local stack, no AWS endpoint. Two apps over the same stores stand for two instances.

// A backend call runs inside a task-local scope (the caller's id for Lambda backends): the futures of
// these tests nest deeper than the default limit allows.
#![recursion_limit = "256"]

mod access;
mod admin;
mod auth;
mod aws_calls;
mod backends;
mod limits;
mod meta;
mod pii;
mod pii_paths;
mod protocol;
mod public;
mod sessions;
mod standalone;
mod streaming;
mod tools;

use std::sync::Arc;

use serde_json::Value;
use shared::{
    testing::{self, backends_json, FakeBackend, Stores, TestKey},
    App,
};

/// The keys of the test deployment.
pub struct Keys {
    /// `*`.
    pub all: TestKey,
    /// `tool:fake_add` only.
    pub adder: TestKey,
    /// `tool:call` and `pii:raw`.
    pub raw: TestKey,
    /// `code:execute` and `tool:fake_*`.
    pub coder: TestKey,
    /// `gateway:call` (the meta-tools) and `tool:fake_echo` only.
    pub narrow: TestKey,
    /// `gateway:call` and `tool:fake_*`.
    pub browser: TestKey,
}

pub fn keys() -> Keys {
    Keys {
        all: TestKey::new("k_all", &["*"]),
        adder: TestKey::new("k_adder", &["tool:fake_add"]),
        raw: TestKey::new("k_raw", &["tool:call", "pii:raw"]),
        coder: TestKey::new("k_coder", &["code:execute", "tool:fake_*"]),
        narrow: TestKey::new("k_narrow", &["gateway:call", "tool:fake_echo"]),
        browser: TestKey::new("k_browser", &["gateway:call", "tool:fake_*"]),
    }
}

/// One deployment: its stores (shared by every app built on it) and its backend.
pub struct Deployment {
    pub stores: Stores,
    pub backend: FakeBackend,
    pub keys: Keys,
    vars: Vec<(String, String)>,
}

impl Deployment {
    /// A deployment in api-key mode in front of one fake backend (`fake`), with `extra` settings.
    pub async fn new(extra: &[(&str, &str)]) -> Self {
        Self::with_backend(FakeBackend::start().await, extra)
    }

    pub fn with_backend(backend: FakeBackend, extra: &[(&str, &str)]) -> Self {
        let keys = keys();
        let stores = Stores::with_keys(&[
            keys.all.clone(),
            keys.adder.clone(),
            keys.raw.clone(),
            keys.coder.clone(),
            keys.narrow.clone(),
            keys.browser.clone(),
        ]);
        let mut vars = vec![
            ("GATEWAY_BACKENDS_JSON".to_owned(), backends_json(&[("fake", &backend.url())])),
            ("AUTH_MODE".to_owned(), "api-key".to_owned()),
        ];
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Self { stores, backend, keys, vars }
    }

    /// A new instance of the deployment (an app over the same stores).
    pub fn instance(&self) -> Arc<App> {
        let vars: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Arc::new(testing::app(&vars, &self.stores))
    }
}

/// The names in a `tools/list` result.
pub fn tool_names(result: &Value) -> Vec<String> {
    result["tools"].as_array().into_iter().flatten().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect()
}
