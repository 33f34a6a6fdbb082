//! What in a document is to be replaced: per string, key or number, the spans of restored values (exact
//! text) and of detected values, merged so that no restored value is ever left in place.
//!
//! Merging, per text: a restored occurrence strictly inside a longer detection goes with the detection (its
//! token hides both); otherwise the restored occurrence wins, and a detection it cuts into is dropped — the
//! texts between restored occurrences are then scanned again on their own, so the rest of a cut value is
//! still found if it is PII by itself. A number is replaced when its whole text is a restored value or when a
//! detector fires in it.

use std::{collections::HashSet, ops::Range};

use serde_json::Value;

use super::{detect::Scanner, echo::Restored, token, walk, PiiKind};

/// Where a replaced span's token comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// A restored value (index into `Restored`): its token is known.
    Restored(usize),
    /// A detected value of this kind: looked up or minted.
    Detected(PiiKind),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    pub range: Range<usize>,
    pub source: Source,
}

/// The spans of every text that has any (by visit index, in order) and the distinct detected values in
/// document order (so that numbers follow the order a reader meets them).
#[derive(Default)]
pub(crate) struct Found {
    pub leaves: Vec<(usize, Vec<Span>)>,
    pub detected: Vec<(PiiKind, String)>,
}

impl Found {
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }
}

/// Scans `value` (not changed). `scanner` is `None` when the policy detects nothing here: restored values
/// are still found, since the policy never meant to let them back out. With `keep_tokens`, canonical tokens
/// (`[EMAIL_1]`) are left as they are instead of being taken for lookalikes.
pub(crate) fn find(scanner: Option<&Scanner>, restored: &mut Restored, keep_tokens: bool, value: &mut Value) -> Found {
    let mut found = Found::default();
    let mut seen: HashSet<(PiiKind, String)> = HashSet::new();
    walk::rewrite_leaves(value, &mut |index, text, number| {
        let mut spans =
            if number { number_spans(scanner, restored, text) } else { text_spans(scanner, restored, text) };
        if keep_tokens {
            spans
                .retain(|s| !matches!(s.source, Source::Detected(_)) || token::parse(&text[s.range.clone()]).is_none());
        }
        if spans.is_empty() {
            return None;
        }
        for span in &spans {
            if let Source::Detected(kind) = span.source {
                let value = &text[span.range.clone()];
                if seen.insert((kind, value.to_owned())) {
                    found.detected.push((kind, value.to_owned()));
                }
            }
        }
        found.leaves.push((index, spans));
        None
    });
    found
}

fn detections(scanner: Option<&Scanner>, text: &str, offset: usize, out: &mut Vec<Span>) {
    let Some(scanner) = scanner else { return };
    let mut hits = Vec::new();
    scanner.scan(text, &mut hits);
    out.extend(
        hits.into_iter().map(|d| Span { range: d.start + offset..d.end + offset, source: Source::Detected(d.kind) }),
    );
}

fn number_spans(scanner: Option<&Scanner>, restored: &Restored, text: &str) -> Vec<Span> {
    if let Some(index) = restored.exact(text) {
        return vec![Span { range: 0..text.len(), source: Source::Restored(index) }];
    }
    let mut spans = Vec::new();
    detections(scanner, text, 0, &mut spans);
    spans
}

fn text_spans(scanner: Option<&Scanner>, restored: &mut Restored, text: &str) -> Vec<Span> {
    let mut detected = Vec::new();
    detections(scanner, text, 0, &mut detected);
    let echoes = restored.find(text);
    if echoes.is_empty() {
        return detected;
    }
    let strictly_inside = |r: &Range<usize>, d: &Range<usize>| d.start <= r.start && r.end <= d.end && r != d;
    let kept: Vec<Span> = echoes
        .into_iter()
        .filter(|(r, _)| !detected.iter().any(|d| strictly_inside(r, &d.range)))
        .map(|(range, index)| Span { range, source: Source::Restored(index) })
        .collect();
    if kept.is_empty() {
        return detected;
    }
    let overlaps = |a: &Range<usize>, b: &Range<usize>| a.start < b.end && b.start < a.end;
    let inside = |d: &Range<usize>, r: &Range<usize>| r.start <= d.start && d.end <= r.end;
    let cut = detected
        .iter()
        .any(|d| kept.iter().any(|k| overlaps(&d.range, &k.range)) && !kept.iter().any(|k| inside(&d.range, &k.range)));
    let mut others = Vec::new();
    if cut {
        // A detection cut by a restored value: scan the texts between restored values on their own.
        let mut from = 0;
        for span in &kept {
            detections(scanner, &text[from..span.range.start], from, &mut others);
            from = span.range.end;
        }
        detections(scanner, &text[from..], from, &mut others);
    } else {
        others = detected.into_iter().filter(|d| !kept.iter().any(|k| overlaps(&d.range, &k.range))).collect();
    }
    let mut spans = kept;
    spans.extend(others);
    spans.sort_by_key(|s| s.range.start);
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pii::KindSet;
    use serde_json::json;

    fn spans(restored: &mut Restored, text: &str) -> Vec<(String, Source)> {
        let scanner = Scanner::new(KindSet::defaults()).unwrap();
        text_spans(Some(&scanner), restored, text).into_iter().map(|s| (text[s.range].to_owned(), s.source)).collect()
    }

    fn restored(values: &[(PiiKind, &str)]) -> Restored {
        let mut restored = Restored::default();
        for (i, (kind, value)) in values.iter().enumerate() {
            restored.add(*kind, i as u32 + 1, value);
        }
        restored
    }

    #[test]
    fn a_restored_value_is_found_where_no_detector_fires() {
        let mut r = restored(&[(PiiKind::Email, "jane@example.com")]);
        assert_eq!(spans(&mut r, "jane@example.com.png"), vec![("jane@example.com".into(), Source::Restored(0))]);
    }

    #[test]
    fn a_longer_detection_takes_the_restored_value_with_it() {
        let mut r = restored(&[(PiiKind::Email, "jane@example.com")]);
        let expected = vec![("bob.jane@example.com".to_owned(), Source::Detected(PiiKind::Email))];
        assert_eq!(spans(&mut r, "bob.jane@example.com"), expected);
        // Same span: the restored value wins (its token is known, no lookup).
        assert_eq!(spans(&mut r, "to jane@example.com"), vec![("jane@example.com".into(), Source::Restored(0))]);
    }

    #[test]
    fn a_cut_detection_leaves_no_pii_in_the_rest() {
        // The restored value cuts into the IPv4 address; the text before it is scanned on its own.
        let mut r = restored(&[(PiiKind::Phone, "4.5 +1 415 555 2671")]);
        let found = spans(&mut r, "mail a@example.com 10.0.4.5 +1 415 555 2671");
        assert_eq!(
            found,
            vec![
                ("a@example.com".to_owned(), Source::Detected(PiiKind::Email)),
                ("4.5 +1 415 555 2671".to_owned(), Source::Restored(0)),
            ]
        );
    }

    #[test]
    fn numbers_are_replaced_when_restored_or_detected() {
        let scanner = Scanner::new(KindSet::defaults()).unwrap();
        let mut r = restored(&[(PiiKind::Phone, "14155550142")]);
        let mut doc = json!({"phone": 14155550142u64, "card": 4111111111111111u64, "n": 42, "other": 141555501420u64});
        let found = find(Some(&scanner), &mut r, false, &mut doc);
        let leaves: Vec<_> = found.leaves.iter().map(|(i, s)| (*i, s[0].source)).collect();
        assert_eq!(leaves, vec![(1, Source::Restored(0)), (3, Source::Detected(PiiKind::CreditCard))]);
        assert_eq!(found.detected, vec![(PiiKind::CreditCard, "4111111111111111".to_owned())]);
    }

    #[test]
    fn without_detectors_restored_values_are_still_found() {
        let mut r = restored(&[(PiiKind::Email, "jane@example.com")]);
        let mut doc = json!({"jane@example.com": "x jane@example.com 415-555-2671"});
        let found = find(None, &mut r, false, &mut doc);
        assert_eq!(found.leaves.len(), 2);
        assert!(found.detected.is_empty());
    }
}
