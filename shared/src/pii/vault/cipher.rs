//! Vault encryption: XChaCha20-Poly1305 under a key derived with HKDF-SHA256 from the Secrets Manager
//! secret, with the scope id as associated data.
//!
//! - XChaCha's 192-bit nonces are drawn at random for every write: no counter to keep across instances,
//!   and no realistic chance of a repeat.
//! - The associated data binds a blob to its scope: a blob copied into another session's item (by anyone
//!   with write access to the table) fails to decrypt instead of resolving that session's tokens.
//! - The blob starts with a format byte, so a later format or key version can be told apart.

use chacha20poly1305::{
    aead::{Aead, Payload},
    KeyInit, XChaCha20Poly1305, XNonce,
};
use hkdf::Hkdf;
use sha2::Sha256;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;
const AAD_PREFIX: &[u8] = b"mcp-gateway/pii-vault/v1\0";

/// Why the key could not be made, or a blob sealed or opened. Never carries key or plaintext bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    #[error("the PII key secret must be at least {0} characters")]
    SecretTooShort(usize),
    #[error("the operating system's random generator failed")]
    Random,
    /// Wrong key, tampered blob, or a blob that belongs to another scope.
    #[error("the PII vault cannot be decrypted")]
    Open,
}

/// The vault key, derived once per cold start. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct VaultKey {
    cipher: XChaCha20Poly1305,
}

impl VaultKey {
    /// Shortest accepted secret: 32 characters of a random secret carry well over 128 bits.
    pub const MIN_SECRET_LEN: usize = 32;

    /// Derives the 256-bit key from the secret text (e.g. 64 random characters). HKDF makes any
    /// high-entropy secret a uniform key and names its purpose, so the same secret could never be
    /// reused as the key of something else by accident.
    pub fn derive(secret: &str) -> Result<Self, CipherError> {
        let secret = secret.trim();
        if secret.chars().count() < Self::MIN_SECRET_LEN {
            return Err(CipherError::SecretTooShort(Self::MIN_SECRET_LEN));
        }
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"mcp-gateway"), secret.as_bytes())
            .expand(b"pii-vault xchacha20poly1305 v1", &mut key)
            .map_err(|_| CipherError::Random)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&key).map_err(|_| CipherError::Random);
        key.fill(0);
        Ok(Self { cipher: cipher? })
    }

    pub(crate) fn seal(&self, scope_id: &str, plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| CipherError::Random)?;
        let aad = aad(scope_id);
        let ciphertext = self
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| CipherError::Random)?;
        let mut blob = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        blob.push(FORMAT_V1);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        Ok(blob)
    }

    pub(crate) fn open(&self, scope_id: &str, blob: &[u8]) -> Result<Vec<u8>, CipherError> {
        let (&format, rest) = blob.split_first().ok_or(CipherError::Open)?;
        if format != FORMAT_V1 || rest.len() < NONCE_LEN {
            return Err(CipherError::Open);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| CipherError::Open)?;
        self.cipher.decrypt(&nonce, Payload { msg: ciphertext, aad: &aad(scope_id) }).map_err(|_| CipherError::Open)
    }
}

fn aad(scope_id: &str) -> Vec<u8> {
    [AAD_PREFIX, scope_id.as_bytes()].concat()
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
    fn sealed_blobs_open_only_under_the_same_scope_and_key() {
        let key = VaultKey::derive(SECRET).unwrap();
        let blob = key.seal("session-a", b"secret map").unwrap();
        assert_eq!(key.open("session-a", &blob).unwrap(), b"secret map");
        assert_eq!(key.open("session-b", &blob), Err(CipherError::Open));
        let other = VaultKey::derive(&SECRET.replace('0', "1")).unwrap();
        assert_eq!(other.open("session-a", &blob), Err(CipherError::Open));
        let mut tampered = blob.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(key.open("session-a", &tampered), Err(CipherError::Open));
        assert_eq!(key.open("session-a", &blob[..10]), Err(CipherError::Open));
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let key = VaultKey::derive(SECRET).unwrap();
        assert_ne!(key.seal("s", b"x").unwrap(), key.seal("s", b"x").unwrap());
    }

    #[test]
    fn short_secrets_are_refused_and_the_key_never_prints() {
        assert_eq!(VaultKey::derive("too short").err(), Some(CipherError::SecretTooShort(32)));
        assert_eq!(format!("{:?}", VaultKey::derive(SECRET).unwrap()), "VaultKey(<redacted>)");
    }
}
