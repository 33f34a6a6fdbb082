//! OpenAPI schemas → self-contained JSON Schema 2020-12, the dialect tool `inputSchema`s are checked in.
//!
//! - Local `$ref`s (`#/components/...`) are resolved in place, so the schema compiles on its own (a
//!   schema that does not compile would let every call through unchecked) and clients that do not
//!   follow references still see the whole shape. A reference already being expanded (a cycle),
//!   nested too deep, external or dangling becomes `{}` (anything) with a note: the service still
//!   validates what it receives, and no spec can make the expansion loop or explode.
//! - Every schema is built within a node budget; a spec whose references multiply (A has ten Bs, B
//!   has ten Cs…) hits it and the operation is left out instead of taking the instance's memory.
//! - OpenAPI 3.0's dialect is translated: `nullable: true` adds `"null"` to `type` (and `enum`),
//!   boolean `exclusiveMinimum`/`exclusiveMaximum` become the numeric form, `example` becomes
//!   `examples`. `readOnly` properties are dropped (a request never sends them). Keywords with no
//!   meaning here (`discriminator`, `xml`, `externalDocs`, `x-*`, `$id`, `$schema`, `$defs`) are removed.

use serde_json::{json, Map, Value};

/// Reference expansions nested inside one another.
const MAX_REF_DEPTH: usize = 16;
/// Schema nesting, references or not (parsers of the tool list have their own recursion limits).
const MAX_DEPTH: usize = 32;

/// The schema of one operation would exceed its node budget.
#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge;

/// Keywords whose value is one schema.
const ONE: [&str; 12] = [
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
    "contentSchema",
];
/// Keywords whose value is a list of schemas.
const LIST: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value maps names to schemas.
const MAP: [&str; 3] = ["properties", "patternProperties", "dependentSchemas"];
/// Keywords dropped from the output.
const DROPPED: [&str; 11] = [
    "discriminator",
    "xml",
    "externalDocs",
    "$id",
    "$schema",
    "$anchor",
    "$dynamicAnchor",
    "$dynamicRef",
    "$defs",
    "definitions",
    "$comment",
];

pub struct SchemaBuilder<'d> {
    document: &'d Value,
    openapi30: bool,
    nodes: usize,
    budget: usize,
    expanding: Vec<String>,
}

impl<'d> SchemaBuilder<'d> {
    /// A builder for schemas of `document`, allowed `budget` JSON nodes in all it builds.
    pub fn new(document: &'d Value, openapi30: bool, budget: usize) -> Self {
        Self { document, openapi30, nodes: 0, budget, expanding: Vec::new() }
    }

    /// JSON nodes built so far.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Allows `more` nodes from now on (instead of what was left).
    pub fn allow(&mut self, more: usize) {
        self.budget = self.nodes + more;
    }

    /// `schema` as self-contained JSON Schema 2020-12.
    pub fn build(&mut self, schema: &Value) -> Result<Value, TooLarge> {
        self.walk(schema, 0)
    }

    /// Resolves a local reference (`#/a/b`) to what it points at, outside any schema expansion (path
    /// items, parameters, request bodies).
    pub fn resolve<'v>(&self, value: &'v Value) -> &'v Value
    where
        'd: 'v,
    {
        let mut value = value;
        // A chain of references to references, bounded (a cycle of them resolves to the last one seen).
        for _ in 0..MAX_REF_DEPTH {
            match value.get("$ref").and_then(Value::as_str).and_then(|r| pointer(self.document, r)) {
                Some(target) => value = target,
                None => break,
            }
        }
        value
    }

    fn count(&mut self, n: usize) -> Result<(), TooLarge> {
        self.nodes += n;
        if self.nodes > self.budget {
            Err(TooLarge)
        } else {
            Ok(())
        }
    }

    fn walk(&mut self, schema: &Value, depth: usize) -> Result<Value, TooLarge> {
        self.count(1)?;
        let Value::Object(object) = schema else {
            // `true`/`false` are schemas in 2020-12; anything else is not a schema at all.
            return Ok(if schema.is_boolean() { schema.clone() } else { json!({}) });
        };
        if depth > MAX_DEPTH {
            return Ok(anything("nested too deeply; not expanded"));
        }
        if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
            return self.reference(reference, object, depth);
        }
        let mut out = Map::new();
        for (key, value) in object {
            let key = key.as_str();
            if DROPPED.contains(&key) || key.starts_with("x-") || key == "nullable" {
                continue;
            }
            let built = if ONE.contains(&key) {
                self.walk(value, depth + 1)?
            } else if LIST.contains(&key) {
                match value {
                    Value::Array(list) => {
                        Value::Array(list.iter().map(|s| self.walk(s, depth + 1)).collect::<Result<Vec<_>, _>>()?)
                    }
                    _ => continue,
                }
            } else if MAP.contains(&key) {
                let Value::Object(map) = value else { continue };
                let mut built = Map::new();
                for (name, s) in map {
                    built.insert(name.clone(), self.walk(s, depth + 1)?);
                }
                Value::Object(built)
            } else if key == "example" && self.openapi30 {
                self.count(size(value))?;
                out.entry("examples").or_insert_with(|| json!([value]));
                continue;
            } else {
                // Plain keywords and data (`enum`, `default`, `examples`…): copied, and counted.
                self.count(size(value))?;
                value.clone()
            };
            out.insert(key.to_owned(), built);
        }
        if self.openapi30 {
            translate_30(object, &mut out);
        }
        drop_read_only(&mut out);
        Ok(Value::Object(out))
    }

    fn reference(&mut self, reference: &str, object: &Map<String, Value>, depth: usize) -> Result<Value, TooLarge> {
        let mut resolved = if self.expanding.iter().any(|r| r == reference) {
            anything(&format!("recursive reference to {}; not expanded", short(reference)))
        } else if self.expanding.len() >= MAX_REF_DEPTH {
            anything("references nested too deeply; not expanded")
        } else {
            match pointer(self.document, reference) {
                Some(target) => {
                    self.expanding.push(reference.to_owned());
                    let built = self.walk(target, depth + 1);
                    self.expanding.pop();
                    built?
                }
                None if reference.starts_with('#') => anything("unresolved reference; not expanded"),
                None => anything("external reference; not expanded"),
            }
        };
        // Keywords beside `$ref` (3.1 allows them; 3.0 tools often put a description there).
        let siblings: Map<String, Value> =
            object.iter().filter(|(k, _)| *k != "$ref").map(|(k, v)| (k.clone(), v.clone())).collect();
        if !siblings.is_empty() {
            if let (Value::Object(target), Value::Object(extra)) =
                (&mut resolved, self.walk(&Value::Object(siblings), depth + 1)?)
            {
                target.extend(extra);
            }
        }
        Ok(resolved)
    }
}

/// A permissive schema that says why it is permissive.
fn anything(why: &str) -> Value {
    json!({ "description": format!("({why})") })
}

/// The last part of a reference, for notes (`#/components/schemas/Node` → `Node`).
fn short(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// The value a local reference (`#/json/pointer`, percent-encoded as a URI fragment) points at.
pub fn pointer<'v>(document: &'v Value, reference: &str) -> Option<&'v Value> {
    let fragment = reference.strip_prefix('#')?;
    let decoded = percent_encoding::percent_decode_str(fragment).decode_utf8().ok()?;
    document.pointer(&decoded)
}

/// Nodes in a JSON value, for the budget.
fn size(value: &Value) -> usize {
    match value {
        Value::Array(list) => 1 + list.iter().map(size).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(size).sum::<usize>(),
        _ => 1,
    }
}

/// OpenAPI 3.0 keywords in their JSON Schema 2020-12 form.
fn translate_30(source: &Map<String, Value>, out: &mut Map<String, Value>) {
    if source.get("nullable") == Some(&Value::Bool(true)) {
        match out.get_mut("type") {
            Some(Value::String(t)) => {
                let t = std::mem::take(t);
                out.insert("type".into(), json!([t, "null"]));
            }
            Some(Value::Array(types)) if !types.contains(&json!("null")) => types.push(json!("null")),
            _ => {}
        }
        if let Some(Value::Array(values)) = out.get_mut("enum") {
            if !values.contains(&Value::Null) {
                values.push(Value::Null);
            }
        }
    }
    for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if let Some(Value::Bool(flag)) = out.get(exclusive).cloned() {
            out.remove(exclusive);
            if flag {
                if let Some(limit) = out.remove(bound) {
                    out.insert(exclusive.into(), limit);
                }
            }
        }
    }
}

/// A request never carries `readOnly` properties: leave them out, and out of `required`.
fn drop_read_only(out: &mut Map<String, Value>) {
    let Some(Value::Object(properties)) = out.get_mut("properties") else { return };
    let read_only: Vec<String> = properties
        .iter()
        .filter(|(_, s)| s.get("readOnly") == Some(&Value::Bool(true)))
        .map(|(k, _)| k.clone())
        .collect();
    if read_only.is_empty() {
        return;
    }
    properties.retain(|k, _| !read_only.contains(k));
    if let Some(Value::Array(required)) = out.get_mut("required") {
        required.retain(|r| !r.as_str().is_some_and(|r| read_only.iter().any(|p| p == r)));
    }
}
