//! An HTTP response as a tool result. 2xx: a JSON object becomes `structuredContent` plus its text,
//! other JSON or text becomes text, an empty body says so. 4xx (but 429) and 3xx (redirects are never
//! followed) are answers: `isError` results naming the status, with the body for the model to read.
//! 429 and 5xx are the service failing or throttling: they are outages (the client's breaker counts
//! them) and reach the caller as the backend being unavailable, naming the status.

use http::StatusCode;
use serde_json::Value;

use crate::backend::{tool_server, BackendError};

pub fn tool_result(status: StatusCode, content_type: Option<&str>, body: &[u8]) -> Result<Value, BackendError> {
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Err(BackendError::Status(status.as_u16()));
    }
    let json = content_type.is_some_and(|t| {
        let t = t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        t == "application/json" || t.ends_with("+json")
    });
    let parsed = if json { serde_json::from_slice::<Value>(body).ok() } else { None };
    let text = || match std::str::from_utf8(body) {
        Ok(text) => text.to_owned(),
        Err(_) => format!("({} bytes of {})", body.len(), content_type.unwrap_or("binary data")),
    };
    let reason = status.canonical_reason().unwrap_or("");
    if !status.is_success() {
        let detail = match &parsed {
            Some(value) => value.to_string(),
            None => text(),
        };
        let mut message = format!("HTTP {} {reason}", status.as_u16());
        if status.is_redirection() {
            message.push_str(" (redirects are not followed)");
        }
        if !detail.is_empty() {
            message = format!("{message}: {detail}");
        }
        return Ok(tool_server::text_result(message, true));
    }
    Ok(match parsed {
        Some(value) => tool_server::json_result(value),
        None if body.is_empty() => {
            tool_server::text_result(format!("HTTP {} {reason} (no content)", status.as_u16()), false)
        }
        None => tool_server::text_result(text(), false),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_objects_are_structured_and_text_stays_text() {
        let r = tool_result(StatusCode::OK, Some("application/json; charset=utf-8"), br#"{"id":7}"#).unwrap();
        assert_eq!(r["structuredContent"], json!({"id": 7}));
        let r = tool_result(StatusCode::OK, Some("application/problem+json"), b"[1]").unwrap();
        assert_eq!(r["content"][0]["text"], "[1]");
        let r = tool_result(StatusCode::OK, Some("text/plain"), br#"{"not":"parsed"}"#).unwrap();
        assert!(r.get("structuredContent").is_none());
        let r = tool_result(StatusCode::NO_CONTENT, None, b"").unwrap();
        assert_eq!(r["content"][0]["text"], "HTTP 204 No Content (no content)");
        let r = tool_result(StatusCode::OK, Some("image/png"), &[0x89, 0xff]).unwrap();
        assert_eq!(r["content"][0]["text"], "(2 bytes of image/png)");
    }

    #[test]
    fn client_errors_are_answers_and_server_errors_are_outages() {
        let r = tool_result(StatusCode::NOT_FOUND, Some("application/json"), br#"{"detail":"no item 9"}"#).unwrap();
        assert_eq!(r["isError"], true);
        let text = r["content"][0]["text"].as_str().unwrap();
        assert!(text.starts_with("HTTP 404 Not Found") && text.contains("no item 9"), "{text}");
        let r = tool_result(StatusCode::FOUND, None, b"").unwrap();
        assert!(r["content"][0]["text"].as_str().unwrap().contains("redirects are not followed"));
        for status in [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::BAD_GATEWAY, StatusCode::TOO_MANY_REQUESTS] {
            let err = tool_result(status, None, b"").unwrap_err();
            assert!(err.is_outage() && err.to_string().contains(status.as_str()), "{err}");
        }
    }
}
