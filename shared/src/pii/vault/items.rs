//! The items of one scope: their keys, and their contents sealed to what they are.
//!
//! - `pii#<scope>` the meta item, `pii#<scope>#t#EMAIL_3` a token, `pii#<scope>#f#<fingerprint>` a value's
//!   fingerprint. `<scope>` and `<fingerprint>` are 128-bit keyed hashes (hex) of the scope id and of
//!   (scope id, kind, value): no id or value appears in a key, and nobody without the secret can compute
//!   which item holds what. Every key starts with `pii#`, so a policy can confine a role to vault items.
//! - A token item holds the value sealed with (scope id, token text) as associated data; a fingerprint item
//!   holds the token number sealed with (scope id, its key). An item moved to another key does not open.

use super::VaultKey;
use crate::pii::{token, PiiError, PiiKind};

/// Bytes of a keyed hash kept in an item key: 128 bits, collision-free for any realistic scope.
const KEY_HASH_BYTES: usize = 16;

pub(crate) struct ScopeItems<'k> {
    key: &'k VaultKey,
    scope_id: String,
    prefix: String,
}

impl<'k> ScopeItems<'k> {
    pub fn new(key: &'k VaultKey, scope_id: &str) -> Self {
        let hash = key.mac(&[b"scope", scope_id.as_bytes()]);
        Self { key, scope_id: scope_id.to_owned(), prefix: format!("pii#{}", hex::encode(&hash[..KEY_HASH_BYTES])) }
    }

    pub fn scope_id(&self) -> &str {
        &self.scope_id
    }

    pub fn meta_key(&self) -> String {
        self.prefix.clone()
    }

    pub fn token_key(&self, kind: PiiKind, n: u32) -> String {
        format!("{}#t#{}_{n}", self.prefix, kind.name())
    }

    pub fn fingerprint_key(&self, kind: PiiKind, value: &str) -> String {
        let hash = self.key.mac(&[b"value", self.scope_id.as_bytes(), kind.name().as_bytes(), value.as_bytes()]);
        format!("{}#f#{}", self.prefix, hex::encode(&hash[..KEY_HASH_BYTES]))
    }

    pub fn seal_value(&self, kind: PiiKind, n: u32, value: &str) -> Result<Vec<u8>, PiiError> {
        let token = token::format(kind, n);
        Ok(self.key.seal(&[b"token", self.scope_id.as_bytes(), token.as_bytes()], value.as_bytes())?)
    }

    /// The value a token item holds. Refuses (`Undecryptable`) an item sealed for another token or scope.
    pub fn open_value(&self, kind: PiiKind, n: u32, sealed: &[u8]) -> Result<String, PiiError> {
        let token = token::format(kind, n);
        let plaintext = self.key.open(&[b"token", self.scope_id.as_bytes(), token.as_bytes()], sealed)?;
        String::from_utf8(plaintext).map_err(|_| PiiError::Corrupt)
    }

    pub fn seal_number(&self, fingerprint_key: &str, n: u32) -> Result<Vec<u8>, PiiError> {
        let context: [&[u8]; 3] = [b"fingerprint", self.scope_id.as_bytes(), fingerprint_key.as_bytes()];
        Ok(self.key.seal(&context, &n.to_be_bytes())?)
    }

    /// The token number a fingerprint item holds.
    pub fn open_number(&self, fingerprint_key: &str, sealed: &[u8]) -> Result<u32, PiiError> {
        let context: [&[u8]; 3] = [b"fingerprint", self.scope_id.as_bytes(), fingerprint_key.as_bytes()];
        let plaintext = self.key.open(&context, sealed)?;
        let bytes: [u8; 4] = plaintext.as_slice().try_into().map_err(|_| PiiError::Corrupt)?;
        match u32::from_be_bytes(bytes) {
            n @ 1..=super::MAX_NUMBER => Ok(n),
            _ => Err(PiiError::Corrupt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> VaultKey {
        VaultKey::derive("items-test-secret-0123456789abcdefghijklmnopqrstuvwxyz").unwrap()
    }

    #[test]
    fn keys_hold_no_id_or_value_and_differ_per_scope() {
        let key = key();
        let (a, b) = (ScopeItems::new(&key, "principal:jane@example.com"), ScopeItems::new(&key, "session:s2"));
        let fingerprint = a.fingerprint_key(PiiKind::Email, "jane@example.com");
        for k in [a.meta_key(), a.token_key(PiiKind::Email, 3), fingerprint.clone()] {
            assert!(k.starts_with("pii#") && !k.contains("jane") && !k.contains("example"), "{k}");
        }
        assert!(a.token_key(PiiKind::Email, 3).ends_with("#t#EMAIL_3"));
        assert_eq!(fingerprint, a.fingerprint_key(PiiKind::Email, "jane@example.com"), "stable");
        assert_ne!(fingerprint, b.fingerprint_key(PiiKind::Email, "jane@example.com"));
        assert_ne!(fingerprint, a.fingerprint_key(PiiKind::Name, "jane@example.com"));
        assert_ne!(a.meta_key(), b.meta_key());
    }

    #[test]
    fn items_open_only_as_what_they_were_sealed_as() {
        let key = key();
        let (a, b) = (ScopeItems::new(&key, "session:a"), ScopeItems::new(&key, "session:b"));
        let sealed = a.seal_value(PiiKind::Email, 1, "jane@example.com").unwrap();
        assert_eq!(a.open_value(PiiKind::Email, 1, &sealed).unwrap(), "jane@example.com");
        assert!(matches!(a.open_value(PiiKind::Email, 2, &sealed), Err(PiiError::Undecryptable)));
        assert!(matches!(a.open_value(PiiKind::Phone, 1, &sealed), Err(PiiError::Undecryptable)));
        assert!(matches!(b.open_value(PiiKind::Email, 1, &sealed), Err(PiiError::Undecryptable)));

        let (f1, f2) = (a.fingerprint_key(PiiKind::Email, "x@y.io"), a.fingerprint_key(PiiKind::Email, "z@y.io"));
        let number = a.seal_number(&f1, 7).unwrap();
        assert_eq!(a.open_number(&f1, &number).unwrap(), 7);
        assert!(matches!(a.open_number(&f2, &number), Err(PiiError::Undecryptable)), "swapped fingerprints");
        assert!(matches!(b.open_number(&f1, &number), Err(PiiError::Undecryptable)));
    }
}
