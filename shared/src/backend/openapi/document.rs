//! An OpenAPI 3.0 / 3.1 document → the operations it offers, each a tool.
//!
//! The document is read as plain JSON (`serde_json::Value`), not through a typed OpenAPI model: the
//! maintained typed crates cover one version each (`openapiv3` 3.0, `oas3` 3.1), and a typed model
//! rebuilds schemas from structs, which loses the vendor keywords and exact JSON Schema a tool's
//! `inputSchema` must carry. Reading JSON also keeps every bound in one place: a hostile document is
//! walked within fixed limits on operations, schema nodes and nesting (see `schema`).

use std::collections::HashSet;

use http::Method;
use serde_json::{json, Map, Value};

use super::{
    request::{parse_template, Body, Location, Operation, Param, Piece, Style},
    schema::SchemaBuilder,
    Include,
};
use crate::backend::{guard::NetworkPolicy, spec::name_char};

/// Operations exposed from one document; the rest are left out (logged).
const MAX_OPERATIONS: usize = 1000;
/// Schema nodes in one tool's `inputSchema`.
const TOOL_NODES: usize = 20_000;
/// Schema nodes across all tools of one document.
const TOTAL_NODES: usize = 400_000;
/// Description length kept per tool.
const MAX_DESCRIPTION: usize = 4096;
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];
/// Headers a parameter may not set: OpenAPI says to ignore the first three, the rest belong to the
/// transport or to the gateway's own credential.
const RESERVED_HEADERS: [&str; 14] = [
    "accept",
    "content-type",
    "authorization",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-connection",
    "cookie",
];

/// The operations of one document, with the base URL they are sent to.
#[derive(Debug)]
pub struct Catalog {
    pub base: reqwest::Url,
    operations: Vec<Operation>,
    tools: Vec<Value>,
}

impl Catalog {
    pub fn tools(&self) -> &[Value] {
        &self.tools
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.name == name)
    }

    /// Reads `document`. `spec_url` is where it came from (relative server URLs resolve against it);
    /// `base_url` overrides its servers. The error says what is wrong with the document as a whole;
    /// single bad operations are left out and logged.
    pub fn build(
        document: &Value,
        spec_url: Option<&reqwest::Url>,
        base_url: Option<&reqwest::Url>,
        include: &Include,
        network: &NetworkPolicy,
    ) -> Result<Self, String> {
        let version = document.get("openapi").and_then(Value::as_str).unwrap_or_default();
        if !(version.starts_with("3.0.") || version.starts_with("3.1.")) {
            let found = if version.is_empty() { "none".to_owned() } else { format!("{version:?}") };
            return Err(format!("is not an OpenAPI 3.0 or 3.1 document (\"openapi\": {found})"));
        }
        let base = match base_url {
            Some(url) => url.clone(),
            None => server_url(document, spec_url, network)?,
        };
        let mut builder = SchemaBuilder::new(document, version.starts_with("3.0."), TOTAL_NODES);
        let (mut operations, mut tools, mut names) = (Vec::new(), Vec::new(), HashSet::new());
        let paths = document.get("paths").and_then(Value::as_object).into_iter().flatten();
        'paths: for (path, item) in paths {
            let item = builder.resolve(item);
            for method in METHODS {
                let Some(op) = item.get(method).filter(|o| o.is_object()) else { continue };
                if !include.admits(op) {
                    continue;
                }
                if operations.len() == MAX_OPERATIONS {
                    tracing::warn!(
                        limit = MAX_OPERATIONS,
                        "OpenAPI document has more operations; the rest are left out"
                    );
                    break 'paths;
                }
                // Each operation gets its own share of the document's budget.
                builder.allow(TOOL_NODES.min(TOTAL_NODES.saturating_sub(builder.nodes())));
                match operation(&mut builder, path, method, item, op, &mut names) {
                    Ok((operation, tool)) => {
                        operations.push(operation);
                        tools.push(tool);
                    }
                    Err(Skip::TooLarge) if builder.nodes() >= TOTAL_NODES => {
                        tracing::warn!(
                            path,
                            method,
                            "OpenAPI document's schemas exceed the budget; the rest are left out"
                        );
                        break 'paths;
                    }
                    Err(Skip::TooLarge) => {
                        tracing::warn!(path, method, "OpenAPI operation left out: its schema is too large")
                    }
                    Err(Skip::Invalid(why)) => tracing::warn!(path, method, why, "OpenAPI operation left out"),
                }
            }
        }
        Ok(Self { base, operations, tools })
    }
}

enum Skip {
    Invalid(String),
    TooLarge,
}

impl From<super::schema::TooLarge> for Skip {
    fn from(_: super::schema::TooLarge) -> Self {
        Self::TooLarge
    }
}

/// The first server's URL (variables at their defaults), resolved against the document's own URL, and
/// allowed by the SSRF policy. No servers means `/` of the document's host (OpenAPI's default).
fn server_url(
    document: &Value,
    spec_url: Option<&reqwest::Url>,
    network: &NetworkPolicy,
) -> Result<reqwest::Url, String> {
    let server = document.pointer("/servers/0");
    let mut text = server.and_then(|s| s.get("url")).and_then(Value::as_str).unwrap_or("/").to_owned();
    if let Some(Value::Object(variables)) = server.and_then(|s| s.get("variables")) {
        for (name, variable) in variables {
            let default = variable.get("default").and_then(Value::as_str).unwrap_or_default();
            text = text.replace(&format!("{{{name}}}"), default);
        }
    }
    let url = match (reqwest::Url::parse(&text), spec_url) {
        (Ok(url), _) => url,
        (Err(url::ParseError::RelativeUrlWithoutBase), Some(spec)) => {
            spec.join(&text).map_err(|_| "its first server URL is invalid".to_owned())?
        }
        (Err(url::ParseError::RelativeUrlWithoutBase), None) => {
            return Err("names no absolute server URL: set baseUrl".into());
        }
        (Err(_), _) => return Err("its first server URL is invalid".into()),
    };
    network.check_url(&url).map_err(|m| format!("server URL: {m}"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("its first server URL has a query or fragment".into());
    }
    Ok(url)
}

/// One operation and its tool definition.
fn operation(
    builder: &mut SchemaBuilder<'_>,
    path: &str,
    method: &str,
    item: &Value,
    op: &Value,
    names: &mut HashSet<String>,
) -> Result<(Operation, Value), Skip> {
    let template = parse_template(path).map_err(|why| Skip::Invalid(format!("path {why}")))?;
    let mut properties = Map::new();
    let mut required = Vec::new();
    let body = request_body(builder, op)?;
    let mut params = Vec::new();
    for raw in merged_parameters(builder, item, op) {
        if let Some(param) = parameter(builder, raw, &mut properties, &mut required, body.is_some())? {
            params.push(param);
        }
    }
    // The body comes last, under the name every parameter stepped aside for.
    let body = body.map(|(body, schema)| {
        properties.insert(body.property.clone(), schema);
        if body.required {
            required.push(json!(body.property));
        }
        body
    });
    for piece in &template {
        if let Piece::Param(name) = piece {
            if !params.iter().any(|p| p.location == Location::Path && &p.wire == name) {
                return Err(Skip::Invalid(format!("path parameter {name} is not declared")));
            }
        }
    }
    let name = tool_name(op, method, path, names);
    let method_upper = method.to_ascii_uppercase();
    let summary = op.get("summary").and_then(Value::as_str).filter(|s| !s.trim().is_empty());
    let details = op.get("description").and_then(Value::as_str).filter(|s| !s.trim().is_empty());
    let mut description = match (summary, details) {
        (Some(s), Some(d)) => format!("{}\n\n{}", s.trim(), d.trim()),
        (Some(text), None) | (None, Some(text)) => text.trim().to_owned(),
        (None, None) => format!("{method_upper} {path}"),
    };
    if description.len() > MAX_DESCRIPTION {
        let cut = (0..=MAX_DESCRIPTION).rev().find(|i| description.is_char_boundary(*i)).unwrap_or(0);
        description.truncate(cut);
    }
    let read_only = matches!(method, "get" | "head" | "options");
    let mut tool = json!({
        "name": name,
        "description": description,
        "inputSchema": { "type": "object", "properties": properties, "required": required, "additionalProperties": false },
        "annotations": {
            "readOnlyHint": read_only,
            "destructiveHint": method == "delete",
            "idempotentHint": read_only || matches!(method, "put" | "delete"),
            "openWorldHint": true,
        },
    });
    if let Some(summary) = summary {
        tool["title"] = json!(summary.trim());
    }
    let method = Method::from_bytes(method_upper.as_bytes()).map_err(|_| Skip::Invalid("bad method".into()))?;
    Ok((Operation { name, method, path: template, params, body }, tool))
}

/// Path-level parameters, overridden by the operation's own with the same name and location.
fn merged_parameters<'v>(builder: &SchemaBuilder<'v>, item: &'v Value, op: &'v Value) -> Vec<&'v Value> {
    let list = |v: &'v Value| -> Vec<&'v Value> {
        v.get("parameters")
            .and_then(Value::as_array)
            .map(|l| l.iter().map(|p| builder.resolve(p)).collect())
            .unwrap_or_default()
    };
    let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
    let own = list(op);
    let mut merged: Vec<&Value> = list(item).into_iter().filter(|p| !own.iter().any(|o| key(o) == key(p))).collect();
    merged.extend(own);
    merged
}

fn parameter(
    builder: &mut SchemaBuilder<'_>,
    raw: &Value,
    properties: &mut Map<String, Value>,
    required: &mut Vec<Value>,
    has_body: bool,
) -> Result<Option<Param>, Skip> {
    let invalid = |why: &str| Skip::Invalid(why.to_owned());
    let wire = raw
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid("a parameter has no name"))?;
    let is_required = raw.get("required") == Some(&Value::Bool(true));
    let location = match raw.get("in").and_then(Value::as_str) {
        Some("path") => Location::Path,
        Some("query") => Location::Query,
        Some("header") => Location::Header,
        Some("cookie") if is_required => return Err(invalid("a required cookie parameter (not supported)")),
        Some("cookie") => return Ok(None),
        _ => return Err(invalid("a parameter has no valid \"in\"")),
    };
    if location == Location::Header {
        let reserved = RESERVED_HEADERS.contains(&wire.to_ascii_lowercase().as_str());
        if reserved || http::HeaderName::try_from(wire).is_err() {
            return if is_required { Err(invalid("a required header parameter it may not set")) } else { Ok(None) };
        }
    }
    let (schema, style) = match (raw.get("schema"), raw.get("content").and_then(Value::as_object)) {
        (Some(schema), _) => (builder.build(schema)?, None),
        (None, Some(content)) => {
            let schema = content.values().next().and_then(|m| m.get("schema")).cloned().unwrap_or(json!({}));
            (builder.build(&schema)?, Some(Style::Json))
        }
        (None, None) => (json!({}), None),
    };
    let style = match style {
        Some(style) => style,
        None => style_of(raw, location).ok_or_else(|| invalid("a parameter style that does not fit its location"))?,
    };
    let explode = raw.get("explode").and_then(Value::as_bool).unwrap_or(style == Style::Form);
    let mut schema = schema;
    if let (Some(text), Value::Object(map)) = (raw.get("description").and_then(Value::as_str), &mut schema) {
        map.entry("description").or_insert_with(|| json!(text));
    }
    let property = property_name(wire, location, properties, has_body);
    properties.insert(property.clone(), schema);
    // OpenAPI requires path parameters; treat them so even when a document forgets to say it.
    let is_required = is_required || location == Location::Path;
    if is_required {
        required.push(json!(property));
    }
    Ok(Some(Param { property, wire: wire.to_owned(), location, style, explode, required: is_required }))
}

fn style_of(raw: &Value, location: Location) -> Option<Style> {
    let style = raw.get("style").and_then(Value::as_str);
    Some(match (location, style) {
        (Location::Path, None | Some("simple")) | (Location::Header, None | Some("simple")) => Style::Simple,
        (Location::Path, Some("label")) => Style::Label,
        (Location::Path, Some("matrix")) => Style::Matrix,
        (Location::Query, None | Some("form")) => Style::Form,
        (Location::Query, Some("spaceDelimited")) => Style::SpaceDelimited,
        (Location::Query, Some("pipeDelimited")) => Style::PipeDelimited,
        (Location::Query, Some("deepObject")) => Style::DeepObject,
        _ => return None,
    })
}

/// The JSON request body (the `body` argument) and its schema; a body in another media type only when
/// optional (it is then left out).
fn request_body(builder: &mut SchemaBuilder<'_>, op: &Value) -> Result<Option<(Body, Value)>, Skip> {
    let Some(raw) = op.get("requestBody") else { return Ok(None) };
    let raw = builder.resolve(raw);
    let is_required = raw.get("required") == Some(&Value::Bool(true));
    let content = raw.get("content").and_then(Value::as_object);
    let json_type = |t: &str| {
        let t = t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        t == "application/json" || t.ends_with("+json")
    };
    let Some((media_type, media)) = content.and_then(|c| c.iter().find(|(t, _)| json_type(t))) else {
        return if is_required { Err(Skip::Invalid("its required request body is not JSON".into())) } else { Ok(None) };
    };
    let mut schema = builder.build(media.get("schema").unwrap_or(&json!({})))?;
    if let (Some(text), Value::Object(map)) = (raw.get("description").and_then(Value::as_str), &mut schema) {
        map.entry("description").or_insert_with(|| json!(text));
    }
    Ok(Some((Body { property: "body".into(), media_type: media_type.clone(), required: is_required }, schema)))
}

/// A property name valid for every tool-calling client (`[A-Za-z0-9_.-]`, at most 64), unique within
/// the tool: `body` is taken by the request body; a clash gets the location, then a number, appended.
fn property_name(wire: &str, location: Location, taken: &Map<String, Value>, has_body: bool) -> String {
    let clean: String = wire.chars().map(|c| if name_char(c) { c } else { '_' }).take(48).collect();
    let clean = if clean.is_empty() { "param".to_owned() } else { clean };
    let suffix = match location {
        Location::Path => "path",
        Location::Query => "query",
        Location::Header => "header",
    };
    let candidates =
        [clean.clone(), format!("{clean}_{suffix}")].into_iter().chain((2..).map(|n| format!("{clean}_{suffix}_{n}")));
    candidates.into_iter().find(|c| !(taken.contains_key(c) || (has_body && c == "body"))).unwrap_or(clean)
}

/// `operationId` in tool-name characters, or `<method>_<path>`; the same name twice gets `_2`, `_3`…
fn tool_name(op: &Value, method: &str, path: &str, names: &mut HashSet<String>) -> String {
    let raw = match op.get("operationId").and_then(Value::as_str).filter(|s| !s.trim().is_empty()) {
        Some(id) => id.to_owned(),
        None => format!("{method}_{path}"),
    };
    let mut clean = String::new();
    for c in raw.chars().map(|c| if name_char(c) { c } else { '_' }) {
        if !(c == '_' && clean.ends_with('_')) {
            clean.push(c);
        }
    }
    let mut clean = clean.trim_matches('_').chars().take(120).collect::<String>();
    if clean.is_empty() {
        clean = method.to_owned();
    }
    let name = (1..).map(|n| if n == 1 { clean.clone() } else { format!("{clean}_{n}") }).find(|n| !names.contains(n));
    let name = name.unwrap_or(clean);
    names.insert(name.clone());
    name
}
