//! The labelled corpus (`testdata/corpus.jsonl`): positives with the values they must yield and tricky
//! negatives (order ids, timestamps, versions, Luhn-invalid numbers, UUIDs, dates) that must yield none.
//! Prints precision and recall per kind (`cargo test -p mcp-gateway-shared corpus -- --nocapture`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{detect::Scanner, KindSet, PiiKind};

#[derive(Deserialize)]
struct Case {
    text: String,
    expect: Vec<Expected>,
    #[serde(default)]
    note: String,
}

#[derive(Deserialize, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Expected {
    r#type: String,
    value: String,
}

#[derive(Default)]
struct Score {
    true_positives: usize,
    false_positives: usize,
    false_negatives: usize,
}

#[test]
fn corpus_precision_and_recall() {
    // Every kind, the off-by-default ones included: the negatives must not trip them either.
    let scanner = Scanner::new(KindSet::all()).unwrap();
    let mut scores: BTreeMap<String, Score> =
        PiiKind::ALL.iter().map(|k| (k.name().to_owned(), Score::default())).collect();
    let mut negative_hits = Vec::new();
    let mut unexpected_misses = Vec::new();
    let cases: Vec<Case> = include_str!("testdata/corpus.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad corpus line {l}: {e}")))
        .collect();
    for case in &cases {
        let mut out = Vec::new();
        scanner.scan(&case.text, &mut out);
        let mut got: Vec<Expected> = out
            .iter()
            .map(|d| Expected { r#type: d.kind.name().to_owned(), value: case.text[d.range()].to_owned() })
            .collect();
        got.sort();
        let mut expected = case.expect.clone();
        expected.sort();
        for g in &got {
            let score = scores.entry(g.r#type.clone()).or_default();
            if expected.contains(g) {
                score.true_positives += 1;
            } else {
                score.false_positives += 1;
                if case.expect.is_empty() {
                    negative_hits.push(format!("{:?} ({}): {} {:?}", case.text, case.note, g.r#type, g.value));
                }
            }
        }
        for e in expected.iter().filter(|e| !got.contains(e)) {
            scores.entry(e.r#type.clone()).or_default().false_negatives += 1;
            if !case.note.starts_with("known miss") {
                unexpected_misses.push(format!("{:?}: {} {:?}", case.text, e.r#type, e.value));
            }
        }
    }

    println!("{:<16} {:>4} {:>4} {:>4} {:>10} {:>7}", "type", "tp", "fp", "fn", "precision", "recall");
    for (kind, s) in &scores {
        let precision = ratio(s.true_positives, s.true_positives + s.false_positives);
        let recall = ratio(s.true_positives, s.true_positives + s.false_negatives);
        println!(
            "{kind:<16} {:>4} {:>4} {:>4} {precision:>10.3} {recall:>7.3}",
            s.true_positives, s.false_positives, s.false_negatives
        );
    }
    let negatives = cases.iter().filter(|c| c.expect.is_empty()).count();
    println!("{} cases, {negatives} negatives", cases.len());

    assert!(negative_hits.is_empty(), "false positives on negatives:\n{}", negative_hits.join("\n"));
    assert!(unexpected_misses.is_empty(), "positives not found:\n{}", unexpected_misses.join("\n"));
    let false_positives: usize = scores.values().map(|s| s.false_positives).sum();
    assert_eq!(false_positives, 0, "no detection outside the labels");
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        1.0
    } else {
        n as f64 / d as f64
    }
}
