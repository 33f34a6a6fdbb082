//! JWT verification and JWKS caching, with the checked-in test RSA key.

use std::sync::Arc;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::{io::AsyncWriteExt, net::TcpListener};

use super::*;
use crate::auth::testing::{
    b64, claims, demo_tool, mint, mint_with, oauth_config, ATTACKER_PEM, ISSUER, JWKS, KID, PUBLIC_PEM,
};
use crate::{auth::PrincipalKind, backend::NetworkPolicy};

fn jwks_doc() -> Value {
    serde_json::from_str(JWKS).unwrap()
}

fn verifier_with(jwks: Arc<MemoryJwks>) -> JwtVerifier {
    let config = oauth_config().oauth.unwrap();
    JwtVerifier::new(config, JwksClient::with_fetcher(jwks))
}

fn verifier() -> (JwtVerifier, Arc<MemoryJwks>) {
    let jwks = Arc::new(MemoryJwks::new(jwks_doc()));
    (verifier_with(jwks.clone()), jwks)
}

fn with(changes: Value) -> Value {
    let mut c = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

async fn reason_for(token: &str) -> InvalidReason {
    let (v, _) = verifier();
    match v.verify(token).await {
        Err(AuthError::Invalid(reason)) => reason,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn accepts_valid_rs256_token() {
    let (v, _) = verifier();
    let claims = with(json!({"scope": null, "scp": ["tool:demo_add", "code:execute"]}));
    let p = v.verify(&mint(&claims, Some(KID))).await.unwrap();
    assert_eq!(p.kind, PrincipalKind::Jwt);
    assert!(p.id.starts_with("jwt:") && p.id.ends_with(":user-1"), "{}", p.id);
    assert_eq!(p.id, Principal::jwt(ISSUER, "user-1", Scopes::none()).id);
    assert!(demo_tool(&p.scopes, "demo_add") && !demo_tool(&p.scopes, "demo_echo"));
    assert!(p.scopes.allows(crate::auth::CODE_EXECUTE));
}

#[tokio::test]
async fn scopes_from_scope_string_and_scp_string() {
    let (v, _) = verifier();
    let token = mint(&with(json!({"scope": "tool:a tool:b", "scp": "gateway:call"})), Some(KID));
    let p = v.verify(&token).await.unwrap();
    assert_eq!(p.scopes.iter().collect::<Vec<_>>(), ["gateway:call", "tool:a", "tool:b"]);
}

#[tokio::test]
async fn rejects_expired_and_not_yet_valid_tokens() {
    let now = crate::store::now_secs();
    let expired = mint(&with(json!({"exp": now - 120})), Some(KID));
    assert_eq!(reason_for(&expired).await, InvalidReason::TokenExpired);
    let future = mint(&with(json!({"nbf": now + 600})), Some(KID));
    assert_eq!(reason_for(&future).await, InvalidReason::TokenNotYetValid);
    // Within the 60 s leeway both are still fine.
    let (v, _) = verifier();
    assert!(v.verify(&mint(&with(json!({"exp": now - 30})), Some(KID))).await.is_ok());
    assert!(v.verify(&mint(&with(json!({"nbf": now + 30})), Some(KID))).await.is_ok());
}

#[tokio::test]
async fn rejects_wrong_issuer_and_audience() {
    let wrong_iss = mint(&with(json!({"iss": "https://evil.example.com"})), Some(KID));
    assert_eq!(reason_for(&wrong_iss).await, InvalidReason::WrongIssuer);
    let wrong_aud = mint(&with(json!({"aud": "https://other.example.com/mcp"})), Some(KID));
    assert_eq!(reason_for(&wrong_aud).await, InvalidReason::WrongAudience);
    let list_aud = mint(&with(json!({"aud": ["https://other.example.com", "https://gw.example.com/mcp"]})), Some(KID));
    let (v, _) = verifier();
    assert!(v.verify(&list_aud).await.is_ok());
}

#[tokio::test]
async fn rejects_tokens_missing_required_claims() {
    for claim in ["exp", "iss", "aud", "sub"] {
        let token = mint(&with(json!({ claim: null })), Some(KID));
        assert_eq!(reason_for(&token).await, InvalidReason::MissingClaim, "{claim}");
    }
}

#[tokio::test]
async fn rejects_alg_none() {
    let header = b64(br#"{"alg":"none","typ":"JWT","kid":"gw-test-1"}"#);
    let payload = b64(claims().to_string().as_bytes());
    for token in [format!("{header}.{payload}."), format!("{header}.{payload}")] {
        assert_eq!(reason_for(&token).await, InvalidReason::MalformedToken);
    }
}

#[tokio::test]
async fn rejects_hs256_signed_with_the_public_key() {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(KID.into());
    let forged = encode(&header, &claims(), &EncodingKey::from_secret(PUBLIC_PEM)).unwrap();
    assert_eq!(reason_for(&forged).await, InvalidReason::AlgorithmNotAllowed);

    // Even if configuration let HS256 through, an RSA key never verifies an HMAC signature.
    let mut config = oauth_config().oauth.unwrap();
    config.algorithms.push(Algorithm::HS256);
    let v = JwtVerifier::new(config, JwksClient::with_fetcher(Arc::new(MemoryJwks::new(jwks_doc()))));
    assert!(matches!(v.verify(&forged).await, Err(AuthError::Invalid(InvalidReason::AlgorithmNotAllowed))));
}

#[tokio::test]
async fn rejects_tampered_and_foreign_signatures() {
    let token = mint(&claims(), Some(KID));
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{rest}.{flipped}{}", &signature[1..]);
    assert_eq!(reason_for(&tampered).await, InvalidReason::BadSignature);

    let (header, _) = rest.split_once('.').unwrap();
    let elevated = format!("{header}.{}.{signature}", b64(with(json!({"sub": "admin"})).to_string().as_bytes()));
    assert_eq!(reason_for(&elevated).await, InvalidReason::BadSignature);

    let foreign = mint_with(&claims(), Some(KID), Algorithm::RS256, ATTACKER_PEM);
    assert_eq!(reason_for(&foreign).await, InvalidReason::BadSignature);
}

#[tokio::test]
async fn rejects_algorithms_not_pinned() {
    let ps256 = mint_with(&claims(), Some(KID), Algorithm::PS256, crate::auth::testing::PRIVATE_PEM);
    assert_eq!(reason_for(&ps256).await, InvalidReason::AlgorithmNotAllowed);
}

#[tokio::test]
async fn rejects_garbage() {
    for token in ["", "abc", "a.b.c", "....", &"x".repeat(20_000)] {
        assert_eq!(reason_for(token).await, InvalidReason::MalformedToken, "{token:.20}");
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_kid_triggers_one_refresh_then_rejects() {
    let (v, jwks) = verifier();
    assert!(v.verify(&mint(&claims(), Some(KID))).await.is_ok());
    assert_eq!(jwks.fetches(), 1);

    let unknown = mint(&claims(), Some("rotated-away"));
    tokio::time::advance(MIN_REFRESH_INTERVAL).await;
    assert!(matches!(v.verify(&unknown).await, Err(AuthError::Invalid(InvalidReason::UnknownKeyId))));
    assert_eq!(jwks.fetches(), 2);
    // A second unknown kid within the interval does not fetch again.
    assert!(matches!(v.verify(&unknown).await, Err(AuthError::Invalid(InvalidReason::UnknownKeyId))));
    assert!(v.verify(&mint(&claims(), Some(KID))).await.is_ok());
    assert_eq!(jwks.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn rotated_key_is_picked_up_on_first_use() {
    let (v, jwks) = verifier();
    assert!(v.verify(&mint(&claims(), Some(KID))).await.is_ok());
    let mut rotated = jwks_doc();
    rotated["keys"][0]["kid"] = json!("gw-test-2");
    jwks.set(Some(rotated));
    tokio::time::advance(MIN_REFRESH_INTERVAL).await;
    assert!(v.verify(&mint(&claims(), Some("gw-test-2"))).await.is_ok());
    assert_eq!(jwks.fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn jwks_down_at_cold_start_is_unavailable_and_outage_later_keeps_keys() {
    let jwks = Arc::new(MemoryJwks::new(jwks_doc()));
    jwks.set(None);
    let v = verifier_with(jwks.clone());
    assert!(matches!(v.verify(&mint(&claims(), Some(KID))).await, Err(AuthError::Unavailable(_))));
    jwks.set(Some(jwks_doc()));
    tokio::time::advance(jwks::RETRY_AFTER_FAILURE).await;
    assert!(v.verify(&mint(&claims(), Some(KID))).await.is_ok());
    // The issuer goes down; cached keys keep working past the max age.
    jwks.set(None);
    tokio::time::advance(jwks::MAX_AGE).await;
    assert!(v.verify(&mint(&claims(), Some(KID))).await.is_ok());
}

#[tokio::test]
async fn symmetric_and_encryption_keys_in_the_jwks_are_ignored() {
    let doc = json!({"keys": [
        {"kty": "oct", "kid": KID, "k": b64(PUBLIC_PEM), "alg": "HS256"},
        {"kty": "RSA", "kid": "enc", "use": "enc", "n": jwks_doc()["keys"][0]["n"], "e": "AQAB"},
        {"kty": "weird"},
    ]});
    let v = verifier_with(Arc::new(MemoryJwks::new(doc)));
    let enc = mint(&claims(), Some("enc"));
    assert!(matches!(v.verify(&enc).await, Err(AuthError::Invalid(InvalidReason::UnknownKeyId))));
}

#[tokio::test]
async fn token_without_kid_uses_the_only_key() {
    let (v, _) = verifier();
    assert!(v.verify(&mint(&claims(), None)).await.is_ok());
}

/// Serves one canned HTTP response on loopback and returns the URL.
async fn one_shot_server(response: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut buf).await;
            let _ = socket.write_all(&response).await;
            let _ = socket.shutdown().await;
        }
    });
    format!("http://{addr}/jwks.json")
}

fn http_response(status: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut r =
        format!("HTTP/1.1 {status}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n", body.len()).into_bytes();
    r.extend_from_slice(body);
    r
}

const LOOPBACK: NetworkPolicy = NetworkPolicy { allow_private: false, allow_loopback: true };

#[tokio::test]
async fn http_fetcher_refuses_names_resolving_to_loopback_without_the_opt_in() {
    let url = one_shot_server(http_response("200 OK", "content-type: application/json\r\n", JWKS.as_bytes())).await;
    let by_name = url.replace("127.0.0.1", "localhost");
    let strict = HttpJwksFetcher::new(by_name.clone(), NetworkPolicy::default()).unwrap().fetch().await;
    assert!(matches!(strict, Err(JwksError::Fetch(_))), "the SSRF guard must refuse localhost");
    let doc = HttpJwksFetcher::new(by_name, LOOPBACK).unwrap().fetch().await.unwrap();
    assert_eq!(doc["keys"][0]["kid"], KID);
}

#[tokio::test]
async fn http_fetcher_reads_a_jwks() {
    let url = one_shot_server(http_response("200 OK", "content-type: application/json\r\n", JWKS.as_bytes())).await;
    let doc = HttpJwksFetcher::new(url, LOOPBACK).unwrap().fetch().await.unwrap();
    assert_eq!(doc["keys"][0]["kid"], KID);
}

#[tokio::test]
async fn http_fetcher_refuses_redirects_and_oversized_bodies() {
    let url = one_shot_server(http_response("302 Found", "location: http://127.0.0.1:1/\r\n", b"")).await;
    assert!(matches!(HttpJwksFetcher::new(url, LOOPBACK).unwrap().fetch().await, Err(JwksError::Status(302))));
    let big = vec![b' '; jwks::MAX_JWKS_BYTES + 1];
    let url = one_shot_server(http_response("200 OK", "", &big)).await;
    assert!(matches!(HttpJwksFetcher::new(url, LOOPBACK).unwrap().fetch().await, Err(JwksError::TooLarge(_))));
}

#[tokio::test]
async fn subjects_are_namespaced_by_mode_and_issuer_and_bounded() {
    let (v, _) = verifier();
    // A JWT whose `sub` is an API key's id is not that key's principal.
    let p = v.verify(&mint(&with(json!({"sub": "k_0123456789abcdef"})), Some(KID))).await.unwrap();
    assert_ne!(p.id, Principal::api_key("k_0123456789abcdef", Scopes::none()).id);
    assert_ne!(p.id, "k_0123456789abcdef");
    // The same subject from another issuer is another principal, and no issuer/sub split collides.
    assert_ne!(
        Principal::jwt("https://a", "b:c", Scopes::none()).id,
        Principal::jwt("https://a:b", "c", Scopes::none()).id
    );
    assert_ne!(Principal::jwt(ISSUER, "u", Scopes::none()).id, Principal::jwt("https://other", "u", Scopes::none()).id);
    for sub in ["x".repeat(256), "line\nbreak".to_owned()] {
        let refused = v.verify(&mint(&with(json!({ "sub": sub })), Some(KID))).await;
        assert!(matches!(refused, Err(AuthError::Invalid(InvalidReason::OversizedClaim))), "{refused:?}");
    }
}
