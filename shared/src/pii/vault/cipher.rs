//! Vault encryption and keyed hashing: XChaCha20-Poly1305 and HMAC-SHA256 under two keys derived with
//! HKDF-SHA256 from the Secrets Manager secret.
//!
//! - XChaCha's 192-bit nonces are drawn at random for every seal: no counter to keep across instances,
//!   and no realistic chance of a repeat.
//! - The associated data names what an item is (its scope and its token, or its fingerprint): an item
//!   copied under another key — another scope's, another token's — fails to decrypt instead of resolving.
//! - The HMAC key makes item keys (scope ids and value fingerprints) unguessable without the secret: the
//!   table holds no personal data in clear, not even in its keys.
//! - A sealed item starts with a format byte, so a later format or key version can be told apart.

use chacha20poly1305::{
    aead::{Aead, Payload},
    KeyInit, XChaCha20Poly1305, XNonce,
};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const FORMAT_V2: u8 = 2;
const NONCE_LEN: usize = 24;
const AAD_PREFIX: &[u8] = b"mcp-gateway/pii-vault/v2\0";

/// Why the key could not be made, or an item sealed or opened. Never carries key or plaintext bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("the PII key secret must be at least {0} characters")]
    SecretTooShort(usize),
    #[error("the operating system's random generator failed")]
    Random,
    /// Wrong key, tampered item, or an item that belongs to another scope or token.
    #[error("the PII vault cannot be decrypted")]
    Open,
}

/// The vault keys, derived once per cold start. `Debug` shows nothing of them.
#[derive(Clone)]
pub struct VaultKey {
    cipher: XChaCha20Poly1305,
    mac: Hmac<Sha256>,
}

impl VaultKey {
    /// Shortest accepted secret: 32 characters of a random secret carry well over 128 bits.
    pub const MIN_SECRET_LEN: usize = 32;

    /// Derives the 256-bit keys from the secret text (e.g. 64 random characters). HKDF makes any
    /// high-entropy secret uniform keys and names their purposes, so the same secret could never be
    /// reused as the key of something else by accident.
    pub fn derive(secret: &str) -> Result<Self, CipherError> {
        let secret = secret.trim();
        if secret.chars().count() < Self::MIN_SECRET_LEN {
            return Err(CipherError::SecretTooShort(Self::MIN_SECRET_LEN));
        }
        let hkdf = Hkdf::<Sha256>::new(Some(b"mcp-gateway"), secret.as_bytes());
        let mut key = [0u8; 32];
        hkdf.expand(b"pii-vault xchacha20poly1305 v1", &mut key).map_err(|_| CipherError::Random)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&key).map_err(|_| CipherError::Random);
        hkdf.expand(b"pii-vault item keys hmac-sha256 v1", &mut key).map_err(|_| CipherError::Random)?;
        let mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&key).map_err(|_| CipherError::Random);
        key.fill(0);
        Ok(Self { cipher: cipher?, mac: mac? })
    }

    /// HMAC-SHA256 of `parts`, each length-prefixed so that no two lists of parts hash alike.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Seals `plaintext` with a fresh nonce; `context` (what the item is) is authenticated, not stored.
    pub(crate) fn seal(&self, context: &[&[u8]], plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| CipherError::Random)?;
        let aad = aad(context);
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| CipherError::Random)?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(FORMAT_V2);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens what `seal` made under the same `context`; anything else is `CipherError::Open`.
    pub(crate) fn open(&self, context: &[&[u8]], sealed: &[u8]) -> Result<Vec<u8>, CipherError> {
        let (&format, rest) = sealed.split_first().ok_or(CipherError::Open)?;
        if format != FORMAT_V2 || rest.len() < NONCE_LEN {
            return Err(CipherError::Open);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| CipherError::Open)?;
        self.cipher.decrypt(&nonce, Payload { msg: ciphertext, aad: &aad(context) }).map_err(|_| CipherError::Open)
    }
}

fn aad(context: &[&[u8]]) -> Vec<u8> {
    let mut aad = AAD_PREFIX.to_vec();
    for part in context {
        aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01";

    #[test]
    fn sealed_items_open_only_under_the_same_context_and_key() {
        let key = VaultKey::derive(SECRET).unwrap();
        let blob = key.seal(&[b"session-a", b"[EMAIL_1]"], b"value").unwrap();
        assert_eq!(key.open(&[b"session-a", b"[EMAIL_1]"], &blob).unwrap(), b"value");
        assert_eq!(key.open(&[b"session-b", b"[EMAIL_1]"], &blob), Err(CipherError::Open));
        assert_eq!(key.open(&[b"session-a", b"[EMAIL_2]"], &blob), Err(CipherError::Open));
        // Length prefixes: moving bytes between parts changes the context.
        assert_eq!(key.open(&[b"session-a[", b"EMAIL_1]"], &blob), Err(CipherError::Open));
        let other = VaultKey::derive(&SECRET.replace('0', "1")).unwrap();
        assert_eq!(other.open(&[b"session-a", b"[EMAIL_1]"], &blob), Err(CipherError::Open));
        let mut tampered = blob.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open(&[b"session-a", b"[EMAIL_1]"], &tampered), Err(CipherError::Open));
        assert_eq!(key.open(&[b"session-a", b"[EMAIL_1]"], &blob[..10]), Err(CipherError::Open));
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let key = VaultKey::derive(SECRET).unwrap();
        assert_ne!(key.seal(&[b"s"], b"x").unwrap(), key.seal(&[b"s"], b"x").unwrap());
    }

    #[test]
    fn item_hashes_depend_on_the_key_and_on_part_boundaries() {
        let key = VaultKey::derive(SECRET).unwrap();
        assert_eq!(key.mac(&[b"a", b"bc"]), key.mac(&[b"a", b"bc"]));
        assert_ne!(key.mac(&[b"a", b"bc"]), key.mac(&[b"ab", b"c"]));
        let other = VaultKey::derive(&SECRET.replace('0', "1")).unwrap();
        assert_ne!(key.mac(&[b"a"]), other.mac(&[b"a"]));
    }

    #[test]
    fn short_secrets_are_refused_and_the_key_never_prints() {
        assert_eq!(VaultKey::derive("too short").err(), Some(CipherError::SecretTooShort(32)));
        assert_eq!(format!("{:?}", VaultKey::derive(SECRET).unwrap()), "VaultKey(<redacted>)");
    }
}
