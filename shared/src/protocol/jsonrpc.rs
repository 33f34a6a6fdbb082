//! JSON-RPC 2.0 framing over `serde_json::Value`: messages are classified, never re-typed, so fields
//! the gateway does not know pass through byte-faithfully.

use serde_json::{Map, Value};

/// One incoming message.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// A client's answer to a server request. The gateway sends none, so these are acknowledged and dropped.
    Response,
}

/// A message that is not valid JSON-RPC as MCP requires it (-32600), with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidMessage(pub String);

/// Classifies one message, enforcing the JSON-RPC shape MCP requires.
pub fn classify(message: &Value) -> Result<Incoming, InvalidMessage> {
    let invalid = |why: &str| Err(InvalidMessage(why.to_owned()));
    let Some(object) = message.as_object() else {
        return invalid("a message must be a JSON object");
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid("\"jsonrpc\" must be \"2.0\"");
    }
    let params = object.get("params").cloned().unwrap_or(Value::Null);
    if !(params.is_null() || params.is_object()) {
        return invalid("\"params\" must be an object");
    }
    match (object.get("method"), object.get("id")) {
        (Some(Value::String(method)), None) => Ok(Incoming::Notification { method: method.clone(), params }),
        (Some(Value::String(method)), Some(id)) if valid_id(id) => {
            Ok(Incoming::Request { id: id.clone(), method: method.clone(), params })
        }
        (Some(Value::String(_)), Some(_)) => invalid("\"id\" must be a string or an integer"),
        (Some(_), _) => invalid("\"method\" must be a string"),
        (None, Some(id)) if valid_id(id) && (object.contains_key("result") || object.contains_key("error")) => {
            Ok(Incoming::Response)
        }
        (None, _) => invalid("a request needs \"method\""),
    }
}

/// MCP ids are strings or integers, never null.
fn valid_id(id: &Value) -> bool {
    id.is_string() || id.is_i64() || id.is_u64()
}

/// The id to echo in an error about `message`: its own if it is valid, else null.
pub fn id_of(message: &Value) -> Value {
    message.get("id").filter(|id| valid_id(id)).cloned().unwrap_or(Value::Null)
}

pub fn success(id: &Value, result: Value) -> Value {
    response(id, "result", result)
}

pub fn failure(id: &Value, error: Value) -> Value {
    response(id, "error", error)
}

/// The result (or error) moves into the response as it is: `json!` would serialize it into a copy, a
/// second pass over every tool result and list on every request.
fn response(id: &Value, member: &str, value: Value) -> Value {
    let mut response = Map::with_capacity(3);
    response.insert("jsonrpc".to_owned(), Value::from("2.0"));
    response.insert("id".to_owned(), id.clone());
    response.insert(member.to_owned(), value);
    Value::Object(response)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn classifies_requests_notifications_and_responses() {
        assert_eq!(
            classify(&json!({"jsonrpc":"2.0","id":1,"method":"ping"})).unwrap(),
            Incoming::Request { id: json!(1), method: "ping".into(), params: Value::Null }
        );
        assert!(matches!(
            classify(&json!({"jsonrpc":"2.0","method":"notifications/initialized"})).unwrap(),
            Incoming::Notification { .. }
        ));
        assert_eq!(classify(&json!({"jsonrpc":"2.0","id":"a","result":{}})).unwrap(), Incoming::Response);
    }

    #[test]
    fn rejects_malformed_messages() {
        for bad in [
            json!({"foo": 1}),
            json!({"jsonrpc":"1.0","id":1,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":null,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1.5,"method":"ping"}),
            json!({"jsonrpc":"2.0","id":1,"method":7}),
            json!({"jsonrpc":"2.0","id":1,"method":"x","params":[1]}),
            json!("ping"),
        ] {
            assert!(classify(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_ids_echo_only_valid_ids() {
        assert_eq!(id_of(&json!({"id": "x"})), json!("x"));
        assert_eq!(id_of(&json!({"id": {"a": 1}})), Value::Null);
    }
}
