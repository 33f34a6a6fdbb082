//! PII configuration and policy: on/off and kinds globally, per backend and per tool, and the per-request
//! opt-out reserved to callers holding `pii:raw`. Parsed once per cold start; every error names the
//! variable and the bad value.

use std::{collections::BTreeMap, time::Duration};

use serde::Deserialize;
use serde_json::Value;

use super::KindSet;
use crate::auth::Scopes;

/// The scope that lets a caller receive raw (untokenized) results when it asks for them.
pub const PII_RAW_SCOPE: &str = "pii:raw";

/// `params._meta` key a caller sets to `"raw"` to ask for untokenized results for one request.
pub const RAW_META_KEY: &str = "mcp-gateway/pii";

/// Tokens a scope may hold by default: far more than a session meets, few enough that a scope filled on
/// purpose stays small (at most ~3 × this many small items, gone with the TTL).
pub const DEFAULT_VAULT_MAX_TOKENS: u64 = 10_000;

/// Whether the caller may opt out of tokenization (`pii:raw`, or a grant covering it: `pii:*`, `*`).
pub fn allows_raw(scopes: &Scopes) -> bool {
    scopes.allows(PII_RAW_SCOPE)
}

/// Whether the request asks for raw results (`"_meta": {"mcp-gateway/pii": "raw"}`). Honour it only when
/// `allows_raw` also holds; otherwise tokenize as usual (asking is not an error, it just is not granted).
pub fn raw_requested(params: &Value) -> bool {
    params.get("_meta").and_then(|m| m.get(RAW_META_KEY)).and_then(Value::as_str) == Some("raw")
}

#[derive(Debug, thiserror::Error)]
pub enum PiiConfigError {
    #[error("{var}: {value:?} is not valid: {reason}")]
    Invalid { var: &'static str, value: String, reason: String },
}

/// One override in `PII_POLICY`: each field, when present, replaces what the level above decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PiiRule {
    pub enabled: Option<bool>,
    pub types: Option<KindSet>,
}

/// Per-backend (by backend id) and per-tool (by exposed tool name, e.g. `demo_echo`) overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PiiPolicy {
    pub backends: BTreeMap<String, PiiRule>,
    pub tools: BTreeMap<String, PiiRule>,
}

/// Everything the `pii` module reads from the environment.
#[derive(Debug, Clone)]
pub struct PiiConfig {
    /// `PII_ENABLED` (default on): tokenize results unless a policy override says otherwise.
    pub enabled: bool,
    /// `PII_TYPES`: comma list of kinds (`EMAIL,PHONE`, `all`, `default`); default all but NAME and ADDRESS.
    pub kinds: KindSet,
    /// `PII_POLICY`: JSON `{"backends":{"<id>":{"enabled":bool,"types":[…]}},"tools":{"<name>":{…}}}`.
    pub policy: PiiPolicy,
    /// `PII_KEY_SECRET_ID` (default `mcp-gateway/pii-key`): Secrets Manager secret the vault key is derived from.
    pub key_secret_id: String,
    /// `TABLE_NAME` (default `mcp-gateway`): where vaults are stored.
    pub table_name: String,
    /// `PII_VAULT_TTL_SECS` (default 86400): how long a token lives after it was minted or last used.
    pub vault_ttl: Duration,
    /// `PII_VAULT_MAX_TOKENS` (default 10000): tokens one scope (session or principal) may hold; past it,
    /// new values in results are redacted and the event is audited and counted (`PiiVaultFull`).
    pub vault_max_tokens: u64,
}

impl PiiConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, PiiConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, PiiConfigError> {
        let get = |var: &str| lookup(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let enabled = match get("PII_ENABLED").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("1" | "true" | "on" | "yes") => true,
            Some("0" | "false" | "off" | "no") => false,
            Some(other) => return Err(invalid("PII_ENABLED", other, "expected 1, true, 0 or false".into())),
        };
        let kinds = match get("PII_TYPES") {
            None => KindSet::defaults(),
            Some(v) => KindSet::parse_list(&v).map_err(|reason| invalid("PII_TYPES", &v, reason))?,
        };
        let policy = match get("PII_POLICY") {
            None => PiiPolicy::default(),
            Some(v) => parse_policy(&v).map_err(|reason| invalid("PII_POLICY", &v, reason))?,
        };
        let ttl = match get("PII_VAULT_TTL_SECS") {
            None => 86_400,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (60..=2_592_000).contains(&n) => n,
                _ => return Err(invalid("PII_VAULT_TTL_SECS", &v, "expected seconds from 60 to 2592000".into())),
            },
        };
        let vault_max_tokens = match get("PII_VAULT_MAX_TOKENS") {
            None => DEFAULT_VAULT_MAX_TOKENS,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if (1..=1_000_000).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "PII_VAULT_MAX_TOKENS",
                        &v,
                        "expected a number of tokens from 1 to 1000000".into(),
                    ))
                }
            },
        };
        Ok(Self {
            enabled,
            kinds,
            policy,
            key_secret_id: get("PII_KEY_SECRET_ID").unwrap_or_else(|| "mcp-gateway/pii-key".into()),
            table_name: get("TABLE_NAME").unwrap_or_else(|| "mcp-gateway".into()),
            vault_ttl: Duration::from_secs(ttl),
            vault_max_tokens,
        })
    }

    /// The kinds to detect in what `tool` (its exposed name; `None` for resources and prompts) of `backend`
    /// (its id) returns. Global settings, then the backend's override, then the tool's. Empty: leave as is.
    pub fn kinds_for(&self, backend: &str, tool: Option<&str>) -> KindSet {
        let mut enabled = self.enabled;
        let mut kinds = self.kinds;
        let rules = [self.policy.backends.get(backend), tool.and_then(|t| self.policy.tools.get(t))];
        for rule in rules.into_iter().flatten() {
            enabled = rule.enabled.unwrap_or(enabled);
            kinds = rule.types.unwrap_or(kinds);
        }
        if enabled {
            kinds
        } else {
            KindSet::empty()
        }
    }

    /// Whether anything can be tokenized at all (globally on, or on for some backend or tool).
    pub fn is_active(&self) -> bool {
        let rules = self.policy.backends.values().chain(self.policy.tools.values());
        self.enabled && !self.kinds.is_empty() || rules.into_iter().any(|r| r.enabled == Some(true))
    }

    /// Every distinct, non-empty kind set `kinds_for` can return; detectors are compiled for each at start-up.
    pub(crate) fn kind_sets(&self) -> Vec<KindSet> {
        let rules = self.policy.backends.values().chain(self.policy.tools.values());
        let mut sets: Vec<KindSet> = std::iter::once(self.kinds).chain(rules.filter_map(|r| r.types)).collect();
        sets.retain(|s| !s.is_empty());
        sets.sort();
        sets.dedup();
        sets
    }
}

fn invalid(var: &'static str, value: &str, reason: String) -> PiiConfigError {
    PiiConfigError::Invalid { var, value: value.to_owned(), reason }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySpec {
    #[serde(default)]
    backends: BTreeMap<String, RuleSpec>,
    #[serde(default)]
    tools: BTreeMap<String, RuleSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    enabled: Option<bool>,
    types: Option<Vec<String>>,
}

fn parse_policy(text: &str) -> Result<PiiPolicy, String> {
    let spec: PolicySpec = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let rules = |level: &str, specs: BTreeMap<String, RuleSpec>| -> Result<BTreeMap<String, PiiRule>, String> {
        specs
            .into_iter()
            .map(|(name, spec)| {
                let types = spec
                    .types
                    .map(|names| names.iter().try_fold(KindSet::empty(), |set, n| Ok(set.with(KindSet::parse_one(n)?))))
                    .transpose()
                    .map_err(|e: String| format!("{level}.{name}.types: {e}"))?;
                Ok((name, PiiRule { enabled: spec.enabled, types }))
            })
            .collect()
    };
    Ok(PiiPolicy { backends: rules("backends", spec.backends)?, tools: rules("tools", spec.tools)? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::PiiKind;

    fn config(vars: &[(&str, &str)]) -> Result<PiiConfig, PiiConfigError> {
        PiiConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_tokenize_every_default_kind_everywhere() {
        let c = config(&[]).unwrap();
        assert!(c.enabled && c.is_active());
        assert_eq!(c.kinds_for("demo", Some("demo_echo")), KindSet::defaults());
        assert_eq!(c.key_secret_id, "mcp-gateway/pii-key");
        assert_eq!(c.vault_ttl, Duration::from_secs(86_400));
        assert_eq!(c.vault_max_tokens, 10_000);
        assert_eq!(config(&[("PII_VAULT_MAX_TOKENS", "25")]).unwrap().vault_max_tokens, 25);
        assert_eq!(c.kind_sets(), vec![KindSet::defaults()]);
    }

    #[test]
    fn tool_overrides_beat_backend_overrides_which_beat_the_global_setting() {
        let policy = r#"{"backends":{"demo":{"enabled":true},"crm":{"types":["EMAIL","PHONE"]},"off":{"enabled":false}},
            "tools":{"demo_echo":{"types":["EMAIL"]},"off_tool":{"enabled":true}}}"#;
        let c = config(&[("PII_ENABLED", "0"), ("PII_POLICY", policy)]).unwrap();
        let email: KindSet = [PiiKind::Email].into_iter().collect();
        assert!(c.kinds_for("other", Some("other_x")).is_empty());
        assert_eq!(c.kinds_for("demo", Some("demo_add")), KindSet::defaults());
        assert_eq!(c.kinds_for("demo", Some("demo_echo")), email);
        // Types alone do not switch on what the global setting switched off.
        assert!(c.kinds_for("crm", None).is_empty());
        assert_eq!(c.kinds_for("off", Some("off_tool")), KindSet::defaults());
        assert!(c.is_active());
        assert_eq!(c.kind_sets().len(), 3);
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        let err = config(&[("PII_TYPES", "EMAIL,PASSPORT")]).unwrap_err().to_string();
        assert!(err.contains("PII_TYPES") && err.contains("PASSPORT"), "{err}");
        let err = config(&[("PII_POLICY", r#"{"tools":{"t":{"types":["NOPE"]}}}"#)]).unwrap_err().to_string();
        assert!(err.contains("PII_POLICY") && err.contains("tools.t.types") && err.contains("NOPE"), "{err}");
        let err = config(&[("PII_POLICY", r#"{"tool":{}}"#)]).unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{err}");
        assert!(config(&[("PII_ENABLED", "maybe")]).unwrap_err().to_string().contains("PII_ENABLED"));
        assert!(config(&[("PII_VAULT_TTL_SECS", "5")]).unwrap_err().to_string().contains("PII_VAULT_TTL_SECS"));
        for bad in ["0", "-1", "lots", "1000001"] {
            let err = config(&[("PII_VAULT_MAX_TOKENS", bad)]).unwrap_err().to_string();
            assert!(err.contains("PII_VAULT_MAX_TOKENS") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn disabled_everywhere_is_inactive() {
        assert!(!config(&[("PII_ENABLED", "false")]).unwrap().is_active());
        assert!(!config(&[("PII_TYPES", " ")]).unwrap().kinds.is_empty(), "blank means the default");
    }

    #[test]
    fn raw_results_need_both_the_request_and_the_scope() {
        let params = serde_json::json!({"name": "t", "_meta": {"mcp-gateway/pii": "raw"}});
        assert!(raw_requested(&params));
        assert!(!raw_requested(&serde_json::json!({"name": "t"})));
        assert!(allows_raw(&Scopes::from_space_separated("tool:call pii:raw")));
        assert!(allows_raw(&Scopes::from_space_separated("pii:*")));
        assert!(!allows_raw(&Scopes::from_space_separated("tool:call")));
    }
}
