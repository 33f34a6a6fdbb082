//! What every function does before serving a request: authenticate the caller and charge its rate
//! limits. Failed authentications are limited too, by client IP, so key guessing is throttled.

use ::http::{header, HeaderMap, HeaderValue, Response};
use lambda_http::{request::RequestContext, Body, Request, RequestExt};

use crate::{
    auth::{AuthError, Principal, PrincipalKind},
    http,
    ratelimit::{Decision, Limit},
    App, GatewayError,
};

/// An admitted request: who is calling, and their rate-limit state for the response headers.
pub struct Admitted {
    pub principal: Principal,
    pub decision: Option<Decision>,
    /// The limit this request was charged to, for further work done on its behalf (tool calls from code).
    pub budget: Limit,
}

/// Authenticates the request and charges the caller's limit (one counter write).
pub async fn admit(app: &App, request: &Request) -> Result<Admitted, GatewayError> {
    let ip = client_ip(request, app.limiter.config().trust_forwarded_for);
    let principal = match app.auth.authenticate(request.headers()).await {
        Ok(principal) => principal,
        Err(error) => return Err(refuse(app, &ip, error).await),
    };
    let limit = budget(app, &principal, Some(&ip)).expect("an address is known");
    let decision = charge(app, &limit).await?;
    Ok(Admitted { principal, decision, budget: limit })
}

/// The limit a principal's requests are charged to: its id, or for anonymous callers (who all share one
/// id) their address; `None` for an anonymous caller whose address is not known.
pub fn budget(app: &App, principal: &Principal, ip: Option<&str>) -> Option<Limit> {
    let config = app.limiter.config();
    match principal.kind {
        PrincipalKind::Anonymous => Some(Limit { key: format!("ip:{}", ip?), max: config.anonymous }),
        _ => Some(Limit { key: format!("p:{}", principal.id), max: config.per_principal }),
    }
}

/// A tighter per-principal limit for one tool (`RATE_LIMIT_TOOLS`), charged only where one is set, so the
/// usual call costs no second write.
pub async fn charge_tool(app: &App, principal: &Principal, tool: &str) -> Result<(), GatewayError> {
    let Some(max) = app.limiter.config().tools.get(tool) else { return Ok(()) };
    let limit = Limit { key: format!("t:{}:{tool}", principal.id), max: *max };
    charge(app, &limit).await.map(drop)
}

/// Charges one limit; a full window is a `RateLimited` error carrying the decision.
pub async fn charge(app: &App, limit: &Limit) -> Result<Option<Decision>, GatewayError> {
    let decision = app.limiter.check(limit).await?;
    match decision {
        Some(d) if !d.allowed => {
            tracing::warn!(
                audit = true,
                decision = "deny",
                reason = "rate limited",
                limit = d.limit,
                "request refused"
            );
            Err(GatewayError::RateLimited(d))
        }
        decision => Ok(decision),
    }
}

/// One audit line for the denial (reason only, never a credential); a client that keeps failing is
/// rate limited by address before it learns anything more.
async fn refuse(app: &App, ip: &str, error: AuthError) -> GatewayError {
    tracing::warn!(audit = true, decision = "deny", reason = error.audit_reason(), "authentication failed");
    if matches!(error, AuthError::Missing | AuthError::Invalid(_)) {
        let limit = Limit { key: format!("authfail:{ip}"), max: app.limiter.config().auth_failures };
        match charge(app, &limit).await {
            Err(limited @ GatewayError::RateLimited(_)) => return limited,
            Err(other) => tracing::warn!(error = %other, "could not count a failed authentication"),
            Ok(_) => {}
        }
    }
    error.into()
}

/// Adds the headers an admitted or refused request's response carries: rate-limit state, and the
/// `WWW-Authenticate` challenge for authentication errors.
pub fn decorate(
    app: &App,
    headers: &HeaderMap,
    error: Option<&GatewayError>,
    decision: Option<&Decision>,
    response: &mut Response<Body>,
) {
    if let Some(decision) = decision {
        decision.apply(response.headers_mut());
    }
    if let Some(GatewayError::Auth(auth)) = error {
        let host = http::header(headers, "host");
        if let Some(challenge) = auth.www_authenticate(&app.config.auth, host) {
            if let Ok(value) = HeaderValue::try_from(challenge) {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
            }
        }
    }
}

/// The caller's address as API Gateway saw it (not a header the client controls), unless a trusted
/// proxy's `X-Forwarded-For` is explicitly enabled.
pub fn client_ip(request: &Request, trust_forwarded_for: bool) -> String {
    if trust_forwarded_for {
        if let Some(first) = http::header(request.headers(), "x-forwarded-for").and_then(|v| v.split(',').next()) {
            return first.trim().to_owned();
        }
    }
    let from_context = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        _ => None,
    };
    from_context.unwrap_or_else(|| "unknown".to_owned())
}
