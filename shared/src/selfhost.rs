//! The gateway outside Lambda: every route of every function behind one plain HTTP listener (a container,
//! a VM, or a benchmark without the Lambda emulator). The same handlers as the Lambda functions, routed by
//! the same path table as API Gateway and `cargo lambda watch`; the caller's address comes from the TCP
//! peer, as API Gateway's `sourceIp` would. The listener itself lives in `functions/server`.

use std::{net::IpAddr, sync::Arc};

use ::http::{request::Parts, Response, StatusCode};
use lambda_http::{
    aws_lambda_events::{apigw::ApiGatewayV2httpRequestContext, query_map::QueryMap},
    request::RequestContext,
    Body, Request, RequestExt,
};
use serde_json::json;

use crate::{boot::StartupError, http::ResponseBody, App};

/// Which function serves a path (the table in `template.yaml` and the workspace's watch router).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Mcp,
    Health,
    Metrics,
    Code,
    Admin,
}

pub fn function_for(path: &str) -> Option<Function> {
    Some(match path {
        "/mcp" => Function::Mcp,
        "/health" => Function::Health,
        "/metrics" => Function::Metrics,
        p if p.starts_with("/mcp/") || p.starts_with("/.well-known/") => Function::Mcp,
        p if p.starts_with("/api/code/") => Function::Code,
        "/admin" => Function::Admin,
        p if p.starts_with("/admin/") => Function::Admin,
        _ => return None,
    })
}

/// Everything the four functions build at cold start, built once.
pub struct Gateway {
    app: Arc<App>,
}

#[derive(Debug, thiserror::Error)]
pub enum SelfHostError {
    #[error(transparent)]
    Startup(#[from] StartupError),
}

impl Gateway {
    /// Reads the same environment as the Lambda functions (see the README's configuration table). One
    /// process serves every route, the admin API's key management included.
    pub async fn from_env() -> Result<Self, SelfHostError> {
        let app = App::from_env_for_admin().await?;
        Self::new(Arc::new(app))
    }

    pub fn new(app: Arc<App>) -> Result<Self, SelfHostError> {
        Ok(Self { app })
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves one request as the function that owns its path would (`/mcp` may stream its answer).
    pub async fn handle(&self, request: Request) -> Response<ResponseBody> {
        let buffered = match function_for(request.uri().path()) {
            Some(Function::Mcp) => return Box::pin(crate::mcp::handler::handle(&self.app, request)).await,
            Some(Function::Code) => crate::code::http::handle(&self.app, request).await,
            Some(Function::Health) => {
                crate::health::handle(&self.app.public, self.app.limiter.config().trusted_proxy_hops, &request)
            }
            // This process serves every route, so its counters include backend calls: their series need
            // `gateway:metrics`.
            Some(Function::Admin) => Box::pin(crate::admin::handle(&self.app, request)).await,
            Some(Function::Metrics) => crate::metrics::handle_with_auth(&self.app, &request).await,
            None => crate::http::json(StatusCode::NOT_FOUND, &json!({ "error": "no such route" })),
        };
        buffered.map(ResponseBody::from)
    }
}

/// The request a Lambda function would get from API Gateway for these parts and body: query parameters
/// parsed, the peer address as the request context's `sourceIp`.
pub fn lambda_request(parts: Parts, body: Vec<u8>, peer: IpAddr) -> Request {
    let query: QueryMap = parts.uri.query().unwrap_or_default().parse().unwrap_or_default();
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.http.method = parts.method.clone();
    context.http.path = Some(parts.uri.path().to_owned());
    context.http.source_ip = Some(peer.to_string());
    let body = if body.is_empty() { Body::Empty } else { Body::Binary(body) };
    Request::from_parts(parts, body)
        .with_query_string_parameters(query)
        .with_request_context(RequestContext::ApiGatewayV2(context))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_to_their_function() {
        assert_eq!(function_for("/mcp"), Some(Function::Mcp));
        assert_eq!(function_for("/.well-known/oauth-protected-resource/mcp"), Some(Function::Mcp));
        assert_eq!(function_for("/api/code/execute"), Some(Function::Code));
        assert_eq!(function_for("/health"), Some(Function::Health));
        assert_eq!(function_for("/metrics"), Some(Function::Metrics));
        assert_eq!(function_for("/mcpx"), None);
        assert_eq!(function_for("/api/codex"), None);
        assert_eq!(function_for("/admin/api/backends"), Some(Function::Admin));
        assert_eq!(function_for("/admin"), Some(Function::Admin));
        assert_eq!(function_for("/administrator"), None);
    }

    #[test]
    fn requests_carry_the_peer_and_the_query() {
        let (parts, ()) =
            ::http::Request::get("/api/code/tools/search?query=add&limit=2").body(()).unwrap().into_parts();
        let request = lambda_request(parts, Vec::new(), "127.0.0.1".parse().unwrap());
        assert_eq!(request.query_string_parameters().first("query"), Some("add"));
        assert_eq!(crate::gate::client_ip(&request, 0), "127.0.0.1");
    }
}
