//! `gateway_call_tool`, and the one call path both calling meta-tools share: the result cache, then the
//! call exactly as `tools/call` on `/mcp` makes it (`mcp::tools::call_charged`), then shaping.
//!
//! A cache hit is served only after the checks the call itself would pass: the caller may call the tool
//! now (scopes are read from this request, so a narrowed key loses its cached results at once), the tool
//! is in the caller's current catalog, the arguments are valid, and the caller's budget and the tool's
//! own limit are charged as for a real call.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{
    arguments,
    cache::{is_cacheable, open, seal, CacheKey},
    refusal,
    shape::{shape, Shaping, MAX_FIELDS},
    Meta, CALL_TOOL,
};
use crate::{
    app::{GatewayTool, ToolCall},
    auth::{Principal, PrincipalKind},
    gate, mcp,
    protocol::{now_secs, VaultScope},
    ratelimit::Limit,
    schema::ToolSchema,
    App, GatewayError,
};

/// The `_meta` keys a shaped or cached result carries.
pub const SHAPING_META: &str = "mcp-gateway/shaping";
pub const CACHE_META: &str = "mcp-gateway/cache";

/// The JSON schema of one call: `gateway_call_tool`'s arguments, and each item of `gateway_call_tools`.
pub fn call_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": { "type": "string", "minLength": 1, "description": "Exposed tool name." },
            "arguments": { "type": "object" },
            "fields": { "type": "array", "items": { "type": "string" }, "maxItems": MAX_FIELDS,
                        "description": "JSON pointers to keep from structured or JSON text results; * matches every element." },
            "maxItems": { "type": "integer", "minimum": 0, "description": "Keep at most this many elements of every array." },
            "maxChars": { "type": "integer", "minimum": 1, "description": "Cut every longer string to this many characters." }
        },
        "required": ["name"],
        "additionalProperties": false
    })
}

pub fn definition() -> Value {
    json!({
        "name": CALL_TOOL,
        "title": "Call a tool",
        "description": "Call a tool by name, like tools/call, optionally cutting the result down to what you need; \
            _meta reports what was cut.",
        "inputSchema": call_schema(),
        "annotations": { "readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": true }
    })
}

/// One call as a meta-tool's caller asked for it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallSpec {
    pub name: String,
    pub arguments: Option<Map<String, Value>>,
    pub fields: Option<Vec<String>>,
    pub max_items: Option<u64>,
    pub max_chars: Option<u64>,
}

/// Who the calls are made for: the meta-tool's caller, its vault and its budget.
pub struct Caller<'a> {
    pub principal: &'a Principal,
    pub vault: VaultScope,
    pub budget: Option<Limit>,
}

impl<'a> Caller<'a> {
    pub fn of(call: &ToolCall<'a>) -> Self {
        Self { principal: call.principal, vault: call.vault.clone(), budget: call.budget.clone() }
    }
}

pub struct CallTool {
    meta: Arc<Meta>,
    schema: ToolSchema,
}

impl CallTool {
    pub fn new(meta: Arc<Meta>) -> Self {
        Self { meta, schema: ToolSchema::new(CALL_TOOL, call_schema()) }
    }
}

#[async_trait::async_trait]
impl GatewayTool for CallTool {
    fn name(&self) -> &'static str {
        CALL_TOOL
    }

    fn allowed(&self, principal: &Principal) -> bool {
        principal.scopes.may_call_gateway_tool(CALL_TOOL)
    }

    fn definition(&self) -> Value {
        definition()
    }

    async fn call(&self, app: &App, call: ToolCall<'_>) -> Result<Value, GatewayError> {
        let caller = Caller::of(&call);
        let spec: CallSpec = match arguments(&self.schema, call.arguments) {
            Ok(spec) => spec,
            Err(refusal) => return Ok(refusal),
        };
        let name = spec.name.clone();
        match run(&self.meta, app, &caller, spec).await {
            Ok(result) => Ok(result),
            // What the model can act on is a result; a gateway fault (limits, stores) stays an error.
            Err(error) => match failure(&error) {
                Some(message) => Ok(refusal(&protect_text(app, &caller, &name, message).await)),
                None => Err(error),
            },
        }
    }
}

/// The text of a failed call the model should read, or `None` for a gateway fault.
pub fn failure(error: &GatewayError) -> Option<String> {
    match error {
        GatewayError::BackendRpc(rpc) => {
            let message = rpc.get("message").and_then(Value::as_str).unwrap_or("error");
            Some(format!("The tool failed: {message}"))
        }
        // "unknown tool: …" both for a tool that does not exist and for one the caller may not call.
        GatewayError::InvalidParams(_) | GatewayError::BackendUnavailable { .. } => Some(error.to_string()),
        _ => None,
    }
}

/// A backend's error text goes through the caller's PII policy like a result would.
pub async fn protect_text(app: &App, caller: &Caller<'_>, tool: &str, text: String) -> String {
    let backend = app.backends().resolve(tool).map(|r| r.backend.id.clone()).unwrap_or_default();
    let mut value = Value::String(text);
    let scope = caller.vault.key();
    if app.pii.tokenize(&scope, &backend, Some(tool), &mut value).await.is_err()
        && app.pii.redact(&backend, Some(tool), &mut value).is_err()
    {
        return "The tool failed.".into();
    }
    value.as_str().unwrap_or_default().to_owned()
}

/// One call: from the cache when allowed and present, else made; then shaped. `Err` for everything the
/// direct `tools/call` would answer with an error.
pub async fn run(meta: &Meta, app: &App, caller: &Caller<'_>, spec: CallSpec) -> Result<Value, GatewayError> {
    let shaping = match Shaping::new(spec.fields, spec.max_items, spec.max_chars) {
        Ok(shaping) => shaping,
        Err(problem) => return Ok(refusal(&problem)),
    };
    let name = spec.name.as_str();
    let arguments = Value::Object(spec.arguments.unwrap_or_default());
    let cacheable = cacheable(meta, app, caller, name, &arguments).await;
    let cached = match &cacheable {
        Some(entry) => hit(meta, app, caller, name, entry).await?,
        None => None,
    };
    let served = cached.is_some();
    let mut result = match cached {
        Some(result) => result,
        None => {
            let budget = caller.budget.as_ref();
            let result =
                mcp::tools::call_charged(app, caller.principal, &caller.vault, budget, name, arguments).await?;
            if let Some(entry) = &cacheable {
                keep(meta, app, caller, entry, &result).await;
            }
            result
        }
    };
    if cacheable.is_some() {
        annotate(&mut result, CACHE_META, json!(if served { "hit" } else { "miss" }));
    }
    if let Some(report) = shape(&mut result, &shaping) {
        annotate(&mut result, SHAPING_META, report);
    }
    Ok(result)
}

/// A call whose result may be cached: its key, its arguments with tokens restored, the entry's TTL.
struct Cacheable {
    key: CacheKey,
    restored: Value,
    schema: Option<Value>,
    ttl_secs: u64,
}

async fn cacheable(meta: &Meta, app: &App, caller: &Caller<'_>, name: &str, arguments: &Value) -> Option<Cacheable> {
    let config = &app.config.meta.cache;
    let principal = caller.principal;
    // Anonymous callers all share one principal id: they get no cache at all.
    if !config.may_cover(name) || principal.kind == PrincipalKind::Anonymous {
        return None;
    }
    if app.gateway_tools.is_gateway_tool(name) {
        return None;
    }
    // The caller's catalog first: listing it settles the routing index the scope check reads.
    let index = meta.catalogs.of(app, principal).await.ok()?;
    if !crate::mcp::tools::may_call(app, principal, name) {
        return None;
    }
    let entry = index.get(name)?;
    if !config.covers(name, &entry.tool) {
        return None;
    }
    // The key is over the values the backend would get: a token and the value it stands for are one call.
    let mut restored = arguments.clone();
    if let Err(error) = app.pii.request(&caller.vault.key()).detokenize(&mut restored).await {
        tracing::warn!(%error, tool = name, "result cache skipped: PII vault unavailable");
        return None;
    }
    // A cached result's tokens must outlive it in the vault that minted them.
    let ttl_secs = config.ttl.min(app.pii.config().vault_ttl).as_secs();
    let key = CacheKey::new(&principal.id, name, &restored);
    Some(Cacheable { key, restored, schema: entry.tool.get("inputSchema").cloned(), ttl_secs })
}

/// The cached result, after the checks and charges of a real call; `None` on a miss.
async fn hit(
    meta: &Meta,
    app: &App,
    caller: &Caller<'_>,
    name: &str,
    entry: &Cacheable,
) -> Result<Option<Value>, GatewayError> {
    let data = match meta.results.get(&entry.key).await {
        Ok(Some(data)) => data,
        Ok(None) => return Ok(None),
        Err(error) => {
            tracing::warn!(%error, tool = name, "result cache unavailable; calling the tool");
            return Ok(None);
        }
    };
    // An entry holding tokens of another vault (another session of this principal) is a miss.
    let Some(result) = open(&data, &caller.vault) else { return Ok(None) };
    let valid = match &entry.schema {
        Some(schema) => crate::schema::validate_arguments(schema, &entry.restored).is_ok(),
        None => true,
    };
    if !valid {
        return Ok(None);
    }
    if let Some(budget) = &caller.budget {
        gate::charge(app, budget).await?;
    }
    gate::charge_tool(app, caller.principal, name).await?;
    tracing::info!(tool = name, "result served from the cache");
    Ok(Some(result))
}

/// Stores a successful result (as the caller received it: tokenized) if it is small enough.
async fn keep(meta: &Meta, app: &App, caller: &Caller<'_>, entry: &Cacheable, result: &Value) {
    let text = result.to_string();
    if !is_cacheable(result, &text) {
        return;
    }
    let data = seal(result, &text, &caller.vault);
    if data.len() > app.config.meta.cache.max_bytes {
        return;
    }
    if let Err(error) = meta.results.put(&entry.key, &data, now_secs() + entry.ttl_secs).await {
        tracing::warn!(%error, "result cache write failed");
    }
}

/// Adds `key` to the result's `_meta` (kept from the backend, if it sent one).
fn annotate(result: &mut Value, key: &str, value: Value) {
    let Some(object) = result.as_object_mut() else { return };
    let meta = object.entry("_meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(key.to_owned(), value);
    }
}
