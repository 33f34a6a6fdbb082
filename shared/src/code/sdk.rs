//! `GET /api/code/sdk`: TypeScript-style declarations of the tools the caller may call from code,
//! generated from their input schemas, for the model (or a person) writing the code.

use std::{collections::BTreeMap, fmt::Write};

use serde_json::Value;

use super::tools::helper_name;

/// Nested schemas are typed this deep; below that, `any`.
const MAX_DEPTH: usize = 3;

const PREAMBLE: &str = "// Auto-generated MCP Tools SDK: the tools you may call from code.
// Code is plain JavaScript (no TypeScript), run as the body of an async function: use await and return.
// Every helper is `callTool('<tool name>', params)`; both resolve to the MCP CallToolResult
// ({ content: [...], structuredContent?: {...}, isError?: boolean }) and reject with
// ToolNotFoundError / ToolError when the call cannot be made.
";

const EPILOGUE: &str = "
// === sandbox globals ===
declare function callTool(name: string, params?: Record<string, any>): Promise<CallToolResult>;
declare const console: { log(...args: any[]): void; info(...args: any[]): void; warn(...args: any[]): void; error(...args: any[]): void; debug(...args: any[]): void };
/** The request's `context` object (frozen); identifier keys are also bound as variables. */
declare const context: Readonly<Record<string, any>>;
interface CallToolResult { content: Array<{ type: string; text?: string; [k: string]: any }>; structuredContent?: Record<string, any>; isError?: boolean }
// JSON, Math, Date, RegExp, Map, Set, Promise, BigInt are available; timers, eval, modules and host APIs are not.
";

/// The declarations for `tools`, one section per backend (`section_of` names a tool's backend).
pub fn render(tools: &[Value], section_of: impl Fn(&str) -> String) -> String {
    let mut sections: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for tool in tools {
        if let Some(name) = tool.get("name").and_then(Value::as_str) {
            sections.entry(section_of(name)).or_default().push(tool);
        }
    }
    let mut out = String::from(PREAMBLE);
    for (section, tools) in sections {
        let _ = write!(out, "\n// === {} ===\n", comment_safe(&section));
        for tool in tools {
            declare(&mut out, tool);
        }
    }
    out.push_str(EPILOGUE);
    out
}

fn declare(out: &mut String, tool: &Value) {
    let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
    let description = tool.get("description").and_then(Value::as_str).unwrap_or_default();
    let schema = tool.get("inputSchema").cloned().unwrap_or(Value::Null);
    let params = if schema.get("properties").is_some() { type_of(&schema, 1) } else { "Record<string, any>".into() };
    let _ = writeln!(out, "/**");
    for line in description.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(out, " * {}", comment_safe(line.trim()));
    }
    let _ = writeln!(out, " * Tool: {}", comment_safe(name));
    let _ = writeln!(out, " */");
    match helper_name(name) {
        Some(helper) => {
            let _ = writeln!(out, "declare function {helper}(params: {params}): Promise<CallToolResult>;");
        }
        None => {
            let _ = writeln!(out, "// no helper (not an identifier): callTool({:?}, params: {params})", name);
        }
    }
}

/// The TypeScript type of a JSON schema: string → string (enums as literal unions), number and
/// integer → number, boolean → boolean, array → T[], object → its properties or Record<string, any>.
fn type_of(schema: &Value, depth: usize) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let literals: Vec<String> = values.iter().take(20).map(Value::to_string).collect();
        if !literals.is_empty() {
            return literals.join(" | ");
        }
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => {
            let types: Vec<String> =
                kinds.iter().filter_map(Value::as_str).map(|k| type_of(&with_type(schema, k), depth)).collect();
            return if types.is_empty() { "any".into() } else { types.join(" | ") };
        }
        _ => "",
    };
    match kind {
        "string" => "string".into(),
        "number" | "integer" => "number".into(),
        "boolean" => "boolean".into(),
        "null" => "null".into(),
        "array" => match schema.get("items") {
            Some(items) if depth < MAX_DEPTH => format!("Array<{}>", type_of(items, depth + 1)),
            _ => "any[]".into(),
        },
        "object" => match schema.get("properties").and_then(Value::as_object) {
            Some(properties) if depth <= MAX_DEPTH && !properties.is_empty() => {
                let required: Vec<&str> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let fields: Vec<String> = properties
                    .iter()
                    .map(|(key, property)| {
                        let optional = if required.contains(&key.as_str()) { "" } else { "?" };
                        format!("{}{optional}: {}", property_key(key), type_of(property, depth + 1))
                    })
                    .collect();
                format!("{{ {} }}", fields.join("; "))
            }
            _ => "Record<string, any>".into(),
        },
        _ => "any".into(),
    }
}

fn with_type(schema: &Value, kind: &str) -> Value {
    let mut one = schema.clone();
    one["type"] = Value::String(kind.into());
    one
}

fn property_key(key: &str) -> String {
    let plain = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if plain {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

/// Text that cannot end the comment it is placed in.
fn comment_safe(text: &str) -> String {
    text.replace("*/", "*\\/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn declarations_follow_the_schemas() {
        let tools = [
            json!({"name": "demo_add", "description": "Adds two numbers.", "inputSchema": {"type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "integer"}, "mode": {"enum": ["x", "y"]},
                               "tags": {"type": "array", "items": {"type": "string"}}, "opts": {"type": "object"}},
                "required": ["a", "b"]}}),
            json!({"name": "gh.search", "inputSchema": {"type": "object", "properties": {"q-x": {"type": ["string", "null"]}}}}),
        ];
        let sdk = render(&tools, |name| name.split(['_', '.']).next().unwrap_or_default().to_owned());
        assert!(sdk.starts_with("// Auto-generated MCP Tools SDK"));
        assert!(sdk.contains("// === demo ===") && sdk.contains("// === gh ==="), "{sdk}");
        assert!(sdk.contains(
            "declare function demo_add(params: { a: number; b: number; mode?: \"x\" | \"y\"; tags?: Array<string>; opts?: Record<string, any> }): Promise<CallToolResult>;"
        ), "{sdk}");
        assert!(sdk.contains("declare function gh_search(params: { \"q-x\"?: string | null })"), "{sdk}");
        assert!(sdk.contains(" * Adds two numbers."));
    }

    #[test]
    fn descriptions_cannot_close_the_comment() {
        let tools = [json!({"name": "x_y", "description": "evil */ declare const pwned: 1; /*"})];
        assert!(!render(&tools, |_| "x".into()).contains("evil */"));
    }
}
