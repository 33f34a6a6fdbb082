//! Tool-argument validation: before a `tools/call` (from `/mcp` or from code) reaches a backend, its
//! arguments are checked against the tool's `inputSchema` (JSON Schema, 2020-12 unless the schema
//! says otherwise). A call with invalid arguments gets an `isError` result naming the field and never
//! reaches the backend.
//!
//! Remote and file `$ref`s are not resolved (the crate is built without them): a schema that needs
//! one cannot be compiled, and such a call is passed on unchecked (the backend validates it itself)
//! rather than refused for the backend's mistake.

use serde_json::Value;

/// At most this many problems are named in one message.
const MAX_PROBLEMS: usize = 3;

/// `Ok` if `args` satisfy `input_schema`; else a message saying which field is wrong and why.
/// Values are masked in the message: arguments may carry secrets or personal data.
pub fn validate_arguments(input_schema: &Value, args: &Value) -> Result<(), String> {
    let validator = match jsonschema::validator_for(input_schema) {
        Ok(validator) => validator,
        Err(error) => {
            tracing::warn!(%error, "tool inputSchema does not compile; arguments not checked");
            return Ok(());
        }
    };
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
    fn uncompilable_schemas_do_not_block_calls() {
        let schema = json!({"$ref": "https://example.com/schema.json"});
        assert_eq!(validate_arguments(&schema, &json!({"anything": 1})), Ok(()));
        assert_eq!(validate_arguments(&json!({"type": 12}), &json!({})), Ok(()));
    }
}
