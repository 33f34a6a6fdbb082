//! Values restored into a call's arguments, found again by their exact text in what comes back.
//!
//! A backend that echoes its input hands the client the very value a token stood for, in any shape:
//! `[EMAIL_1].png` comes back as `jane@example.com.png`, which no detector takes for an address. So
//! everything tokenized after a restore is searched for the restored values themselves (and for their
//! JSON-escaped form, for an echo inside JSON text), with one Aho-Corasick automaton: linear in the text
//! whatever the number of values.

use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};

use super::PiiKind;

/// One restored value and the token it came from.
#[derive(Debug, Clone)]
pub(crate) struct Echo {
    pub kind: PiiKind,
    pub number: u32,
}

/// The values one request restored. `Debug` shows counts only.
#[derive(Default)]
pub(crate) struct Restored {
    echoes: Vec<Echo>,
    /// Searched texts, each with the index of its echo (a value can have two: raw and JSON-escaped).
    patterns: Vec<(String, usize)>,
    /// Built on first use after a change.
    matcher: Option<AhoCorasick>,
}

impl std::fmt::Debug for Restored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restored").field("values", &self.echoes.len()).finish()
    }
}

impl Restored {
    pub fn is_empty(&self) -> bool {
        self.echoes.is_empty()
    }

    pub fn get(&self, index: usize) -> &Echo {
        &self.echoes[index]
    }

    /// Remembers a restored value (once, however often it was restored).
    pub fn add(&mut self, kind: PiiKind, number: u32, value: &str) {
        if value.is_empty() || self.echoes.iter().any(|e| e.kind == kind && e.number == number) {
            return;
        }
        let index = self.echoes.len();
        self.echoes.push(Echo { kind, number });
        self.patterns.push((value.to_owned(), index));
        // Inside JSON text (`"{\"key\":\"-----BEGIN…\\n…\"}"`) a value with quotes, backslashes or control
        // characters appears escaped.
        if let Ok(quoted) = serde_json::to_string(value) {
            let escaped = &quoted[1..quoted.len() - 1];
            if escaped != value {
                self.patterns.push((escaped.to_owned(), index));
            }
        }
        self.matcher = None;
    }

    /// Every occurrence in `text`, leftmost-longest and not overlapping, with the index of its echo.
    pub fn find(&mut self, text: &str) -> Vec<(Range<usize>, usize)> {
        if self.echoes.is_empty() {
            return Vec::new();
        }
        if self.matcher().is_none() {
            return Vec::new();
        }
        let (Some(matcher), patterns) = (&self.matcher, &self.patterns) else {
            return Vec::new();
        };
        matcher.find_iter(text).map(|m| (m.range(), patterns[m.pattern().as_usize()].1)).collect()
    }

    /// The echo whose value is exactly `text` (a JSON number's text).
    pub fn exact(&self, text: &str) -> Option<usize> {
        self.patterns.iter().find(|(p, _)| p == text).map(|(_, i)| *i)
    }

    fn matcher(&mut self) -> Option<&AhoCorasick> {
        if self.matcher.is_none() {
            let built = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(self.patterns.iter().map(|(p, _)| p.as_str()));
            match built {
                Ok(matcher) => self.matcher = Some(matcher),
                // Only for absurd pattern sets (beyond the automaton's size limits): the callers then fall
                // back to treating every restored value as unknown text, so say it loudly.
                Err(error) => tracing::error!(%error, "PII: cannot build the restored-value matcher"),
            }
        }
        self.matcher.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_leftmost_longest_and_their_escaped_form() {
        let mut restored = Restored::default();
        restored.add(PiiKind::Email, 1, "jane@example.com");
        restored.add(PiiKind::Email, 2, "jane@example.com.au");
        restored.add(PiiKind::PrivateKey, 1, "-----BEGIN\n\"k\"");
        restored.add(PiiKind::Email, 1, "jane@example.com");
        let text = r#"jane@example.com.png, jane@example.com.au {"k":"-----BEGIN\n\"k\""}"#;
        let found: Vec<_> = restored.find(text).into_iter().map(|(r, i)| (&text[r], i)).collect();
        assert_eq!(found, vec![("jane@example.com", 0), ("jane@example.com.au", 1), (r#"-----BEGIN\n\"k\""#, 2)]);
        assert_eq!(restored.exact("jane@example.com"), Some(0));
        assert_eq!(restored.exact("jane@example.co"), None);
        assert!(!format!("{restored:?}").contains("jane"));
    }

    #[test]
    fn nothing_restored_finds_nothing() {
        let mut restored = Restored::default();
        restored.add(PiiKind::Email, 1, "");
        assert!(restored.is_empty() && restored.find("anything").is_empty());
    }
}
