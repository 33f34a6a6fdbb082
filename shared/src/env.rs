//! Reading settings from the environment (or any lookup, so tests need not touch the process
//! environment). Every error names the variable and the bad value, so a misconfigured deployment fails
//! at cold start with a message an operator can act on.

use std::{ops::RangeInclusive, time::Duration};

/// A setting with a value the gateway cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {value:?} is not valid: {reason}")]
pub struct EnvError {
    pub var: &'static str,
    pub value: String,
    pub reason: String,
}

impl EnvError {
    pub fn new(var: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { var, value: value.into(), reason: reason.into() }
    }
}

/// Settings read through a lookup function; values are trimmed and empty ones count as unset.
pub struct Env<F> {
    lookup: F,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(lookup: F) -> Self {
        Self { lookup }
    }

    /// The value of `var`, trimmed; `None` when unset or blank.
    pub fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// A whole number within `range`, or `default` when unset.
    pub fn number(&self, var: &'static str, default: u64, range: RangeInclusive<u64>) -> Result<u64, EnvError> {
        let Some(value) = self.get(var) else { return Ok(default) };
        match value.parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(EnvError::new(
                var,
                value,
                format!("expected a whole number from {} to {}", range.start(), range.end()),
            )),
        }
    }

    /// Seconds within `range`, or `default` when unset.
    pub fn secs(&self, var: &'static str, default: u64, range: RangeInclusive<u64>) -> Result<Duration, EnvError> {
        self.number(var, default, range).map(Duration::from_secs)
    }

    /// An on/off switch: `1`/`true`/`on`/`yes` or `0`/`false`/`off`/`no` (any case), or `default`.
    pub fn flag(&self, var: &'static str, default: bool) -> Result<bool, EnvError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "on" | "yes") => Ok(true),
            Some("0" | "false" | "off" | "no") => Ok(false),
            Some(other) => Err(EnvError::new(var, other, "expected 1/0, true/false, on/off")),
        }
    }

    /// A comma-separated list, trimmed and lowercased, empty entries dropped.
    pub fn lowercase_list(&self, var: &str) -> Vec<String> {
        self.get(var)
            .map(|v| v.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn numbers_are_checked_against_their_range() {
        let e = env(&[("A", " 7 "), ("B", "0"), ("C", "lots"), ("D", "")]);
        assert_eq!(e.number("A", 1, 1..=10), Ok(7));
        assert_eq!(e.number("D", 3, 1..=10), Ok(3));
        let err = e.number("B", 1, 1..=10).unwrap_err().to_string();
        assert!(err.starts_with("B: \"0\"") && err.contains("from 1 to 10"), "{err}");
        assert!(e.number("C", 1, 1..=10).is_err());
    }

    #[test]
    fn flags_accept_the_usual_spellings_only() {
        let e = env(&[("A", "ON"), ("B", "no"), ("C", "maybe")]);
        assert_eq!((e.flag("A", false), e.flag("B", true), e.flag("Z", true)), (Ok(true), Ok(false), Ok(true)));
        assert_eq!(e.flag("C", true).unwrap_err().var, "C");
    }

    #[test]
    fn lists_are_trimmed_and_lowercased() {
        assert_eq!(env(&[("L", " LocalHost, 127.0.0.1 ,")]).lowercase_list("L"), ["localhost", "127.0.0.1"]);
    }
}
