//! Ranked tool search, the one implementation behind `gateway_search_tools` and
//! `GET /api/code/tools/search`.
//!
//! Ranking, in order:
//! 1. the query is a tool's whole name (its exposed name, or its backend's own name: `echo` finds
//!    `demo_echo` and `everything_echo`), separators and case aside;
//! 2. a tool's name starts with the query;
//! 3. every other tool with a BM25 score above zero.
//!
//! Inside a tier tools go by BM25 score, then by name. BM25 (k1 1.2, b 0.75) runs over one weighted bag of
//! words per tool: name ×3, title ×2, input property names ×1.5, description ×1. A query word also matches
//! vocabulary words it is a prefix of (at least 3 characters, at 0.6 of the weight), so `ech` finds
//! `echo`. An empty query lists every tool by name.
//!
//! The index is built once per catalog snapshot; a query touches only the postings of its words, one
//! score slot per tool and one name comparison per tool.

mod tokens;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde_json::{json, Map, Value};

pub use tokens::name_key;

const K1: f32 = 1.2;
const B: f32 = 0.75;
const NAME_WEIGHT: f32 = 3.0;
const TITLE_WEIGHT: f32 = 2.0;
const PROPERTY_WEIGHT: f32 = 1.5;
const DESCRIPTION_WEIGHT: f32 = 1.0;
const PREFIX_WEIGHT: f32 = 0.6;
/// Shortest query word that also matches longer words it starts.
const MIN_PREFIX: usize = 3;
/// Vocabulary words one query word may expand to by prefix.
const MAX_EXPANSIONS: usize = 50;
/// Longest summary description, in characters.
const SUMMARY_CHARS: usize = 160;

/// One tool of a catalog: its `tools/list` entry (exposed name), the backend serving it and the
/// backend's own name for it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub tool: Value,
    pub backend: String,
    pub original: String,
}

impl Entry {
    pub fn name(&self) -> &str {
        self.tool.get("name").and_then(Value::as_str).unwrap_or_default()
    }
}

/// How much of each tool a result shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The name only.
    Name,
    /// Name, title and the first sentence of the description.
    Summary,
    /// The whole `tools/list` entry: schemas and annotations included.
    Schema,
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct Query<'q> {
    pub text: &'q str,
    /// Only tools of this backend (by id).
    pub backend: Option<&'q str>,
    pub offset: usize,
    pub limit: usize,
}

/// One page of hits, best first, and how many there are in all.
pub struct Page<'i> {
    pub hits: Vec<&'i Entry>,
    pub total: usize,
}

/// The searchable form of a catalog.
pub struct SearchIndex {
    /// Sorted by exposed name.
    entries: Vec<Entry>,
    /// Per entry: (name key of the exposed name, name key of the backend's own name).
    keys: Vec<(String, String)>,
    /// Per entry: weighted length of its bag of words.
    lengths: Vec<f32>,
    average_length: f32,
    /// Sorted vocabulary, and per word the (entry, weighted term frequency) pairs.
    vocabulary: Vec<String>,
    postings: Vec<Vec<(u32, f32)>>,
}

impl SearchIndex {
    pub fn build(mut entries: Vec<Entry>) -> Self {
        entries.sort_by(|a, b| a.name().cmp(b.name()));
        entries.dedup_by(|a, b| a.name() == b.name());
        let mut by_word: HashMap<String, Vec<(u32, f32)>> = HashMap::new();
        let mut lengths = Vec::with_capacity(entries.len());
        let mut keys = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let mut bag: HashMap<String, f32> = HashMap::new();
            let mut add = |text: &str, weight: f32| tokens::each(text, |w| *bag.entry(w).or_default() += weight);
            let tool = &entry.tool;
            let text = |pointer: &str| tool.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
            add(entry.name(), NAME_WEIGHT);
            add(text("/title"), TITLE_WEIGHT);
            if tool.get("title").is_none() {
                add(text("/annotations/title"), TITLE_WEIGHT);
            }
            add(text("/description"), DESCRIPTION_WEIGHT);
            if let Some(properties) = tool.pointer("/inputSchema/properties").and_then(Value::as_object) {
                properties.keys().for_each(|p| add(p, PROPERTY_WEIGHT));
            }
            lengths.push(bag.values().sum());
            for (word, tf) in bag {
                by_word.entry(word).or_default().push((i as u32, tf));
            }
            keys.push((name_key(entry.name()), name_key(&entry.original)));
        }
        let average_length = match lengths.len() {
            0 => 1.0,
            n => (lengths.iter().sum::<f32>() / n as f32).max(1.0),
        };
        let mut words: Vec<(String, Vec<(u32, f32)>)> = by_word.into_iter().collect();
        words.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let (vocabulary, postings) = words.into_iter().unzip();
        Self { entries, keys, lengths, average_length, vocabulary, postings }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The tool exposed as `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.binary_search_by(|e| e.name().cmp(name)).ok().map(|i| &self.entries[i])
    }

    /// The page of tools matching `query` among those `keep` accepts.
    pub fn search(&self, query: &Query<'_>, keep: impl Fn(&Entry) -> bool) -> Page<'_> {
        let wanted = |i: usize| {
            let entry = &self.entries[i];
            query.backend.is_none_or(|b| entry.backend == b) && keep(entry)
        };
        let key = name_key(query.text);
        if key.is_empty() {
            let all: Vec<&Entry> = (0..self.entries.len()).filter(|&i| wanted(i)).map(|i| &self.entries[i]).collect();
            return page(all, query);
        }
        let scores = self.scores(query.text);
        let mut ranked: Vec<(u8, f32, usize)> = (0..self.entries.len())
            .filter_map(|i| {
                let (exposed, original) = &self.keys[i];
                let tier = if *exposed == key || *original == key {
                    0
                } else if exposed.starts_with(&key) || original.starts_with(&key) {
                    1
                } else if scores[i] > 0.0 {
                    2
                } else {
                    return None;
                };
                wanted(i).then_some((tier, scores[i], i))
            })
            .collect();
        // Entries are sorted by name, so the index breaks ties by name.
        ranked.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
        page(ranked.into_iter().map(|(_, _, i)| &self.entries[i]).collect(), query)
    }

    /// BM25 score of every entry for the words of `text`.
    fn scores(&self, text: &str) -> Vec<f32> {
        let mut scores = vec![0.0f32; self.entries.len()];
        let mut words = tokens::words(text);
        words.sort_unstable();
        words.dedup();
        for word in &words {
            let start = self.vocabulary.partition_point(|v| v.as_str() < word.as_str());
            let matching = self.vocabulary[start..].iter().take_while(|v| v.starts_with(word.as_str()));
            for (offset, vocabulary_word) in matching.enumerate().take(MAX_EXPANSIONS + 1) {
                let weight = if vocabulary_word == word {
                    1.0
                } else if word.chars().count() >= MIN_PREFIX {
                    PREFIX_WEIGHT
                } else {
                    break;
                };
                let postings = &self.postings[start + offset];
                let n = self.entries.len() as f32;
                let df = postings.len() as f32;
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                for &(i, tf) in postings {
                    let norm = K1 * (1.0 - B + B * self.lengths[i as usize] / self.average_length);
                    scores[i as usize] += weight * idf * tf * (K1 + 1.0) / (tf + norm);
                }
            }
        }
        scores
    }
}

fn page<'i>(all: Vec<&'i Entry>, query: &Query<'_>) -> Page<'i> {
    let total = all.len();
    let hits = all.into_iter().skip(query.offset).take(query.limit).collect();
    Page { hits, total }
}

/// An entry at the chosen detail.
pub fn render(entry: &Entry, detail: Detail) -> Value {
    let tool = &entry.tool;
    match detail {
        Detail::Name => json!({ "name": entry.name() }),
        Detail::Schema => tool.clone(),
        Detail::Summary => {
            let mut out = Map::new();
            out.insert("name".into(), json!(entry.name()));
            if let Some(title) = tool.get("title").or_else(|| tool.pointer("/annotations/title")) {
                out.insert("title".into(), title.clone());
            }
            let description = tool.get("description").and_then(Value::as_str).unwrap_or_default();
            out.insert("description".into(), json!(summary(description)));
            Value::Object(out)
        }
    }
}

/// The first sentence of `text`, cut at a word boundary if it is still longer than `SUMMARY_CHARS`.
pub fn summary(text: &str) -> String {
    let text = text.trim();
    let end = [". ", ".\n", "\n"].iter().filter_map(|s| text.find(s)).min().map(|i| i + 1).unwrap_or(text.len());
    let sentence = text[..end].trim_end();
    if sentence.chars().count() <= SUMMARY_CHARS {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(SUMMARY_CHARS).collect();
    let at_word = cut.rfind(char::is_whitespace).filter(|&i| i > SUMMARY_CHARS / 2).unwrap_or(cut.len());
    format!("{}…", cut[..at_word].trim_end())
}
