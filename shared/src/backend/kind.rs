//! What a backend is: an MCP server reached over HTTP, a Lambda function invoked per tool call, or an
//! HTTP API described by an OpenAPI document. The last two are served to the MCP layer as if they were
//! MCP servers (see `tool_server`), so naming, scopes, validation, PII, limits and breakers apply to
//! them unchanged.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::{
    lambda::LambdaBackend,
    openapi::{OpenApiBackend, OpenApiSpec},
    spec::Transport,
    Defaults,
};

/// The `type` field of a backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum KindName {
    #[default]
    Mcp,
    Lambda,
    OpenApi,
}

/// The fields whose meaning depends on `type`, as written.
#[derive(Default)]
pub(super) struct KindSpec {
    pub kind: KindName,
    pub url: Option<String>,
    pub transport: Option<Transport>,
    pub function_name: Option<String>,
    pub qualifier: Option<String>,
    pub tools: Option<Value>,
    pub spec: Option<Value>,
    pub base_url: Option<String>,
    pub include: Option<Value>,
    /// Whether `headers` or `auth` were given (an HTTP concept a Lambda backend has no use for).
    pub http_options: bool,
}

/// How the gateway reaches a backend.
#[derive(Debug)]
pub enum BackendKind {
    /// An MCP server: its Streamable HTTP endpoint (or SSE stream URL) and transport.
    Mcp { url: reqwest::Url, transport: Transport },
    /// A Lambda function; its tools are listed in the configuration or by the function itself.
    Lambda(Arc<LambdaBackend>),
    /// An HTTP API; each operation of its OpenAPI document is a tool.
    OpenApi(Arc<OpenApiBackend>),
}

/// Two MCP backends are the same when they have the same endpoint and transport. Lambda and OpenAPI
/// backends hold what they loaded (schemas, a fetched document): two of them are the same only when they
/// are the same instance, so a re-read configuration rebuilds them (it only happens when the stored
/// configuration changed).
impl PartialEq for BackendKind {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Mcp { url: a, transport: x }, Self::Mcp { url: b, transport: y }) => a == b && x == y,
            (Self::Lambda(a), Self::Lambda(b)) => Arc::ptr_eq(a, b),
            (Self::OpenApi(a), Self::OpenApi(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl BackendKind {
    /// Whether this is an MCP server (the only kind that streams).
    pub fn is_mcp(&self) -> bool {
        matches!(self, BackendKind::Mcp { .. })
    }

    /// The `type` as written in the configuration.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Mcp { .. } => "mcp",
            Self::Lambda(_) => "lambda",
            Self::OpenApi(_) => "openapi",
        }
    }

    /// `(field, message)` for the first problem.
    pub(super) fn build(spec: KindSpec, defaults: &Defaults, limit: usize) -> Result<Self, (String, String)> {
        let only =
            |field: &str, kind: &str| (field.to_owned(), format!("applies to \"type\": \"{kind}\" backends only"));
        let given = |field: &str, set: bool, kind: KindName| -> Result<(), (String, String)> {
            match (set, kind) {
                (false, _) => Ok(()),
                (true, KindName::Lambda) => Err(only(field, "lambda")),
                (true, KindName::OpenApi) => Err(only(field, "openapi")),
                (true, KindName::Mcp) => Err(only(field, "mcp")),
            }
        };
        let kind = spec.kind;
        // Each field belongs to one kind; naming it on another is a mistake worth stopping for.
        if kind != KindName::Lambda {
            given("functionName", spec.function_name.is_some(), KindName::Lambda)?;
            given("qualifier", spec.qualifier.is_some(), KindName::Lambda)?;
            given("tools", spec.tools.is_some(), KindName::Lambda)?;
        }
        if kind != KindName::OpenApi {
            given("spec", spec.spec.is_some(), KindName::OpenApi)?;
            given("baseUrl", spec.base_url.is_some(), KindName::OpenApi)?;
            given("include", spec.include.is_some(), KindName::OpenApi)?;
        }
        if kind != KindName::Mcp {
            given("url", spec.url.is_some(), KindName::Mcp)?;
            given("transport", spec.transport.is_some(), KindName::Mcp)?;
        }
        match kind {
            KindName::Mcp => {
                let url = spec.url.ok_or_else(|| ("url".to_owned(), "required".to_owned()))?;
                let url = defaults.network.check_url_str(&url).map_err(|m| ("url".to_owned(), m))?;
                Ok(Self::Mcp { url, transport: spec.transport.unwrap_or_default() })
            }
            KindName::Lambda => {
                if spec.http_options {
                    let message = "a Lambda backend is invoked with the function's IAM role: no headers or auth";
                    return Err(("headers".to_owned(), message.to_owned()));
                }
                let function = spec.function_name.ok_or_else(|| ("functionName".to_owned(), "required".to_owned()))?;
                LambdaBackend::build(function, spec.qualifier, spec.tools).map(|b| Self::Lambda(Arc::new(b)))
            }
            KindName::OpenApi => {
                let document = spec.spec.ok_or_else(|| ("spec".to_owned(), "required".to_owned()))?;
                let spec = OpenApiSpec { document, base_url: spec.base_url, include: spec.include };
                OpenApiBackend::build(spec, &defaults.network, limit).map(|b| Self::OpenApi(Arc::new(b)))
            }
        }
    }
}
