//! Typed views of the request parameters the gateway itself reads. The request's `params` object is
//! still what is forwarded (unknown members such as `_meta` pass through untouched); these views only
//! check and borrow the members the gateway acts on. Error messages name the member and never echo its
//! value (it may be personal data or a secret).

use serde_json::Value;

/// The parameters do not have the shape the method needs (-32602), with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidParams(pub String);

fn string<'p>(object: &'p Value, path: &str, field: &str) -> Result<&'p str, InvalidParams> {
    object.get(field).and_then(Value::as_str).ok_or_else(|| InvalidParams(format!("\"{path}\" must be a string")))
}

/// `tools/call`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallToolParams<'p> {
    pub name: &'p str,
    /// The arguments object, if any (absent means `{}`).
    pub arguments: Option<&'p Value>,
}

impl<'p> CallToolParams<'p> {
    pub fn parse(params: &'p Value) -> Result<Self, InvalidParams> {
        let name = string(params, "name", "name")?;
        let arguments = match params.get("arguments") {
            None | Some(Value::Null) => None,
            Some(arguments @ Value::Object(_)) => Some(arguments),
            Some(_) => return Err(InvalidParams("\"arguments\" must be an object".into())),
        };
        Ok(Self { name, arguments })
    }
}

/// `prompts/get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetPromptParams<'p> {
    pub name: &'p str,
}

impl<'p> GetPromptParams<'p> {
    pub fn parse(params: &'p Value) -> Result<Self, InvalidParams> {
        Ok(Self { name: string(params, "name", "name")? })
    }
}

/// `resources/read`, `resources/subscribe` and `resources/unsubscribe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceParams<'p> {
    pub uri: &'p str,
}

impl<'p> ResourceParams<'p> {
    pub fn parse(params: &'p Value) -> Result<Self, InvalidParams> {
        Ok(Self { uri: string(params, "uri", "uri")? })
    }
}

/// What `completion/complete` completes an argument of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionRef<'p> {
    Prompt { name: &'p str },
    Resource { uri: &'p str },
}

impl<'p> CompletionRef<'p> {
    pub fn parse(params: &'p Value) -> Result<Self, InvalidParams> {
        let invalid = || InvalidParams("\"ref\" must be a ref/prompt or ref/resource object".into());
        let reference = params.get("ref").filter(|r| r.is_object()).ok_or_else(invalid)?;
        match reference.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => Ok(Self::Prompt { name: string(reference, "ref.name", "name")? }),
            Some("ref/resource") => Ok(Self::Resource { uri: string(reference, "ref.uri", "uri")? }),
            _ => Err(invalid()),
        }
    }
}

/// The syslog levels of `logging/setLevel`, least severe first.
pub const LOG_LEVELS: [&str; 8] = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/// `logging/setLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetLevelParams {
    pub level: &'static str,
}

impl SetLevelParams {
    pub fn parse(params: &Value) -> Result<Self, InvalidParams> {
        let level = string(params, "level", "level")?;
        let level = LOG_LEVELS
            .iter()
            .find(|l| **l == level)
            .ok_or_else(|| InvalidParams(format!("\"level\" must be one of {}", LOG_LEVELS.join(", "))))?;
        Ok(Self { level })
    }
}

/// `initialize`.
#[derive(Debug, Clone, PartialEq)]
pub struct InitializeParams<'p> {
    pub protocol_version: &'p str,
    pub capabilities: Option<&'p Value>,
    pub client_info: Option<&'p Value>,
}

impl<'p> InitializeParams<'p> {
    pub fn parse(params: &'p Value) -> Result<Self, InvalidParams> {
        let protocol_version = string(params, "protocolVersion", "protocolVersion")?;
        let object = |field: &str| -> Result<Option<&'p Value>, InvalidParams> {
            match params.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(value @ Value::Object(_)) => Ok(Some(value)),
                Some(_) => Err(InvalidParams(format!("\"{field}\" must be an object"))),
            }
        };
        Ok(Self { protocol_version, capabilities: object("capabilities")?, client_info: object("clientInfo")? })
    }
}

/// The `cursor` of a list request, if any.
pub fn list_cursor(params: &Value) -> Option<&Value> {
    params.get("cursor").filter(|c| !c.is_null())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn call_tool_needs_a_name_and_an_object_of_arguments() {
        let params = json!({"name": "demo_add", "arguments": {"a": 1}, "_meta": {"progressToken": 1}});
        let call = CallToolParams::parse(&params).unwrap();
        assert_eq!((call.name, call.arguments), ("demo_add", Some(&json!({"a": 1}))));
        assert_eq!(CallToolParams::parse(&json!({"name": "x"})).unwrap().arguments, None);
        assert!(CallToolParams::parse(&json!({"name": 7})).is_err());
        assert!(CallToolParams::parse(&json!({"arguments": {}})).is_err());
        let err = CallToolParams::parse(&json!({"name": "x", "arguments": ["alice@example.com"]})).unwrap_err();
        assert!(!err.0.contains("alice"), "{err}");
    }

    #[test]
    fn completion_refs_are_prompts_or_resources() {
        let prompt = json!({"ref": {"type": "ref/prompt", "name": "p"}});
        assert_eq!(CompletionRef::parse(&prompt).unwrap(), CompletionRef::Prompt { name: "p" });
        let resource = json!({"ref": {"type": "ref/resource", "uri": "test://x"}});
        assert_eq!(CompletionRef::parse(&resource).unwrap(), CompletionRef::Resource { uri: "test://x" });
        assert!(CompletionRef::parse(&json!({"ref": {"type": "ref/other"}})).is_err());
        assert!(CompletionRef::parse(&json!({"ref": {"type": "ref/prompt"}})).unwrap_err().0.contains("ref.name"));
    }

    #[test]
    fn log_levels_are_the_syslog_names() {
        assert_eq!(SetLevelParams::parse(&json!({"level": "warning"})).unwrap().level, "warning");
        assert!(SetLevelParams::parse(&json!({"level": "loud"})).is_err());
    }

    #[test]
    fn initialize_checks_the_types_it_stores() {
        let ok = json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "c"}});
        assert_eq!(InitializeParams::parse(&ok).unwrap().protocol_version, "2025-11-25");
        assert!(InitializeParams::parse(&json!({"protocolVersion": 1})).is_err());
        assert!(InitializeParams::parse(&json!({"protocolVersion": "x", "clientInfo": "me"})).is_err());
    }
}
