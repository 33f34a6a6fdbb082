//! Operating the gateway without redeploying: the admin API under `/admin/api/` and the dashboard at
//! `/admin/` (static files embedded in the binary).
//!
//! Every API request is admitted like any other route (Origin/Host check, authentication, the caller's
//! rate limit, failed authentications throttled by address) and then needs scope `gateway:admin`, which
//! only `*` or `gateway:admin` itself grant. With `AUTH_MODE=none` the API is refused: a change must be
//! attributable to someone. Changes are validated exactly like the deployment's backends document,
//! versioned (a stale write gets 409), applied by this instance at once and by every other one at its next
//! poll, and audited (who, what, when; field names, never values). Secrets never leave: a credential is
//! shown as its secret's name, header values as `[redacted]`, a new API key once in the create response.
//!
//! | route | does |
//! |---|---|
//! | `GET, POST /admin/api/backends` | list; create (body: one entry of the backends document) |
//! | `GET, PUT, DELETE /admin/api/backends/{id}` | one backend; replace it (body carries the `version` it replaces); delete |
//! | `POST /admin/api/backends/{id}/test` | `initialize` + `tools/list` now |
//! | `GET /admin/api/tools`, `PUT /admin/api/tools/{name}` | every tool with its backend; `{"enabled": false}` |
//! | `GET, POST /admin/api/keys`, `DELETE /admin/api/keys/{id}` | list; create (the key shown once); revoke |
//! | `GET /admin/api/status`, `GET /admin/api/audit` | this instance's view; recent audit events |

mod audit;
mod backends;
mod error;
mod keys;
mod status;
mod tools;
mod ui;

use std::time::Instant;

use ::http::{Method, Response, StatusCode};
use lambda_http::{Body, Request, RequestExt};
use serde_json::{Map, Value};

pub use error::AdminError;

use crate::{
    auth::{AuthError, AuthMode, Principal, GATEWAY_ADMIN},
    config::stored::Overrides,
    gate,
    http::{self, Served},
    ratelimit::Decision,
    App, GatewayError,
};

/// How often a change is applied again after another writer came first.
const ATTEMPTS: usize = 5;

/// One admitted admin request.
pub(crate) struct Admin<'a> {
    pub app: &'a App,
    pub principal: Principal,
    request: &'a Request,
}

impl Admin<'_> {
    /// The body as a JSON object.
    pub fn body(&self) -> Result<Map<String, Value>, AdminError> {
        http::check_content_type(self.request.headers())?;
        let bytes = http::body(self.request, self.app.config.max_body_bytes)?;
        match serde_json::from_slice::<Value>(bytes).map_err(|_| GatewayError::Parse)? {
            Value::Object(map) => Ok(map),
            _ => Err(AdminError::invalid("body", "must be a JSON object")),
        }
    }

    pub fn query(&self, name: &str) -> Option<String> {
        self.request.query_string_parameters().first(name).map(str::to_owned)
    }

    /// Loads the stored configuration, lets `edit` change it (or refuse), and saves it if nobody else
    /// changed it meanwhile; otherwise starts again from the newer document (so a per-backend version
    /// check inside `edit` is always made against what is really stored). `edit` gets the version the
    /// document will have. This instance applies the result at once.
    pub async fn change<T>(
        &self,
        mut edit: impl FnMut(&mut Overrides, u64) -> Result<T, AdminError>,
    ) -> Result<T, AdminError> {
        let store = self.app.stored.store();
        for _ in 0..ATTEMPTS {
            let stored = store.load().await?;
            let mut overrides = Overrides::parse(&stored.text)
                .map_err(|e| AdminError::Unavailable(format!("the stored configuration is corrupt: {e}")))?;
            let outcome = edit(&mut overrides, stored.version + 1)?;
            let text = serde_json::to_string(&overrides).map_err(|e| GatewayError::Internal(e.to_string()))?;
            if store.save(stored.version, &text).await?.is_some() {
                self.app.sync_now().await;
                return Ok(outcome);
            }
        }
        Err(AdminError::conflict("the stored configuration kept changing; try again", None))
    }
}

/// What the route name is for telemetry (never the raw path: ids and names stay out of metrics).
fn route_name(path: &str) -> &'static str {
    match path.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>().as_slice() {
        ["api", "backends"] => "/admin/api/backends",
        ["api", "backends", _] => "/admin/api/backends/{id}",
        ["api", "backends", _, "test"] => "/admin/api/backends/{id}/test",
        ["api", "tools"] => "/admin/api/tools",
        ["api", "tools", _] => "/admin/api/tools/{name}",
        ["api", "keys"] => "/admin/api/keys",
        ["api", "keys", _] => "/admin/api/keys/{id}",
        ["api", "status"] => "/admin/api/status",
        ["api", "audit"] => "/admin/api/audit",
        ["api", ..] => "/admin/api",
        _ => "/admin",
    }
}

/// The path below `/admin` (API Gateway passes the full path; `cargo lambda watch` may strip it).
fn relative(path: &str) -> &str {
    path.strip_prefix("/admin").unwrap_or(path)
}

/// Serves one request to `/admin` or below. Never fails: every error becomes its JSON response.
pub async fn handle(app: &App, request: Request) -> Response<Body> {
    let started = Instant::now();
    let path = relative(request.uri().path()).to_owned();
    let mut seen = Seen::default();
    let outcome = if path.starts_with("/api/") || path == "/api" {
        app.sync().await;
        api(app, &request, &path, &mut seen).await
    } else {
        ui::serve(&request, &path)
    };
    let (response, error) = match outcome {
        Ok(response) => (response, None),
        Err(error) => (error.response(), Some(error)),
    };
    let mut served = Served::new(route_name(&path), request.method().as_str(), started);
    served.principal = seen.principal.as_deref();
    served.decision = seen.decision.as_ref();
    served.auth_error = match error.as_ref().and_then(AdminError::gateway) {
        Some(GatewayError::Auth(auth)) => Some((auth, &app.config.auth)),
        _ => None,
    };
    http::finish(request.headers(), &served, response)
}

#[derive(Default)]
struct Seen {
    decision: Option<Decision>,
    principal: Option<String>,
}

async fn api(app: &App, request: &Request, path: &str, seen: &mut Seen) -> Result<Response<Body>, AdminError> {
    // A browser page of another origin must not drive the admin API (no CORS is ever granted here).
    http::check_origin(&app.config, request.headers())?;
    if app.config.auth.mode == AuthMode::None {
        // Anonymous callers hold `*` in this mode; a change must be attributable to someone.
        let reason = "the admin API needs AUTH_MODE=api-key or oauth: with AUTH_MODE=none nobody could be held to account for a change";
        return Err(GatewayError::Auth(AuthError::Refused(reason)).into());
    }
    let admitted = gate::admit(app, request).await.inspect_err(|error| {
        if let GatewayError::RateLimited(refused) = error {
            seen.decision = Some(refused.clone());
        }
    })?;
    seen.decision = admitted.decision;
    seen.principal = Some(admitted.principal.id.clone());
    if let Err(error) = admitted.principal.require(GATEWAY_ADMIN) {
        tracing::warn!(audit = true, decision = "deny", principal = %admitted.principal.id, reason = "no gateway:admin",
            "admin request refused");
        return Err(GatewayError::from(error).into());
    }
    let admin = Admin { app, principal: admitted.principal, request };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).skip(1).collect();
    let method = request.method().clone();
    match (segments.as_slice(), method) {
        (["backends"], Method::GET) => backends::list(&admin).await,
        (["backends"], Method::POST) => backends::create(&admin).await,
        (["backends"], _) => Err(AdminError::MethodNotAllowed("GET, POST")),
        (["backends", id], Method::GET) => backends::get(&admin, id).await,
        (["backends", id], Method::PUT) => backends::update(&admin, id).await,
        (["backends", id], Method::DELETE) => backends::delete(&admin, id).await,
        (["backends", _], _) => Err(AdminError::MethodNotAllowed("GET, PUT, DELETE")),
        (["backends", id, "test"], Method::POST) => backends::test(&admin, id).await,
        (["backends", _, "test"], _) => Err(AdminError::MethodNotAllowed("POST")),
        (["tools"], Method::GET) => tools::list(&admin).await,
        (["tools"], _) => Err(AdminError::MethodNotAllowed("GET")),
        (["tools", name], Method::PUT) => tools::switch(&admin, name).await,
        (["tools", _], _) => Err(AdminError::MethodNotAllowed("PUT")),
        (["keys"], Method::GET) => keys::list(&admin).await,
        (["keys"], Method::POST) => keys::create(&admin).await,
        (["keys"], _) => Err(AdminError::MethodNotAllowed("GET, POST")),
        (["keys", id], Method::DELETE) => keys::revoke(&admin, id).await,
        (["keys", _], _) => Err(AdminError::MethodNotAllowed("DELETE")),
        (["status"], Method::GET) => status::status(&admin).await,
        (["audit"], Method::GET) => status::audit(&admin).await,
        (["status" | "audit"], _) => Err(AdminError::MethodNotAllowed("GET")),
        _ => Err(AdminError::NotFound("no such admin route".into())),
    }
}

/// A JSON response.
pub(crate) fn reply(status: StatusCode, body: &Value) -> Result<Response<Body>, AdminError> {
    Ok(http::json(status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_names_never_carry_ids() {
        assert_eq!(route_name("/api/backends/secret-id"), "/admin/api/backends/{id}");
        assert_eq!(route_name("/api/backends/x/test"), "/admin/api/backends/{id}/test");
        assert_eq!(route_name("/"), "/admin");
        assert_eq!(relative("/admin/api/keys"), "/api/keys");
        assert_eq!(relative("/api/keys"), "/api/keys");
    }
}
