//! Detectors: one multi-pattern scan over the text, then per-candidate validation.
//!
//! All enabled patterns are compiled into a single `regex_automata::meta::Regex` (the engine behind the
//! `regex` crate). Unlike `regex::RegexSet`, a multi-pattern meta regex reports *which* pattern matched
//! *where*, so one left-to-right pass of its lazy DFA finds every candidate, whatever the number of kinds.
//! A candidate that fails validation (a Luhn-invalid card) is retried with the other patterns that match
//! at the same position (a phone may start there) — found with one anchored search of a second,
//! all-matches regex over the same patterns — and otherwise the scan resumes one byte later.

mod patterns;
mod validate;

#[cfg(test)]
mod tests;

use std::ops::Range;

use regex_automata::{
    meta::{self, Regex},
    util::syntax,
    Anchored, Input, MatchKind, PatternID, PatternSet,
};

use super::{KindSet, PiiKind};
use patterns::{Check, Pattern, PATTERNS};

/// One value to replace: its kind and byte range in the scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Detection {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

impl Detection {
    #[cfg(test)]
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// Why the detectors could not be built (a bug in the pattern table, caught by the unit tests).
#[derive(Debug, thiserror::Error)]
#[error("PII detector patterns do not compile: {0}")]
pub struct DetectorBuildError(#[source] Box<meta::BuildError>);

/// The compiled detectors for one set of kinds. Built once per cold start and shared by all requests.
pub(crate) struct Scanner {
    /// Leftmost-first over all patterns: the scan.
    regex: Regex,
    /// The same patterns with all-matches semantics, only searched anchored: which patterns match at a
    /// position where the first candidate failed validation.
    set: Regex,
    /// By pattern id: the lookalike pattern first, then the enabled entries of `PATTERNS`.
    patterns: Vec<&'static Pattern>,
}

/// The lookalike pattern has no entry in `PATTERNS`; its kind comes from the matched text.
static LOOKALIKE: Pattern = Pattern { kind: PiiKind::Email, check: Check::Lookalike, regex: "" };

impl Scanner {
    pub fn new(kinds: KindSet) -> Result<Self, DetectorBuildError> {
        let lookalike = patterns::lookalike_regex();
        let mut sources: Vec<&str> = vec![&lookalike];
        let mut table: Vec<&'static Pattern> = vec![&LOOKALIKE];
        for pattern in PATTERNS.iter().filter(|p| kinds.contains(p.kind)) {
            sources.push(pattern.regex);
            table.push(pattern);
        }
        let build = |kind: MatchKind| {
            Regex::builder()
                .syntax(syntax::Config::new().unicode(false).utf8(true))
                // A bigger lazy-DFA cache than the default: with many patterns the DFA has more states, and a
                // cache that keeps being cleared makes the engine give up the DFA for the much slower PikeVM.
                .configure(Regex::config().match_kind(kind).hybrid_cache_capacity(8 << 20))
                .build_many(&sources)
                .map_err(|e| DetectorBuildError(Box::new(e)))
        };
        Ok(Self { regex: build(MatchKind::LeftmostFirst)?, set: build(MatchKind::All)?, patterns: table })
    }

    /// Every accepted detection in `hay`, in order, not overlapping.
    pub fn scan(&self, hay: &str, out: &mut Vec<Detection>) {
        let mut at = 0;
        while at < hay.len() {
            let Some(found) = self.regex.search(&Input::new(hay).range(at..)) else {
                return;
            };
            let (start, end) = (found.start(), found.end());
            if let Some(detection) = self.accept(hay, found.pattern(), start..end) {
                out.push(detection);
                at = end.max(start + 1);
                continue;
            }
            if let Some((detection, end)) = self.retry(hay, start, found.pattern()) {
                out.push(detection);
                at = end;
                continue;
            }
            // Every pattern starts with an ASCII byte, so `start + 1` is a character boundary.
            at = start + 1;
        }
    }

    /// The other patterns that match at `start`, in priority order; the first valid one wins.
    fn retry(&self, hay: &str, start: usize, failed: PatternID) -> Option<(Detection, usize)> {
        let mut matching = PatternSet::new(self.patterns.len());
        self.set.which_overlapping_matches(&Input::new(hay).range(start..).anchored(Anchored::Yes), &mut matching);
        matching.iter().filter(|&pid| pid != failed).find_map(|pid| {
            let input = Input::new(hay).range(start..).anchored(Anchored::Pattern(pid));
            let found = self.regex.search(&input)?;
            self.accept(hay, pid, found.range()).map(|d| (d, found.end()))
        })
    }

    fn accept(&self, hay: &str, pid: PatternID, span: Range<usize>) -> Option<Detection> {
        let pattern = self.patterns.get(pid.as_usize())?;
        let kind = match pattern.check {
            Check::Lookalike => super::token::parse_kind(&hay[span.clone()])?,
            _ => pattern.kind,
        };
        let range = validate::check(pattern.check, hay, span)?;
        Some(Detection { kind, start: range.start, end: range.end })
    }
}
