//! The internal event: how the `mcp` function hands `gateway_execute_code` to the `code` function, and
//! how the `code` function tells it apart from an API Gateway event.
//!
//! The event carries what the `mcp` function already established — the authenticated principal, the PII
//! vault of the calling session, the rate limit the tool calls are charged to — so the `code` function
//! trusts it. Only two things stand behind that trust, and both hold in AWS: IAM lets only the `mcp`
//! role invoke the function directly, and API Gateway only ever delivers its own event shape, where
//! anything a client writes (body, headers, path) is nested, never a top-level key. So:
//! - an event is internal only if its top level has [`MARKER`]; it is then parsed strictly (no other
//!   key, every field bounded) and a malformed one is refused, never handed to the HTTP handler;
//! - an event without the marker goes to the HTTP handler, which authenticates as usual and never reads
//!   an internal event from a body.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::{
    execute::{Caller, ExecuteRequest},
    ExecutionResult,
};
use crate::{
    auth::{Principal, PrincipalKind, Scopes},
    protocol::VaultScope,
    ratelimit::Limit,
};

/// The top-level key that makes an event internal; its value names the operation and its version.
pub const MARKER: &str = "mcpGatewayInternal";
/// The one operation: run code for a caller.
pub const EXECUTE: &str = "code.execute/1";

/// Bounds on the identity fields (far above any real value; a key id, a JWT `sub`, a scope).
const MAX_ID_BYTES: usize = 512;
const MAX_SCOPES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireKind {
    ApiKey,
    Jwt,
    Anonymous,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WirePrincipal {
    id: String,
    kind: WireKind,
    scopes: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireLimit {
    key: String,
    max: u64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireRequest {
    code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timeout: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<Value>,
}

/// `{"mcpGatewayInternal": "code.execute/1", "principal", "piiScope", "budget", "request"}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InternalEvent {
    mcp_gateway_internal: String,
    principal: WirePrincipal,
    pii_scope: String,
    budget: Option<WireLimit>,
    request: WireRequest,
}

/// The `code` function's answer to an internal event.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum InternalAnswer {
    Result(ExecutionResult),
    /// Refused before any code ran: the status and message the `mcp` side maps to its own error.
    Refused {
        status: u16,
        message: String,
    },
}

/// What kind of event a function received.
#[derive(Debug)]
pub enum Event {
    /// Has the marker: an internal event, or why it was refused.
    Internal(Box<Result<InternalEvent, String>>),
    /// Anything else: for the HTTP handler.
    Http(Value),
}

/// Sorts `payload` by the rule in the module docs.
pub fn recognise(payload: Value) -> Event {
    match payload {
        Value::Object(object) if object.contains_key(MARKER) => Event::Internal(Box::new(parse(object))),
        other => Event::Http(other),
    }
}

fn parse(object: Map<String, Value>) -> Result<InternalEvent, String> {
    let event: InternalEvent =
        serde_json::from_value(Value::Object(object)).map_err(|e| format!("malformed internal event: {e}"))?;
    if event.mcp_gateway_internal != EXECUTE {
        return Err(format!("unknown internal operation {:?}", event.mcp_gateway_internal));
    }
    let principal = &event.principal;
    if principal.id.is_empty() || principal.id.len() > MAX_ID_BYTES {
        return Err("principal id: empty or too long".into());
    }
    if principal.scopes.len() > MAX_SCOPES || principal.scopes.iter().any(|s| s.is_empty() || s.len() > MAX_ID_BYTES) {
        return Err("principal scopes: too many, empty or too long".into());
    }
    if vault_scope(&event.pii_scope).is_none() || event.pii_scope.len() > 2 * MAX_ID_BYTES {
        return Err("piiScope: not a session or principal vault".into());
    }
    if event.budget.as_ref().is_some_and(|b| b.key.is_empty() || b.key.len() > 2 * MAX_ID_BYTES || b.max == 0) {
        return Err("budget: empty key, too long, or zero".into());
    }
    event.execute_request().map_err(|e| format!("request: {e}"))?;
    Ok(event)
}

/// `session:<id>` / `principal:<id>` (a vault key) back into its scope.
fn vault_scope(key: &str) -> Option<VaultScope> {
    if let Some(id) = key.strip_prefix("session:").filter(|id| !id.is_empty()) {
        return Some(VaultScope::Session(id.to_owned()));
    }
    key.strip_prefix("principal:").filter(|id| !id.is_empty()).map(|id| VaultScope::Principal(id.to_owned()))
}

impl InternalEvent {
    /// The event for running `request` for `caller`.
    pub fn new(caller: &Caller<'_>, request: &ExecuteRequest) -> Self {
        let principal = caller.principal;
        let kind = match principal.kind {
            PrincipalKind::ApiKey => WireKind::ApiKey,
            PrincipalKind::Jwt => WireKind::Jwt,
            PrincipalKind::Anonymous => WireKind::Anonymous,
        };
        Self {
            mcp_gateway_internal: EXECUTE.into(),
            principal: WirePrincipal {
                id: principal.id.clone(),
                kind,
                scopes: principal.scopes.iter().map(str::to_owned).collect(),
            },
            pii_scope: caller.vault.key(),
            budget: caller.budget.as_ref().map(|b| WireLimit { key: b.key.clone(), max: b.max }),
            request: WireRequest {
                code: request.code.clone(),
                timeout: request.timeout_ms,
                context: Some(request.context.clone()),
            },
        }
    }

    pub fn principal(&self) -> Principal {
        let kind = match self.principal.kind {
            WireKind::ApiKey => PrincipalKind::ApiKey,
            WireKind::Jwt => PrincipalKind::Jwt,
            WireKind::Anonymous => PrincipalKind::Anonymous,
        };
        Principal { id: self.principal.id.clone(), scopes: Scopes::from_iter(self.principal.scopes.iter()), kind }
    }

    /// The caller, for `principal` (made by [`Self::principal`]).
    pub fn caller<'a>(&self, principal: &'a Principal) -> Caller<'a> {
        Caller {
            principal,
            // Checked when the event was parsed; never the principal's vault by accident.
            vault: vault_scope(&self.pii_scope).unwrap_or_else(|| VaultScope::Session(String::new())),
            budget: self.budget.as_ref().map(|b| Limit { key: b.key.clone(), max: b.max }),
        }
    }

    /// The request, validated as `/api/code/execute` validates a body.
    pub fn execute_request(&self) -> Result<ExecuteRequest, super::CodeError> {
        let request = &self.request;
        ExecuteRequest::from_json(
            &json!({ "code": request.code, "timeout": request.timeout, "context": request.context }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({
            "mcpGatewayInternal": EXECUTE,
            "principal": {"id": "key-1", "kind": "api_key", "scopes": ["code:execute", "tool:call"]},
            "piiScope": "session:abc",
            "budget": {"key": "p:key-1", "max": 100},
            "request": {"code": "return 1", "timeout": 5000, "context": {"a": 1}}
        })
    }

    fn refused(payload: Value) -> String {
        match recognise(payload) {
            Event::Internal(parsed) => parsed.err().expect("refused"),
            Event::Http(_) => panic!("read as HTTP"),
        }
    }

    #[test]
    fn a_well_formed_event_round_trips() {
        let Event::Internal(parsed) = recognise(event()) else { panic!("not internal") };
        let parsed = parsed.unwrap();
        let principal = parsed.principal();
        assert_eq!((principal.id.as_str(), principal.kind), ("key-1", PrincipalKind::ApiKey));
        assert!(principal.scopes.allows("code:execute"));
        let caller = parsed.caller(&principal);
        assert_eq!(caller.budget, Some(Limit { key: "p:key-1".into(), max: 100 }));
        assert_eq!(caller.vault, VaultScope::Session("abc".into()));
        let request = parsed.execute_request().unwrap();
        assert_eq!((request.timeout_ms, request.context), (Some(5000), json!({"a": 1})));
        let again = InternalEvent::new(&caller, &parsed.execute_request().unwrap());
        assert_eq!(serde_json::to_value(again).unwrap(), event());
    }

    #[test]
    fn api_gateway_events_are_never_internal() {
        // Whatever a client writes lands in the body or the headers, never at the top level.
        let http = json!({
            "version": "2.0", "routeKey": "POST /api/code/execute", "rawPath": "/api/code/execute",
            "headers": {"mcpgatewayinternal": EXECUTE}, "requestContext": {"http": {"method": "POST"}},
            "body": event().to_string(),
        });
        assert!(matches!(recognise(http), Event::Http(_)));
        assert!(matches!(recognise(json!([event()])), Event::Http(_)));
    }

    #[test]
    fn malformed_internal_events_are_refused_not_served() {
        let with = |f: &dyn Fn(&mut Value)| {
            let mut e = event();
            f(&mut e);
            e
        };
        // An API Gateway event carrying the marker is neither: refused.
        assert!(refused(with(&|e| e["requestContext"] = json!({}))).contains("unknown field"));
        assert!(refused(with(&|e| e["mcpGatewayInternal"] = json!("code.execute/2"))).contains("unknown"));
        assert!(refused(with(&|e| e["principal"]["admin"] = json!(true))).contains("unknown field"));
        assert!(refused(with(&|e| e["principal"]["kind"] = json!("root"))).contains("malformed"));
        assert!(refused(with(&|e| e["principal"]["id"] = json!(""))).contains("principal id"));
        assert!(refused(with(&|e| e["principal"]["id"] = json!("x".repeat(600)))).contains("principal id"));
        assert!(refused(with(&|e| e["piiScope"] = json!("other:abc"))).contains("piiScope"));
        assert!(refused(with(&|e| e["piiScope"] = json!("session:"))).contains("piiScope"));
        assert!(refused(with(&|e| e["budget"]["max"] = json!(0))).contains("budget"));
        assert!(refused(with(&|e| e["request"]["code"] = json!(""))).contains("request"));
        assert!(refused(with(&|e| e["request"]["timeout"] = json!(5))).contains("request"));
        assert!(refused(with(&|e| e["request"]["context"] = json!([1]))).contains("request"));
        assert!(refused(json!({ MARKER: EXECUTE })).contains("malformed"));
        assert!(refused(json!({ MARKER: null })).contains("malformed"));
    }
}
