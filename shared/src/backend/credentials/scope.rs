//! Which Secrets Manager secrets a backend's `auth` may name: only those under the deployment's
//! backend-secret prefix (`GATEWAY_BACKEND_SECRETS_PREFIX`; the template sets `<stack>/backends/` and
//! grants the `mcp` function read access to exactly that prefix), and never the gateway's own secrets
//! (the API keys, the PII key), whatever the prefix. Checked when the backends document is loaded, so a
//! document naming another secret stops the function at cold start with the field named, instead of
//! turning the gateway's credentials into a backend's.

/// The default prefix, beside the defaults of `API_KEYS_SECRET_ID` and `PII_KEY_SECRET_ID`.
pub const DEFAULT_PREFIX: &str = "mcp-gateway/backends/";

/// The rule every backend secret reference is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretScope {
    prefix: String,
    /// The gateway's own secrets (names or ARNs), which no backend may name.
    reserved: Vec<String>,
}

impl Default for SecretScope {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.into(),
            reserved: vec!["mcp-gateway/api-keys".into(), "mcp-gateway/pii-key".into()],
        }
    }
}

/// Characters Secrets Manager allows in a secret name.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

/// The secret name a reference (name or ARN) stands for.
fn name_of(reference: &str) -> Result<&str, String> {
    let Some(arn) = reference.strip_prefix("arn:") else { return Ok(reference) };
    // arn:<partition>:secretsmanager:<region>:<account>:secret:<name>
    let parts: Vec<&str> = arn.splitn(5, ':').collect();
    match parts.as_slice() {
        [_, "secretsmanager", _, _, rest] => rest.strip_prefix("secret:").ok_or(()),
        _ => Err(()),
    }
    .map_err(|()| format!("{reference:?} is not a Secrets Manager secret ARN"))
}

/// `name` without the `-XXXXXX` suffix Secrets Manager appends to names in ARNs, if it has one.
fn without_arn_suffix(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((base, suffix)) if suffix.len() == 6 && suffix.chars().all(|c| c.is_ascii_alphanumeric()) => base,
        _ => name,
    }
}

/// Whether two references may name the same secret (conservatively: an ARN suffix is ignored).
fn same_secret(a: &str, b: &str) -> bool {
    let (Ok(a), Ok(b)) = (name_of(a), name_of(b)) else { return false };
    a == b || without_arn_suffix(a) == b || a == without_arn_suffix(b) || without_arn_suffix(a) == without_arn_suffix(b)
}

impl SecretScope {
    /// The scope of prefix `prefix`, protecting `reserved`; the error says why the prefix is refused.
    pub fn new(prefix: &str, reserved: Vec<String>) -> Result<Self, String> {
        if prefix.is_empty() || prefix.len() > 256 || !prefix.chars().all(name_char) {
            return Err("must be 1-256 characters of a Secrets Manager name ([A-Za-z0-9/_+=.@-])".into());
        }
        for secret in &reserved {
            let name = name_of(secret).unwrap_or(secret);
            if name.starts_with(prefix) || without_arn_suffix(name).starts_with(prefix) {
                return Err(format!("covers the gateway's own secret {secret:?}: backends could read it"));
            }
        }
        Ok(Self { prefix: prefix.to_owned(), reserved })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `Ok` if a backend may use the secret `reference` (a name or an ARN), else why not.
    pub fn check(&self, reference: &str) -> Result<(), String> {
        let name = name_of(reference)?;
        if name.is_empty() || name.len() > 512 || !name.chars().all(name_char) {
            return Err(format!("{reference:?} is not a Secrets Manager secret name"));
        }
        if self.reserved.iter().any(|own| same_secret(reference, own)) {
            return Err(format!("{reference:?} is one of the gateway's own secrets, never a backend's"));
        }
        if !name.starts_with(&self.prefix) {
            return Err(format!(
                "{reference:?} is not under the backend-secret prefix {:?} (GATEWAY_BACKEND_SECRETS_PREFIX)",
                self.prefix
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> SecretScope {
        SecretScope::new(
            "stack/backends/",
            vec![
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stack/api-keys-AbC123".into(),
                "stack/pii-key".into(),
            ],
        )
        .unwrap()
    }

    #[test]
    fn names_and_arns_under_the_prefix_pass() {
        let s = scope();
        assert!(s.check("stack/backends/github").is_ok());
        assert!(s.check("arn:aws:secretsmanager:eu-west-1:123456789012:secret:stack/backends/gh-x1Y2z3").is_ok());
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        let s = scope();
        for (reference, why) in [
            ("stack/api-keys", "gateway's own"),
            ("arn:aws:secretsmanager:eu-west-1:123456789012:secret:stack/pii-key-Zz9999", "gateway's own"),
            ("other-stack/backends/github", "not under"),
            ("stack/backend/github", "not under"),
            ("arn:aws:ssm:eu-west-1:1:parameter/stack/backends/x", "not a Secrets Manager secret ARN"),
            ("stack/backends/a b", "not a Secrets Manager secret name"),
        ] {
            let err = s.check(reference).unwrap_err();
            assert!(err.contains(why), "{reference}: {err}");
        }
    }

    #[test]
    fn a_prefix_covering_the_gateway_s_own_secrets_is_refused() {
        assert!(SecretScope::new("stack/", vec!["stack/api-keys".into()]).unwrap_err().contains("stack/api-keys"));
        assert!(SecretScope::new("", vec![]).is_err());
        assert!(SecretScope::new("*", vec![]).is_err());
    }
}
