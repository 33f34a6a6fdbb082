//! Tool-argument validation: before a `tools/call` (from `/mcp` or from code) reaches a backend, its
//! arguments are checked against the tool's `inputSchema` (JSON Schema, 2020-12 unless the schema
//! says otherwise). A call with invalid arguments gets an `isError` result naming the field and never
//! reaches the backend.
//!
//! Remote and file `$ref`s are not resolved (the crate is built without them): a schema that needs
//! one cannot be compiled, and such a call is passed on unchecked (the backend validates it itself)
//! rather than refused for the backend's mistake.

use std::{
    fmt,
    sync::{Arc, OnceLock},
};

use serde_json::Value;

/// At most this many problems are named in one message.
const MAX_PROBLEMS: usize = 3;

/// A tool's compiled `inputSchema`, compiled once per listing and shared by every call routed with it.
#[derive(Clone)]
pub struct ArgumentSchema(Arc<jsonschema::Validator>);

impl fmt::Debug for ArgumentSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ArgumentSchema")
    }
}

impl ArgumentSchema {
    /// `None` when the schema cannot be compiled: such a tool's calls pass unchecked (logged once here).
    pub fn compile(tool: &str, input_schema: &Value) -> Option<Self> {
        match jsonschema::validator_for(input_schema) {
            Ok(validator) => Some(Self(Arc::new(validator))),
            Err(error) => {
                tracing::warn!(tool, %error, "tool inputSchema does not compile; its arguments are not checked");
                None
            }
        }
    }

    /// `Ok` if `args` satisfy the schema; else a message saying which field is wrong and why.
    pub fn check(&self, args: &Value) -> Result<(), String> {
        problems(&self.0, args)
    }
}

/// A listed tool's `inputSchema`, compiled on the first call that needs it. Listing keeps the raw schema
/// only: a `tools/list` rebuilds the route index, and compiling every tool's schema there would put that
/// cost on every list instead of on the first call of each tool.
#[derive(Debug)]
pub struct ToolSchema {
    tool: String,
    raw: Value,
    compiled: OnceLock<Option<ArgumentSchema>>,
}

impl ToolSchema {
    pub fn new(tool: &str, raw: Value) -> Self {
        Self { tool: tool.to_owned(), raw, compiled: OnceLock::new() }
    }

    /// Whether `other` is the same schema (same tool, same JSON), so its compiled form can be reused.
    pub fn same_as(&self, other: &ToolSchema) -> bool {
        self.tool == other.tool && self.raw == other.raw
    }

    /// As [`ArgumentSchema::check`]; a schema that does not compile lets every call through.
    pub fn check(&self, args: &Value) -> Result<(), String> {
        match self.compiled.get_or_init(|| ArgumentSchema::compile(&self.tool, &self.raw)) {
            Some(schema) => schema.check(args),
            None => Ok(()),
        }
    }
}

/// `Ok` if `args` satisfy `input_schema`; else a message saying which field is wrong and why.
/// Values are masked in the message: arguments may carry secrets or personal data.
pub fn validate_arguments(input_schema: &Value, args: &Value) -> Result<(), String> {
    match ArgumentSchema::compile("-", input_schema) {
        Some(schema) => schema.check(args),
        None => Ok(()),
    }
}

fn problems(validator: &jsonschema::Validator, args: &Value) -> Result<(), String> {
    let problems: Vec<String> = validator
        .iter_errors(args)
        .take(MAX_PROBLEMS)
        .map(|error| {
            let path = error.instance_path().to_string();
            let field = if path.is_empty() { "arguments".to_owned() } else { format!("argument {path}") };
            format!("{field}: {}", error.masked())
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("Invalid arguments: {}", problems.join("; ")))
    }
}

/// The `isError` tool result for arguments that failed [`validate_arguments`].
pub fn invalid_arguments_result(message: &str) -> Value {
    serde_json::json!({ "content": [{ "type": "text", "text": message }], "isError": true })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add_schema() -> Value {
        json!({
            "type": "object",
            "properties": { "a": { "type": "number" }, "b": { "type": "number" } },
            "required": ["a", "b"]
        })
    }

    #[test]
    fn valid_arguments_pass() {
        assert_eq!(validate_arguments(&add_schema(), &json!({"a": 1, "b": 2.5})), Ok(()));
    }

    #[test]
    fn wrong_type_names_the_field_without_echoing_the_value() {
        let e = validate_arguments(&add_schema(), &json!({"a": "secret-value", "b": 2})).unwrap_err();
        assert!(e.contains("argument /a") && e.contains("number"), "{e}");
        assert!(!e.contains("secret-value"), "{e}");
    }

    #[test]
    fn missing_required_field_is_named() {
        let e = validate_arguments(&add_schema(), &json!({"a": 1})).unwrap_err();
        assert!(e.contains("\"b\"") && e.contains("required"), "{e}");
    }

    #[test]
    fn nested_fields_have_their_path() {
        let schema =
            json!({"type": "object", "properties": {"items": {"type": "array", "items": {"type": "integer"}}}});
        let e = validate_arguments(&schema, &json!({"items": [1, "x"]})).unwrap_err();
        assert!(e.contains("argument /items/1"), "{e}");
    }

    #[test]
    fn tool_schemas_compile_once_on_first_check() {
        let schema = ToolSchema::new("demo_add", add_schema());
        assert!(schema.compiled.get().is_none(), "listing alone compiles nothing");
        assert!(schema.check(&json!({"a": "x", "b": 1})).is_err());
        assert!(schema.compiled.get().is_some_and(Option::is_some));
        assert_eq!(schema.check(&json!({"a": 1, "b": 2})), Ok(()));
        assert_eq!(ToolSchema::new("bad", json!({"type": 12})).check(&json!({})), Ok(()));
    }

    #[test]
    fn uncompilable_schemas_do_not_block_calls() {
        let schema = json!({"$ref": "https://example.com/schema.json"});
        assert_eq!(validate_arguments(&schema, &json!({"anything": 1})), Ok(()));
        assert_eq!(validate_arguments(&json!({"type": 12}), &json!({})), Ok(()));
    }
}
