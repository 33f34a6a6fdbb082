//! The authenticator end to end over fakes: credential extraction, modes, and their failures.

use std::sync::Arc;

use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use super::*;
use crate::auth::{
    api_key::{KeyFile, MemoryKeySource},
    jwt::MemoryJwks,
    testing::{
        api_key_config, claims, demo_tool, key_file, mint, none_config, oauth_config, ISSUER, JWKS, KEY_A, KEY_B,
        KEY_DISABLED, KEY_EXPIRED, KID,
    },
    PrincipalKind,
};

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn api_key_auth() -> (Authenticator, Arc<MemoryKeySource>) {
    let source = Arc::new(MemoryKeySource::new(key_file()));
    let auth = Authenticator::new(api_key_config(), source.clone(), None).unwrap();
    (auth, source)
}

fn oauth_auth() -> Authenticator {
    let jwks: Value = serde_json::from_str(JWKS).unwrap();
    let client = JwksClient::with_fetcher(Arc::new(MemoryJwks::new(jwks)));
    let keys = Arc::new(MemoryKeySource::new(KeyFile::default()));
    Authenticator::new(oauth_config(), keys, Some(client)).unwrap()
}

fn invalid(result: Result<Principal, AuthError>) -> InvalidReason {
    match result {
        Err(AuthError::Invalid(reason)) => reason,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn api_key_accepted_in_either_header() {
    let (auth, source) = api_key_auth();
    let bearer = format!("Bearer {KEY_A}");
    for h in [
        headers(&[("authorization", &bearer)]),
        headers(&[("authorization", &format!("bearer   {KEY_A} "))]),
        headers(&[("x-api-key", KEY_A)]),
        headers(&[("authorization", &bearer), ("x-api-key", KEY_A)]),
        // A non-Bearer Authorization (e.g. added by a proxy) is not ours to judge.
        headers(&[("authorization", "Basic dXNlcjpwYXNz"), ("x-api-key", KEY_A)]),
    ] {
        let p = auth.authenticate(&h).await.unwrap();
        assert_eq!((p.id.as_str(), p.kind), ("key:k_a", PrincipalKind::ApiKey));
    }
    assert_eq!(source.loads(), 1, "keys are never fetched per request");
}

#[tokio::test]
async fn api_key_failures() {
    let (auth, _) = api_key_auth();
    let wrong = format!("mcpgw_{}", "x".repeat(43));
    let cases: [(HeaderMap, InvalidReason); 8] = [
        (headers(&[("x-api-key", &wrong)]), InvalidReason::UnknownKey),
        (headers(&[("x-api-key", KEY_DISABLED)]), InvalidReason::DisabledKey),
        (headers(&[("authorization", &format!("Bearer {KEY_EXPIRED}"))]), InvalidReason::ExpiredKey),
        (headers(&[("x-api-key", "hunter2")]), InvalidReason::MalformedKey),
        (headers(&[("authorization", "Bearer")]), InvalidReason::MalformedHeader),
        (headers(&[("authorization", &format!("Bearer {KEY_A} {KEY_B}"))]), InvalidReason::MalformedHeader),
        (
            headers(&[("authorization", &format!("Bearer {KEY_A}")), ("x-api-key", KEY_B)]),
            InvalidReason::AmbiguousCredentials,
        ),
        (headers(&[("x-api-key", KEY_A), ("x-api-key", KEY_A)]), InvalidReason::AmbiguousCredentials),
    ];
    for (h, reason) in cases {
        assert_eq!(invalid(auth.authenticate(&h).await), reason, "{h:?}");
    }
}

#[tokio::test]
async fn no_credential_is_missing() {
    let (auth, _) = api_key_auth();
    for h in [headers(&[]), headers(&[("authorization", "Basic dXNlcjpwYXNz")]), headers(&[("cookie", KEY_A)])] {
        assert!(matches!(auth.authenticate(&h).await, Err(AuthError::Missing)));
    }
}

#[tokio::test]
async fn non_ascii_header_is_malformed() {
    let (auth, _) = api_key_auth();
    let mut h = HeaderMap::new();
    h.insert("x-api-key", HeaderValue::from_bytes(b"mcpgw_\xff").unwrap());
    assert_eq!(invalid(auth.authenticate(&h).await), InvalidReason::MalformedHeader);
}

#[tokio::test]
async fn scope_requirement_names_the_missing_scope() {
    let (auth, _) = api_key_auth();
    let p = auth.authenticate(&headers(&[("x-api-key", KEY_B)])).await.unwrap();
    assert!(demo_tool(&p.scopes, "demo_add"));
    // Backend items are authorized by their backend (`Scopes::may_reach`), never by a bare scope string.
    assert!(p.require("tool:demo_add").is_err());
    match p.require(crate::auth::CODE_EXECUTE) {
        Err(AuthError::InsufficientScope { scope }) => assert_eq!(scope, "code:execute"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn key_store_down_is_unavailable() {
    let source = Arc::new(MemoryKeySource::new(key_file()));
    source.fail();
    let auth = Authenticator::new(api_key_config(), source, None).unwrap();
    let h = headers(&[("x-api-key", KEY_A)]);
    assert!(matches!(auth.authenticate(&h).await, Err(AuthError::Unavailable(_))));
    // No credential is still "missing", without touching the store.
    assert!(matches!(auth.authenticate(&headers(&[])).await, Err(AuthError::Missing)));
}

#[tokio::test]
async fn oauth_mode_takes_bearer_jwts_only() {
    let auth = oauth_auth();
    let token = mint(&claims(), Some(KID));
    let p = auth.authenticate(&headers(&[("authorization", &format!("Bearer {token}"))])).await.unwrap();
    assert_eq!(
        (p.id.as_str(), p.kind),
        (Principal::jwt(ISSUER, "user-1", Scopes::none()).id.as_str(), PrincipalKind::Jwt)
    );
    // X-API-Key is not a credential in oauth mode, not even with a JWT in it.
    assert!(matches!(auth.authenticate(&headers(&[("x-api-key", &token)])).await, Err(AuthError::Missing)));
    let key = format!("Bearer {KEY_A}");
    assert_eq!(invalid(auth.authenticate(&headers(&[("authorization", &key)])).await), InvalidReason::MalformedToken);
}

#[tokio::test]
async fn none_mode_needs_the_insecure_opt_in() {
    let keys = Arc::new(MemoryKeySource::new(KeyFile::default()));
    let refused = Authenticator::new(none_config(false), keys.clone(), None).unwrap();
    assert!(matches!(refused.authenticate(&headers(&[])).await, Err(AuthError::Refused(_))));
    let open = Authenticator::new(none_config(true), keys, None).unwrap();
    let p = open.authenticate(&headers(&[])).await.unwrap();
    assert_eq!((p.id.as_str(), p.kind), ("anonymous", PrincipalKind::Anonymous));
    assert!(demo_tool(&p.scopes, "anything"));
    assert!(!demo_tool(&Principal::anonymous().scopes, "anything"));
}

#[test]
fn oauth_without_jwks_client_is_a_startup_error() {
    let keys = Arc::new(MemoryKeySource::new(KeyFile::default()));
    assert!(matches!(Authenticator::new(oauth_config(), keys, None), Err(AuthConfigError::NoJwksClient)));
}
