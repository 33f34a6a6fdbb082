//! OAuth 2.0 client-credentials grant (RFC 6749 §4.4) against a backend's token endpoint.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use serde::Deserialize;

use super::{CredentialError, SecretValue};

/// A token response is a few hundred bytes; anything far larger is not one.
const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// An access token and how long the endpoint says it lives.
pub struct Token {
    pub access_token: SecretValue,
    pub expires_in: Option<Duration>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// What the gateway asks for.
pub struct TokenRequest<'a> {
    pub token_url: &'a reqwest::Url,
    pub client_id: &'a str,
    pub client_secret: &'a SecretValue,
    pub scope: Option<&'a str>,
    /// Some providers (Auth0 and others) need the API's identifier to issue a token for it.
    pub audience: Option<&'a str>,
}

/// Requests a token. The client authenticates with HTTP Basic, its id and secret form-encoded first
/// (RFC 6749 §2.3.1). Errors never include the secret or the token.
pub async fn fetch(http: &reqwest::Client, request: &TokenRequest<'_>) -> Result<Token, CredentialError> {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = STANDARD.encode(format!("{}:{}", encode(request.client_id), encode(request.client_secret.expose())));
    // Built in one go: the serializer is not `Send` and must not live across an await.
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if let Some(scope) = request.scope {
            form.append_pair("scope", scope);
        }
        if let Some(audience) = request.audience {
            form.append_pair("audience", audience);
        }
        form.finish()
    };
    let mut response = http
        .post(request.token_url.clone())
        .header(http::header::AUTHORIZATION, format!("Basic {basic}"))
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(http::header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| CredentialError::Token(format!("request failed: {}", without_url(e))))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| CredentialError::Token(without_url(e)))? {
        if body.len() + chunk.len() > MAX_TOKEN_RESPONSE_BYTES {
            return Err(CredentialError::Token("response too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        // RFC 6749 §5.2: `error` is a registered code such as invalid_client; safe to log and show.
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error")?.as_str().map(|s| s.chars().take(64).collect::<String>()));
        return Err(CredentialError::Token(format!(
            "HTTP {}{}",
            status.as_u16(),
            code.map(|c| format!(" ({c})")).unwrap_or_default()
        )));
    }
    let parsed: TokenResponse =
        serde_json::from_slice(&body).map_err(|_| CredentialError::Token("response is not a token response".into()))?;
    if parsed.token_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("bearer")) {
        return Err(CredentialError::Token("token_type is not Bearer".into()));
    }
    if parsed.access_token.is_empty() {
        return Err(CredentialError::Token("empty access_token".into()));
    }
    Ok(Token {
        access_token: SecretValue::new(parsed.access_token),
        expires_in: parsed.expires_in.map(Duration::from_secs),
    })
}

/// A reqwest error without the URL (token URLs may carry tenant ids; keep messages short).
fn without_url(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    kind.to_owned()
}
