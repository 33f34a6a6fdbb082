//! Error texts leave the sandbox through a filter: messages from engines and backends can quote
//! credentials (a URL with a password, a bearer token, a session id in a query string). Whatever looks
//! like one is replaced by `[REDACTED]`, and the text is cut to a length a model can use.

use std::sync::LazyLock;

use regex::Regex;

/// Longest error text handed out, in characters.
pub const MAX_ERROR_CHARS: usize = 500;
const REDACTED: &str = "[REDACTED]";

static RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // `Authorization: Bearer …`, `bearer …`.
        (r"(?i)\b(bearer)\s+[^\s,;]+", "$1 [REDACTED]"),
        // `password=…`, `api_key: …`, `sessionId=…`, `Mcp-Session-Id: …`, `token=…` (query strings, JSON-ish).
        (
            r#"(?i)\b([a-z0-9_-]*(?:key|token|secret|password|passwd|auth[a-z]*|session[_-]?id))(["']?\s*[=:]\s*["']?)[^\s&"',;)}\]]+"#,
            "$1$2[REDACTED]",
        ),
        // Credentials in URLs: `https://user:pass@host`.
        (r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", "$1[REDACTED]@"),
    ]
    .into_iter()
    .filter_map(|(pattern, replacement)| Regex::new(pattern).ok().map(|re| (re, replacement)))
    .collect()
});

/// Runs of 32+ base64/hex-like characters: keys and tokens without a telling name.
static OPAQUE: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/=_-]{32,}").ok());

/// `text` with anything credential-like redacted, at most [`MAX_ERROR_CHARS`] characters.
pub fn sanitize(text: &str) -> String {
    let mut out = text.to_owned();
    for (rule, replacement) in RULES.iter() {
        out = rule.replace_all(&out, *replacement).into_owned();
    }
    if let Some(opaque) = OPAQUE.as_ref() {
        // Only runs mixing letters and digits: long identifiers such as tool names stay readable.
        out = opaque
            .replace_all(&out, |m: &regex::Captures<'_>| {
                let run = &m[0];
                let mixed = run.bytes().any(|b| b.is_ascii_digit()) && run.bytes().any(|b| b.is_ascii_alphabetic());
                if mixed {
                    REDACTED.to_owned()
                } else {
                    run.to_owned()
                }
            })
            .into_owned();
    }
    truncate(&out, MAX_ERROR_CHARS)
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_and_named_secrets_are_redacted() {
        let s = sanitize("failed: Authorization: Bearer abc.def.ghi and api_key=s3cr3t&x=1, password: \"hunter2\"");
        assert!(!s.contains("abc.def") && !s.contains("s3cr3t") && !s.contains("hunter2"), "{s}");
        assert!(s.contains("[REDACTED]") && s.contains("x=1"), "{s}");
    }

    #[test]
    fn session_ids_and_url_credentials_are_redacted() {
        let s = sanitize("GET https://bob:pa55@api.example.com/x?sessionId=42abc Mcp-Session-Id: 77");
        assert!(!s.contains("pa55") && !s.contains("42abc") && !s.contains(": 77"), "{s}");
        assert!(s.contains("https://[REDACTED]@api.example.com"), "{s}");
    }

    #[test]
    fn opaque_keys_go_but_long_names_stay() {
        let s = sanitize(
            "key mcpgw_1eNOK8NR0iC3tw6uKg5RTB7Y49tKZLMU9Nn_au5NCTs for everything_get_structured_content_tool",
        );
        assert!(!s.contains("1eNOK8"), "{s}");
        assert!(s.contains("everything_get_structured_content_tool"), "{s}");
    }

    #[test]
    fn long_texts_are_cut() {
        let s = sanitize(&"é".repeat(600));
        assert_eq!(s.chars().count(), MAX_ERROR_CHARS + 1);
    }
}
