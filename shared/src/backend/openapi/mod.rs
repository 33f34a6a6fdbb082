//! `"type": "openapi"` backends: an HTTP API described by an OpenAPI 3.0 or 3.1 document, each operation
//! a tool (`document`), its arguments turned into one HTTP request (`request`) and the response into a
//! tool result (`reply`).
//!
//! The document comes from a URL (fetched on first use through the same SSRF guard as every backend
//! connection, no redirects, within the backend's timeout and response limit, without the backend's
//! credential, then kept for the instance's lifetime), a file (read at cold start) or inline JSON.
//! Requests go to `baseUrl`, or the document's first server, also checked by the guard; they carry the
//! backend's configured headers and credential, never anything of the client's.

mod document;
mod reply;
mod request;
mod schema;
#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use http::header;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::OnceCell;

pub(super) use document::Catalog;

use super::{
    guard::NetworkPolicy,
    tool_server::{self, ToolCall},
    wire::read_body,
    Backend, BackendError, McpHttpClient, Reply,
};

/// The `openapi` fields as written.
pub(super) struct OpenApiSpec {
    pub document: Value,
    pub base_url: Option<String>,
    pub include: Option<Value>,
}

/// Which operations become tools: those with one of `tags`, or one of `operationIds`; all without it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Include {
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    operation_ids: Vec<String>,
    #[serde(skip)]
    all: bool,
}

impl Include {
    fn admits(&self, op: &Value) -> bool {
        if self.all {
            return true;
        }
        let tagged = op.get("tags").and_then(Value::as_array).is_some_and(|tags| {
            tags.iter().filter_map(Value::as_str).any(|t| self.tags.iter().any(|wanted| wanted == t))
        });
        let named =
            op.get("operationId").and_then(Value::as_str).is_some_and(|id| self.operation_ids.iter().any(|w| w == id));
        tagged || named
    }
}

/// An OpenAPI-described HTTP API as a backend.
#[derive(Debug)]
pub struct OpenApiBackend {
    /// Where the document is fetched from; `None` when it was given (file or inline).
    spec_url: Option<reqwest::Url>,
    base_url: Option<reqwest::Url>,
    include: Include,
    network: NetworkPolicy,
    catalog: OnceCell<Arc<Catalog>>,
}

impl OpenApiBackend {
    /// Validates the fields; a given document is read now, so its errors stop the cold start. Errors are
    /// `(field, message)`.
    pub(in crate::backend) fn build(
        spec: OpenApiSpec,
        network: &NetworkPolicy,
        limit: usize,
    ) -> Result<Self, (String, String)> {
        let field = |name: &str| name.to_owned();
        let base_url = match spec.base_url {
            None => None,
            Some(text) => {
                let url = network.check_url_str(&text).map_err(|m| (field("baseUrl"), m))?;
                if url.query().is_some() || url.fragment().is_some() {
                    return Err((field("baseUrl"), format!("{text:?} may not have a query or fragment")));
                }
                Some(url)
            }
        };
        let include = match spec.include {
            None => Include { all: true, ..Include::default() },
            Some(value) => {
                let include: Include = serde_json::from_value(value).map_err(|e| (field("include"), e.to_string()))?;
                if include.tags.is_empty() && include.operation_ids.is_empty() {
                    return Err((field("include"), "names no tag and no operationId".into()));
                }
                include
            }
        };
        let mut backend = Self { spec_url: None, base_url, include, network: *network, catalog: OnceCell::new() };
        let document = match spec.document {
            Value::String(text) if text.starts_with("http://") || text.starts_with("https://") => {
                backend.spec_url = Some(network.check_url_str(&text).map_err(|m| (field("spec"), m))?);
                return Ok(backend);
            }
            Value::String(text) if text.trim_start().starts_with('{') => parse(text.as_bytes(), limit),
            Value::String(path) => read_file(&path, limit),
            document @ Value::Object(_) => Ok(document),
            _ => Err("must be a URL, a file path, or the OpenAPI document itself (a JSON object)".to_owned()),
        }
        .map_err(|m| (field("spec"), m))?;
        let catalog = Catalog::build(&document, None, backend.base_url.as_ref(), &backend.include, network)
            .map_err(|m| (field("spec"), m))?;
        backend.catalog = OnceCell::new_with(Some(Arc::new(catalog)));
        Ok(backend)
    }
}

fn parse(bytes: &[u8], limit: usize) -> Result<Value, String> {
    if bytes.len() > limit {
        return Err(format!("is larger than {limit} bytes (maxResponseBytes)"));
    }
    // serde_json refuses nesting deeper than 128, so no document can exhaust the stack here.
    serde_json::from_slice(bytes).map_err(|e| format!("is not a JSON document: {e}"))
}

fn read_file(path: &str, limit: usize) -> Result<Value, String> {
    let size = std::fs::metadata(path).map_err(|e| format!("{path:?} cannot be read: {e}"))?.len();
    if size > limit as u64 {
        return Err(format!("{path:?} is larger than {limit} bytes (maxResponseBytes)"));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{path:?} cannot be read: {e}"))?;
    parse(&bytes, limit).map_err(|m| format!("{path:?} {m}"))
}

/// The operations of `api`, fetching its document on first use (a failure is not kept: the next use
/// tries again, and the breaker counts it).
pub(super) async fn catalog(
    client: &McpHttpClient,
    backend: &Backend,
    api: &OpenApiBackend,
) -> Result<Arc<Catalog>, BackendError> {
    let fetch = || async {
        let Some(url) = &api.spec_url else {
            return Err(BackendError::InvalidResponse("the OpenAPI document is missing".into()));
        };
        let limit = backend.max_response_bytes;
        // A document refused is the backend failing too: the breaker then spares it the refetches.
        let catalog = client
            .guarded(backend, async {
                let request = client.http(backend)?.get(url.clone()).header(header::ACCEPT, "application/json");
                let mut response = request.send().await.map_err(BackendError::Connect)?;
                if !response.status().is_success() {
                    return Err(BackendError::Status(response.status().as_u16()));
                }
                let body = read_body(&mut response, limit).await?;
                let document = parse(&body, limit)
                    .map_err(|m| BackendError::InvalidResponse(format!("the OpenAPI document {m}")))?;
                Catalog::build(&document, Some(url), api.base_url.as_ref(), &api.include, &api.network).map_err(|m| {
                    // The reason may name the addresses it points at: logged, not relayed (it reaches clients).
                    tracing::warn!(backend = %backend.id, problem = %m, "OpenAPI document refused");
                    BackendError::InvalidResponse("its OpenAPI document was refused (the gateway log says why)".into())
                })
            })
            .await?;
        tracing::info!(backend = %backend.id, tools = catalog.tools().len(), "OpenAPI document loaded");
        Ok(Arc::new(catalog))
    };
    api.catalog.get_or_try_init(fetch).await.cloned()
}

/// One tool call: the operation's request, sent within the backend's bounds, and its response.
pub(super) async fn call(call: &ToolCall<'_>, api: &OpenApiBackend) -> Result<Reply, BackendError> {
    let (client, backend) = (call.client, call.backend);
    let catalog = catalog(client, backend, api).await?;
    let Some(operation) = catalog.operation(call.name) else {
        return Ok(tool_server::unknown_tool(call.name));
    };
    let arguments = call.arguments.as_object().cloned().unwrap_or_default();
    // A call that cannot be built is refused here; the service never sees it.
    let prepared = match request::prepare(operation, &catalog.base, &arguments) {
        Ok(prepared) => prepared,
        Err(problem) => {
            return Ok(Reply::Result(tool_server::text_result(format!("Invalid arguments: {problem}"), true)))
        }
    };
    let limit = backend.max_response_bytes;
    let result = client
        .guarded(backend, async {
            // The backend's headers and credential go last: no parameter can replace them.
            let credential = client.headers(backend).await?;
            let mut request = client
                .http(backend)?
                .request(prepared.method, prepared.url)
                .headers(prepared.headers)
                .header(header::ACCEPT, "application/json, */*;q=0.5")
                .headers(credential);
            if let Some((content_type, body)) = prepared.body {
                request = request.header(header::CONTENT_TYPE, content_type).body(body);
            }
            let mut response = request.send().await.map_err(BackendError::Connect)?;
            let status = response.status();
            if status == http::StatusCode::UNAUTHORIZED {
                if let Some(credentials) = client.credentials() {
                    credentials.invalidate(&backend.id); // a rotated secret is read again next time
                }
            }
            let content_type =
                response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body = read_body(&mut response, limit).await?;
            reply::tool_result(status, content_type.as_deref(), &body)
        })
        .await?;
    Ok(Reply::Result(result))
}

/// Whether the API answers at all: a GET of its base URL, any status but 5xx (health probes).
pub(super) async fn ping(client: &McpHttpClient, backend: &Backend, api: &OpenApiBackend) -> Result<(), BackendError> {
    let catalog = catalog(client, backend, api).await?;
    client
        .guarded(backend, async {
            let response =
                client.http(backend)?.get(catalog.base.clone()).send().await.map_err(BackendError::Connect)?;
            match response.status().as_u16() {
                status @ 500.. => Err(BackendError::Status(status)),
                _ => Ok(()),
            }
        })
        .await
}
