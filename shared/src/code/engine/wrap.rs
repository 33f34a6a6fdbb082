//! The caller's code as a module: the body of an exported async function, so top-level `await` and
//! `return` work, and each identifier key of `context` is a parameter (a plain binding in the code).

use serde_json::Value;

/// Words that cannot be parameter names in strict async code, and the globals the prelude provides.
const RESERVED: &[&str] = &[
    "arguments",
    "await",
    "break",
    "callTool",
    "case",
    "catch",
    "class",
    "console",
    "const",
    "context",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "eval",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// At most this many context keys become bindings; all of them stay reachable through `context`.
const MAX_PARAMETERS: usize = 64;

/// Whether `name` is a plain ASCII identifier that may be a parameter.
pub fn is_bindable(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$');
    first_ok
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        && !RESERVED.contains(&name)
}

/// The context keys that become parameters, in the object's order.
pub fn parameters(context: &Value) -> Vec<String> {
    let Some(object) = context.as_object() else {
        return Vec::new();
    };
    object.keys().filter(|k| is_bindable(k)).take(MAX_PARAMETERS).cloned().collect()
}

/// The module source. The header shares the code's first line, so line numbers in errors are the
/// caller's own; the closing brace gets its own line, so a trailing `//` comment cannot swallow it.
/// Parameter names are validated identifiers, never raw input.
pub fn module_source(code: &str, params: &[String]) -> String {
    format!("export default async function ({}) {{{code}\n}}\n", params.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_safe_identifiers_become_parameters() {
        let ctx = json!({"user": 1, "a-b": 2, "if": 3, "$x": 4, "_y1": 5, "1z": 6, "console": 7, "x);evil(": 8});
        assert_eq!(parameters(&ctx), ["user", "$x", "_y1"]);
        assert!(parameters(&json!([1, 2])).is_empty());
    }

    #[test]
    fn source_keeps_line_numbers() {
        let source = module_source("return 1 // done", &["a".into(), "b".into()]);
        assert_eq!(source, "export default async function (a, b) {return 1 // done\n}\n");
    }
}
