//! What every function does before serving a request: authenticate the caller and charge its rate
//! limits. Failed authentications are limited too, by client IP, so key guessing is throttled.

use std::{future::Future, pin::pin};

use futures_util::FutureExt;
use lambda_http::{request::RequestContext, Request, RequestExt};

use crate::{
    auth::{AuthError, Principal, PrincipalKind},
    ratelimit::{Decision, Limit, PublicLimiter},
    App, GatewayError,
};

/// An authenticated caller: who it is, and the limit its requests are charged to.
pub struct Caller {
    pub principal: Principal,
    /// The limit every request (every message of a batch) of this caller is charged to, and work done
    /// on its behalf (tool calls from code, from gateway tools).
    pub budget: Limit,
}

/// An admitted request: who is calling, and their rate-limit state for the response headers.
pub struct Admitted {
    pub principal: Principal,
    pub decision: Option<Decision>,
    /// The limit this request was charged to, for further work done on its behalf (tool calls from code).
    pub budget: Limit,
}

/// Authenticates the request and charges the caller's limit once (one counter write).
pub async fn admit(app: &App, request: &Request) -> Result<Admitted, GatewayError> {
    let caller = authenticate(app, request).await?;
    let decision = charge(app, &caller.budget).await?;
    Ok(Admitted { principal: caller.principal, decision, budget: caller.budget })
}

/// Who is calling, charging nothing yet; a failed authentication is charged to the client's address.
pub async fn authenticate(app: &App, request: &Request) -> Result<Caller, GatewayError> {
    let ip = client_ip(request, app.limiter.config().trusted_proxy_hops);
    match app.auth.authenticate(request.headers()).await {
        Ok(principal) => Ok(Caller { budget: budget_at(app, &principal, &ip), principal }),
        Err(error) => Err(refuse(app, &ip, error).await),
    }
}

/// The limit a principal's requests are charged to: its id, or for anonymous callers (who all share one
/// id) their address; `None` for an anonymous caller whose address is not known.
pub fn budget(app: &App, principal: &Principal, ip: Option<&str>) -> Option<Limit> {
    match (principal.kind, ip) {
        (PrincipalKind::Anonymous, None) => None,
        (_, ip) => Some(budget_at(app, principal, ip.unwrap_or_default())),
    }
}

/// [`budget`] for a request whose client address is known.
fn budget_at(app: &App, principal: &Principal, ip: &str) -> Limit {
    let config = app.limiter.config();
    match principal.kind {
        PrincipalKind::Anonymous => Limit { key: format!("ip:{ip}"), max: config.anonymous },
        _ => Limit { key: format!("p:{}", principal.id), max: config.per_principal },
    }
}

/// A tighter per-principal limit for one tool (`RATE_LIMIT_TOOLS`), charged only where one is set, so the
/// usual call costs no second write.
pub async fn charge_tool(app: &App, principal: &Principal, tool: &str) -> Result<(), GatewayError> {
    let Some(max) = app.limiter.config().tools.get(tool) else { return Ok(()) };
    let limit = Limit { key: format!("t:{}:{tool}", principal.id), max: *max };
    charge(app, &limit).await.map(drop)
}

/// [`charge`] with `work` (a store read the request needs anyway, e.g. its session) issued at the same
/// time, so the two cost one round trip. A charge answered without I/O (limiting off, a leased slice, a
/// window known to be full) is settled first: then a refused request does no work.
pub async fn charge_alongside<F: Future>(
    app: &App,
    limit: &Limit,
    work: Option<F>,
) -> (Result<Option<Decision>, GatewayError>, Option<F::Output>) {
    let mut charged = pin!(charge(app, limit));
    if let Some(charged) = charged.as_mut().now_or_never() {
        let done = match (&charged, work) {
            (Ok(_), Some(work)) => Some(work.await),
            _ => None,
        };
        return (charged, done);
    }
    match work {
        Some(work) => {
            let (charged, done) = futures_util::future::join(charged, work).await;
            (charged, Some(done))
        }
        None => (charged.await, None),
    }
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

/// Counts a request to a public route (no credential: liveness, RFC 9728 metadata, metrics) against its
/// client address, in the instance's memory (see `ratelimit::PublicLimiter`); `Err` carries the
/// refusing decision.
pub fn admit_public(
    limiter: &PublicLimiter,
    trusted_hops: usize,
    request: &Request,
) -> Result<Option<Decision>, Decision> {
    match limiter.check(&client_ip(request, trusted_hops)) {
        Some(refused) if !refused.allowed => {
            tracing::warn!(audit = true, decision = "deny", reason = "public route rate limited", "request refused");
            Err(refused)
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

/// The caller's address as API Gateway saw it (not a header the client controls). Behind `hops` trusted
/// proxies that each append the address they saw to `X-Forwarded-For`, the caller is the entry the
/// outermost trusted proxy appended: the `hops`-th from the right. Entries further left were written by
/// the client itself and are never used; a header with fewer entries than that is not trusted at all.
pub fn client_ip(request: &Request, hops: usize) -> String {
    if hops > 0 {
        let entries: Vec<&str> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        if let Some(ip) = entries.len().checked_sub(hops).and_then(|i| entries.get(i)) {
            if let Ok(ip) = ip.parse::<std::net::IpAddr>() {
                return ip.to_string();
            }
        }
    }
    let from_context = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        _ => None,
    };
    from_context.unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use lambda_http::Body;

    use super::*;

    fn request(forwarded: &[&str]) -> Request {
        let mut builder = ::http::Request::builder().uri("/mcp");
        for value in forwarded {
            builder = builder.header("x-forwarded-for", *value);
        }
        builder.body(Body::Empty).unwrap()
    }

    #[test]
    fn the_client_written_part_of_forwarded_for_is_never_the_address() {
        let spoofed = request(&["6.6.6.6, 7.7.7.7", "203.0.113.9"]);
        assert_eq!(client_ip(&spoofed, 1), "203.0.113.9");
        assert_eq!(client_ip(&spoofed, 2), "7.7.7.7");
        // Without trusted proxies the header is ignored; with more hops than entries it is not trusted.
        assert_eq!(client_ip(&spoofed, 0), "unknown");
        assert_eq!(client_ip(&request(&["203.0.113.9"]), 2), "unknown");
        assert_eq!(client_ip(&request(&["not-an-ip"]), 1), "unknown");
    }
}
