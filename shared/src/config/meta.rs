//! How much of the tool catalog `tools/list` shows (`GATEWAY_TOOLS_MODE`, `GATEWAY_PINNED_TOOLS`), the
//! limits of the gateway's meta-tools, and the result cache behind `gateway_call_tool(s)`
//! (`GATEWAY_RESULT_CACHE*`). Parsed once at cold start; every error names the variable and the value.

use std::time::Duration;

use serde_json::Value;

use crate::env::{Env, EnvError};

/// What `tools/list` shows of the backends' tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolsMode {
    /// Every tool the caller may call (and the gateway's own tools).
    Full,
    /// Only the gateway's own tools and the pinned backend tools: the rest are found with
    /// `gateway_search_tools` and stay callable by name.
    Lite,
    /// Lite for a caller who may call more backend tools than the threshold, full otherwise.
    Auto { threshold: usize },
}

/// Which tools' results `gateway_call_tool(s)` may cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CachePolicy {
    /// No cache (the default): no read, no write.
    Off,
    /// Tools whose annotations declare both `readOnlyHint` and `idempotentHint`, and the listed ones.
    Annotated,
    /// Only the tools listed in `GATEWAY_RESULT_CACHE_TOOLS` (annotations are the backend's claim).
    Listed,
}

/// The result cache's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultCacheConfig {
    /// `GATEWAY_RESULT_CACHE`: `off` (default), `annotated` or `listed`.
    pub policy: CachePolicy,
    /// `GATEWAY_RESULT_CACHE_TOOLS`: exposed names (or `prefix*`) whose results may be cached.
    pub tools: Vec<String>,
    /// `GATEWAY_RESULT_CACHE_TTL_SECS` (default 300, at most 3600; never longer than the PII vault's TTL).
    pub ttl: Duration,
    /// `GATEWAY_RESULT_CACHE_MAX_BYTES` (default 64 KiB): larger results are not stored.
    pub max_bytes: usize,
}

impl ResultCacheConfig {
    /// Whether a result of `tool` may be cached, as far as can be told without its definition.
    pub fn may_cover(&self, tool: &str) -> bool {
        match self.policy {
            CachePolicy::Off => false,
            CachePolicy::Listed => matches_any(&self.tools, tool),
            CachePolicy::Annotated => true,
        }
    }

    /// Whether a result of `tool` (exposed name, its listed definition) may be cached.
    pub fn covers(&self, tool: &str, definition: &Value) -> bool {
        let hinted = |hint: &str| definition.pointer(&format!("/annotations/{hint}")) == Some(&Value::Bool(true));
        match self.policy {
            CachePolicy::Off => false,
            CachePolicy::Listed => matches_any(&self.tools, tool),
            CachePolicy::Annotated => {
                matches_any(&self.tools, tool) || (hinted("readOnlyHint") && hinted("idempotentHint"))
            }
        }
    }
}

/// The meta-tools and the listing mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaConfig {
    /// `GATEWAY_TOOLS_MODE`: `full` (default), `lite` or `auto` (with `GATEWAY_TOOLS_AUTO_THRESHOLD`,
    /// default 40 tools).
    pub mode: ToolsMode,
    /// `GATEWAY_PINNED_TOOLS`: backend tools listed in lite mode too (exposed names, or `prefix*`).
    pub pinned: Vec<String>,
    /// `GATEWAY_CALL_TOOLS_MAX` (default 10, at most 50): calls in one `gateway_call_tools` request.
    pub max_calls: usize,
    pub cache: ResultCacheConfig,
}

impl Default for MetaConfig {
    fn default() -> Self {
        Self {
            mode: ToolsMode::Full,
            pinned: Vec::new(),
            max_calls: 10,
            cache: ResultCacheConfig {
                policy: CachePolicy::Off,
                tools: Vec::new(),
                ttl: Duration::from_secs(300),
                max_bytes: 64 << 10,
            },
        }
    }
}

impl MetaConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let env = Env::new(&lookup);
        let threshold = env.number("GATEWAY_TOOLS_AUTO_THRESHOLD", 40, 0..=100_000)? as usize;
        let mode = match env.get("GATEWAY_TOOLS_MODE").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("full") => ToolsMode::Full,
            Some("lite") => ToolsMode::Lite,
            Some("auto") => ToolsMode::Auto { threshold },
            Some(other) => return Err(EnvError::new("GATEWAY_TOOLS_MODE", other, "expected full, lite or auto")),
        };
        let policy = match env.get("GATEWAY_RESULT_CACHE").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("off") => CachePolicy::Off,
            Some("annotated") => CachePolicy::Annotated,
            Some("listed") => CachePolicy::Listed,
            Some(other) => {
                return Err(EnvError::new("GATEWAY_RESULT_CACHE", other, "expected off, annotated or listed"))
            }
        };
        Ok(Self {
            mode,
            pinned: names(&env, "GATEWAY_PINNED_TOOLS")?,
            max_calls: env.number("GATEWAY_CALL_TOOLS_MAX", 10, 1..=50)? as usize,
            cache: ResultCacheConfig {
                policy,
                tools: names(&env, "GATEWAY_RESULT_CACHE_TOOLS")?,
                ttl: env.secs("GATEWAY_RESULT_CACHE_TTL_SECS", 300, 1..=3_600)?,
                // DynamoDB's item limit is 400 KB, attribute names and key included.
                max_bytes: env.number("GATEWAY_RESULT_CACHE_MAX_BYTES", 64 << 10, 1_024..=350 << 10)? as usize,
            },
        })
    }

    /// Whether a caller who may call `visible` backend tools gets the lite listing.
    pub fn is_lite(&self, visible: usize) -> bool {
        match self.mode {
            ToolsMode::Full => false,
            ToolsMode::Lite => true,
            ToolsMode::Auto { threshold } => visible > threshold,
        }
    }

    /// Whether the backend tool exposed as `name` is listed in lite mode too.
    pub fn is_pinned(&self, name: &str) -> bool {
        matches_any(&self.pinned, name)
    }
}

/// A comma list of exposed tool names, each optionally ending in `*` (a prefix).
fn names(env: &Env<impl Fn(&str) -> Option<String>>, var: &'static str) -> Result<Vec<String>, EnvError> {
    let Some(value) = env.get(var) else { return Ok(Vec::new()) };
    let mut names = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let stem = name.strip_suffix('*').unwrap_or(name);
        let valid = stem.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !valid || name.len() > 128 {
            let reason = "expected exposed tool names ([A-Za-z0-9_.-], at most 128), each optionally ending in *";
            return Err(EnvError::new(var, name, reason));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

fn matches_any(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => p == name,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<MetaConfig, EnvError> {
        MetaConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_are_full_listing_and_no_cache() {
        let c = config(&[]).unwrap();
        assert_eq!(c, MetaConfig::default());
        assert!(!c.is_lite(10_000));
        assert!(!c.cache.covers("x", &json!({"annotations": {"readOnlyHint": true, "idempotentHint": true}})));
    }

    #[test]
    fn auto_mode_turns_lite_above_its_threshold() {
        let c = config(&[("GATEWAY_TOOLS_MODE", "AUTO"), ("GATEWAY_TOOLS_AUTO_THRESHOLD", "3")]).unwrap();
        assert!(!c.is_lite(3) && c.is_lite(4));
        assert!(config(&[("GATEWAY_TOOLS_MODE", "lite")]).unwrap().is_lite(0));
    }

    #[test]
    fn pinned_names_take_prefixes_and_refuse_junk() {
        let c = config(&[("GATEWAY_PINNED_TOOLS", "demo_echo, gh_*")]).unwrap();
        assert!(c.is_pinned("demo_echo") && c.is_pinned("gh_search") && !c.is_pinned("demo_add"));
        let err = config(&[("GATEWAY_PINNED_TOOLS", "ok, bad name")]).unwrap_err();
        assert_eq!((err.var, err.value.as_str()), ("GATEWAY_PINNED_TOOLS", "bad name"));
    }

    #[test]
    fn cache_policies_choose_annotations_or_the_list() {
        let both = json!({"annotations": {"readOnlyHint": true, "idempotentHint": true}});
        let read_only = json!({"annotations": {"readOnlyHint": true}});
        let c = config(&[("GATEWAY_RESULT_CACHE", "annotated"), ("GATEWAY_RESULT_CACHE_TOOLS", "demo_add")]).unwrap();
        assert!(
            c.cache.covers("x", &both) && !c.cache.covers("x", &read_only) && c.cache.covers("demo_add", &json!({}))
        );
        let c = config(&[("GATEWAY_RESULT_CACHE", "listed"), ("GATEWAY_RESULT_CACHE_TOOLS", "demo_*")]).unwrap();
        assert!(!c.cache.covers("x", &both) && c.cache.covers("demo_add", &json!({})));
        assert!(c.cache.may_cover("demo_add") && !c.cache.may_cover("x"));
        assert!(!MetaConfig::default().cache.may_cover("demo_add"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("GATEWAY_TOOLS_MODE", "some"),
            ("GATEWAY_RESULT_CACHE", "yes"),
            ("GATEWAY_CALL_TOOLS_MAX", "0"),
            ("GATEWAY_RESULT_CACHE_TTL_SECS", "86400"),
            ("GATEWAY_RESULT_CACHE_MAX_BYTES", "10000000"),
        ] {
            assert_eq!(config(&[(var, value)]).unwrap_err().var, var);
        }
    }
}
