//! A function's reply as a tool result:
//!
//! - a JSON object → `structuredContent` plus its JSON as text;
//! - any other JSON (string, number, array, `null`) → text (a string as itself);
//! - a function error (`X-Amz-Function-Error`, or the local emulator's HTTP 500 with `errorType` and
//!   `errorMessage`) → an `isError` result naming the error type and message (the stack trace is left
//!   out). It is an answer, not an outage: the function ran and said no.
//!
//! A tool that declares an `outputSchema` must return an object (MCP requires `structuredContent` then);
//! anything else becomes an `isError` result saying so.

use serde_json::Value;

use super::Invoked;
use crate::backend::{tool_server, BackendError};

pub(super) fn tool_result(invoked: Invoked, output_schema: bool) -> Result<Value, BackendError> {
    if let Some(kind) = invoked.function_error {
        return Ok(function_error(&kind, &invoked.payload));
    }
    let value = match serde_json::from_slice::<Value>(&invoked.payload) {
        Ok(value) => value,
        // Lambda returns what the function wrote; a function may write plain text.
        Err(_) => match String::from_utf8(invoked.payload) {
            Ok(text) => Value::String(text),
            Err(_) => {
                return Err(BackendError::InvalidResponse("the function's reply is neither JSON nor text".into()))
            }
        },
    };
    if output_schema && !value.is_object() {
        let message = "The function's reply is not a JSON object, but the tool declares an outputSchema.";
        return Ok(tool_server::text_result(message, true));
    }
    Ok(tool_server::json_result(value))
}

/// `errorType: errorMessage` from the runtime's error document, or what Lambda said about it.
fn function_error(kind: &str, payload: &[u8]) -> Value {
    let document: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let field = |name: &str| document.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    let text = match (field("errorType"), field("errorMessage")) {
        (Some(kind), Some(message)) => format!("The function failed: {kind}: {message}"),
        (None, Some(message)) => format!("The function failed: {message}"),
        (Some(kind), None) => format!("The function failed: {kind}"),
        (None, None) => format!("The function failed ({kind})."),
    };
    tool_server::text_result(text, true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reply(payload: &str) -> Invoked {
        Invoked { function_error: None, payload: payload.as_bytes().to_vec() }
    }

    #[test]
    fn objects_are_structured_and_other_json_is_text() {
        let result = tool_result(reply(r#"{"email":"ada@example.com"}"#), false).unwrap();
        assert_eq!(result["structuredContent"]["email"], "ada@example.com");
        assert_eq!(result["content"][0]["text"], r#"{"email":"ada@example.com"}"#);
        assert_eq!(tool_result(reply(r#""hello""#), false).unwrap()["content"][0]["text"], "hello");
        assert_eq!(tool_result(reply("[1,2]"), false).unwrap()["content"][0]["text"], "[1,2]");
        assert_eq!(tool_result(reply("not json"), false).unwrap()["content"][0]["text"], "not json");
        let binary = Invoked { function_error: None, payload: vec![0xff, 0xfe] };
        assert!(matches!(tool_result(binary, false), Err(BackendError::InvalidResponse(_))));
    }

    #[test]
    fn function_errors_name_type_and_message_without_the_stack() {
        let payload = r#"{"errorType":"ValueError","errorMessage":"no such order","stackTrace":["at secret.rs:1"]}"#;
        let result =
            tool_result(Invoked { function_error: Some("Unhandled".into()), payload: payload.into() }, false).unwrap();
        assert_eq!(result["isError"], true);
        let text = result["content"][0]["text"].as_str().unwrap();
        assert!(text.contains("ValueError") && text.contains("no such order"), "{text}");
        assert!(!text.contains("secret.rs"), "{text}");
        let bare = tool_result(Invoked { function_error: Some("Unhandled".into()), payload: vec![] }, false).unwrap();
        assert_eq!(bare["content"][0]["text"], "The function failed (Unhandled).");
    }

    #[test]
    fn a_declared_output_schema_needs_an_object() {
        let result = tool_result(reply("42"), true).unwrap();
        assert_eq!(result["isError"], true);
        assert!(tool_result(reply(r#"{"n":42}"#), true).unwrap().get("isError").is_none());
        assert_eq!(json!(tool_result(reply(r#"{"n":42}"#), true).unwrap()["structuredContent"]), json!({"n": 42}));
    }
}
