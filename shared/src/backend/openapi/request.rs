//! One operation's HTTP request, built from a tool call's arguments.
//!
//! The host, scheme and port come from the base URL only. Arguments reach the request only through
//! declared parameters, each encoded for where it goes: path values are percent-encoded as one segment
//! (`/`, `?`, `#`, `%` included), and a value that would be a `.` or `..` segment is refused, so no
//! argument can climb out of the operation's path; query values are form-encoded; header values must
//! be valid header values (no line breaks). The finished URL is checked again against the base
//! (same origin, under its path) before anything is sent.

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

/// Everything but RFC 3986's unreserved characters is encoded in a path value.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
}

/// How a value is serialized (OpenAPI `style`); `Json` for parameters described by `content`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Simple,
    Label,
    Matrix,
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
    Json,
}

#[derive(Debug, Clone)]
pub struct Param {
    /// The tool argument that carries it.
    pub property: String,
    /// Its name on the wire.
    pub wire: String,
    pub location: Location,
    pub style: Style,
    pub explode: bool,
    pub required: bool,
}

/// A piece of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    /// A path parameter, by its wire name.
    Param(String),
}

/// A JSON request body.
#[derive(Debug, Clone)]
pub struct Body {
    pub property: String,
    pub media_type: String,
    pub required: bool,
}

/// One operation, as a tool.
#[derive(Debug, Clone)]
pub struct Operation {
    pub name: String,
    pub method: Method,
    pub path: Vec<Piece>,
    pub params: Vec<Param>,
    pub body: Option<Body>,
}

/// A request ready to send.
#[derive(Debug)]
pub struct Prepared {
    pub method: Method,
    pub url: reqwest::Url,
    pub headers: HeaderMap,
    /// (content type, bytes)
    pub body: Option<(String, Vec<u8>)>,
}

/// Splits a path template into literals and parameters, refusing what could leave the path: `?`, `#`,
/// `\`, spaces and other characters outside RFC 3986 paths, bad percent-escapes, `.`/`..` segments
/// (also percent-encoded), and unbalanced braces.
pub fn parse_template(path: &str) -> Result<Vec<Piece>, String> {
    if !path.starts_with('/') {
        return Err("does not start with /".into());
    }
    let mut pieces = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(0) => {
                let end = rest.find('}').ok_or("has an unclosed {")?;
                let name = &rest[1..end];
                if name.is_empty() || name.contains('{') {
                    return Err("has an empty or nested {}".into());
                }
                pieces.push(Piece::Param(name.to_owned()));
                rest = &rest[end + 1..];
            }
            found => {
                let end = found.unwrap_or(rest.len());
                let literal = &rest[..end];
                check_literal(literal)?;
                pieces.push(Piece::Literal(literal.to_owned()));
                rest = &rest[end..];
            }
        }
    }
    // Dot segments are judged on the template's literal segments, decoded as a URL parser would.
    let literal_only: String =
        pieces.iter().map(|p| if let Piece::Literal(l) = p { l.as_str() } else { "x" }).collect();
    if literal_only.split('/').any(is_dot_segment) {
        return Err("has a . or .. segment".into());
    }
    Ok(pieces)
}

fn check_literal(literal: &str) -> Result<(), String> {
    let bytes = literal.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let allowed = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
            if !hex {
                return Err("has a bad percent-escape".into());
            }
        } else if !allowed {
            return Err(format!("has a character not allowed in a path: {:?}", b as char));
        }
    }
    if literal.contains('}') {
        return Err("has an unopened }".into());
    }
    Ok(())
}

/// `.` or `..`, also as `%2e` (which URL parsers treat as a dot).
fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

/// The request for `operation` with `args`; the error says which argument is wrong (never its value).
pub fn prepare(operation: &Operation, base: &reqwest::Url, args: &Map<String, Value>) -> Result<Prepared, String> {
    let mut path = String::new();
    for piece in &operation.path {
        match piece {
            Piece::Literal(literal) => path.push_str(literal),
            Piece::Param(wire) => {
                let param = operation
                    .params
                    .iter()
                    .find(|p| p.location == Location::Path && &p.wire == wire)
                    .ok_or_else(|| format!("path parameter {wire} is not declared"))?;
                let value = args.get(&param.property).filter(|v| !v.is_null());
                let value = value.ok_or_else(|| format!("missing required argument {}", param.property))?;
                let rendered = path_value(param, value);
                if is_dot_segment(&rendered) || rendered.is_empty() {
                    return Err(format!("argument {} may not be empty, '.' or '..'", param.property));
                }
                path.push_str(&rendered);
            }
        }
    }
    if path.split('/').any(is_dot_segment) {
        return Err("the arguments would make a '.' or '..' path segment".into());
    }
    let prefix = base.as_str().trim_end_matches('/');
    let mut url =
        reqwest::Url::parse(&format!("{prefix}{path}")).map_err(|_| "the request URL is invalid".to_owned())?;
    // Defence in depth: nothing above can change where the request goes, and this proves it.
    let base_path = base.path().trim_end_matches('/');
    if url.origin() != base.origin() || !url.path().starts_with(base_path) || url.path() != format!("{base_path}{path}")
    {
        return Err("the request URL would leave the API's base URL".into());
    }
    let mut headers = HeaderMap::new();
    let mut query: Vec<(String, String)> = Vec::new();
    for param in &operation.params {
        let Some(value) = args.get(&param.property).filter(|v| !v.is_null()) else {
            if param.required {
                return Err(format!("missing required argument {}", param.property));
            }
            continue;
        };
        match param.location {
            Location::Path => {}
            Location::Query => query.extend(query_pairs(param, value)),
            Location::Header => {
                let name = HeaderName::try_from(param.wire.as_str())
                    .map_err(|_| format!("header parameter {} has an invalid name", param.wire))?;
                let value = HeaderValue::try_from(header_value(param, value))
                    .map_err(|_| format!("argument {} is not a valid header value", param.property))?;
                headers.insert(name, value);
            }
        }
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let body = match &operation.body {
        Some(body) => match args.get(&body.property) {
            Some(value) => Some((body.media_type.clone(), serde_json::to_vec(value).unwrap_or_default())),
            None if body.required => return Err(format!("missing required argument {}", body.property)),
            None => None,
        },
        None => None,
    };
    Ok(Prepared { method: operation.method.clone(), url, headers, body })
}

/// A scalar as text; nested structures as JSON.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Object members as (name, value) text pairs.
fn members(value: &Value) -> Vec<(String, String)> {
    value.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect()).unwrap_or_default()
}

/// A path value, every piece percent-encoded as a segment (RFC 6570 simple, label and matrix forms).
fn path_value(param: &Param, value: &Value) -> String {
    let enc = |s: &str| utf8_percent_encode(s, SEGMENT).to_string();
    let parts: Vec<String> = match value {
        _ if param.style == Style::Json => vec![enc(&value.to_string())],
        Value::Array(items) => items.iter().map(|v| enc(&scalar(v))).collect(),
        Value::Object(_) if param.explode => {
            members(value).iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect()
        }
        Value::Object(_) => members(value).iter().flat_map(|(k, v)| [enc(k), enc(v)]).collect(),
        other => vec![enc(&scalar(other))],
    };
    match (param.style, param.explode) {
        (Style::Label, true) => format!(".{}", parts.join(".")),
        (Style::Label, false) => format!(".{}", parts.join(",")),
        (Style::Matrix, true) if value.is_array() => {
            parts.iter().map(|p| format!(";{}={p}", enc(&param.wire))).collect()
        }
        (Style::Matrix, true) if value.is_object() => parts.iter().map(|p| format!(";{p}")).collect(),
        (Style::Matrix, _) => format!(";{}={}", enc(&param.wire), parts.join(",")),
        _ => parts.join(","),
    }
}

fn query_pairs(param: &Param, value: &Value) -> Vec<(String, String)> {
    let name = param.wire.clone();
    match (param.style, value) {
        (Style::Json, _) => vec![(name, value.to_string())],
        (Style::DeepObject, Value::Object(_)) => {
            members(value).into_iter().map(|(k, v)| (format!("{name}[{k}]"), v)).collect()
        }
        (_, Value::Array(items)) if param.explode => items.iter().map(|v| (name.clone(), scalar(v))).collect(),
        (style, Value::Array(items)) => {
            let separator = match style {
                Style::SpaceDelimited => " ",
                Style::PipeDelimited => "|",
                _ => ",",
            };
            vec![(name, items.iter().map(scalar).collect::<Vec<_>>().join(separator))]
        }
        (_, Value::Object(_)) if param.explode => members(value),
        (_, Value::Object(_)) => {
            vec![(name, members(value).into_iter().flat_map(|(k, v)| [k, v]).collect::<Vec<_>>().join(","))]
        }
        (_, other) => vec![(name, scalar(other))],
    }
}

fn header_value(param: &Param, value: &Value) -> String {
    match value {
        _ if param.style == Style::Json => value.to_string(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
        Value::Object(_) if param.explode => {
            members(value).iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
        }
        Value::Object(_) => members(value).into_iter().flat_map(|(k, v)| [k, v]).collect::<Vec<_>>().join(","),
        other => scalar(other),
    }
}
