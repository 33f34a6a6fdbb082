//! Checks on the incoming request that the Streamable HTTP transport requires.

use http::{header, HeaderMap};
use lambda_http::Request;

use crate::GatewayError;

/// A header as text; absent or non-ASCII values read as absent.
pub fn header<'r>(headers: &'r HeaderMap, name: &str) -> Option<&'r str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn media_types(value: &str) -> impl Iterator<Item = String> + '_ {
    value.split(',').map(|part| part.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// POST bodies must be JSON.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), GatewayError> {
    match header(headers, header::CONTENT_TYPE.as_str()) {
        Some(v) if media_types(v).any(|t| t == "application/json") => Ok(()),
        _ => Err(GatewayError::UnsupportedMediaType),
    }
}

/// Clients must accept both reply forms (JSON and SSE); wildcards cover them.
pub fn check_accept(headers: &HeaderMap) -> Result<(), GatewayError> {
    let accepted: Vec<String> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| media_types(v).collect::<Vec<_>>())
        .collect();
    let takes = |wanted: &str| {
        let family = format!("{}/*", wanted.split('/').next().unwrap_or_default());
        accepted.iter().any(|a| a == wanted || a == "*/*" || *a == family)
    };
    if takes("application/json") && takes("text/event-stream") {
        Ok(())
    } else {
        Err(GatewayError::NotAcceptable)
    }
}

/// The body, refused when over `limit` bytes.
pub fn body(request: &Request, limit: usize) -> Result<&[u8], GatewayError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > limit {
        return Err(GatewayError::PayloadTooLarge(limit));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn accept_needs_json_and_sse() {
        assert!(check_accept(&headers(&[("accept", "application/json, text/event-stream")])).is_ok());
        assert!(
            check_accept(&headers(&[("accept", "application/json"), ("accept", "text/event-stream;q=0.5")])).is_ok()
        );
        assert!(check_accept(&headers(&[("accept", "*/*")])).is_ok());
        assert!(check_accept(&headers(&[("accept", "application/json")])).is_err());
        assert!(check_accept(&headers(&[])).is_err());
    }

    #[test]
    fn content_type_must_be_json() {
        assert!(check_content_type(&headers(&[("content-type", "application/json; charset=utf-8")])).is_ok());
        assert!(check_content_type(&headers(&[("content-type", "text/plain")])).is_err());
        assert!(check_content_type(&headers(&[])).is_err());
    }
}
