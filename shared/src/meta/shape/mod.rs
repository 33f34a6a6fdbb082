//! Result shaping for `gateway_call_tool(s)`: a tool result cut down to what the model needs before it
//! reaches the model's context, with a report of what was cut.
//!
//! - `fields`: JSON pointers kept from `structuredContent` and from every text block whose text is a JSON
//!   object or array (the text is re-serialised, compactly).
//! - `maxItems`: every array longer than this keeps its first `maxItems` elements — in the JSON documents
//!   above, and the result's `content` list itself.
//! - `maxChars`: every string longer than this keeps its first `maxChars` characters followed by `…`: plain
//!   text blocks, embedded resource texts, and the strings inside the JSON documents (so a JSON text stays
//!   valid JSON).
//!
//! Shaping runs on the result as the caller would have received it, PII already tokenized: a cut never
//! splits a value before the detectors saw it whole. Binary content (`data`, `blob`) is never cut.

mod pointer;

#[cfg(test)]
mod tests;

use serde_json::{json, Value};

pub use pointer::Pointer;
use pointer::{escape, project};

/// Most `fields` pointers in one call.
pub const MAX_FIELDS: usize = 50;
/// Cuts named one by one in the report; the counts cover the rest.
const MAX_REPORTED_CUTS: usize = 10;
/// What a cut string ends with.
const CUT_MARK: char = '…';

/// The shaping a call asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shaping {
    pub fields: Vec<Pointer>,
    pub max_items: Option<usize>,
    pub max_chars: Option<usize>,
}

impl Shaping {
    /// From the call's arguments; an error message the model can act on.
    pub fn new(fields: Option<Vec<String>>, max_items: Option<u64>, max_chars: Option<u64>) -> Result<Self, String> {
        let fields = fields.unwrap_or_default();
        if fields.len() > MAX_FIELDS {
            return Err(format!("fields: at most {MAX_FIELDS} pointers"));
        }
        let fields = fields.iter().map(|f| Pointer::parse(f)).collect::<Result<Vec<_>, _>>()?;
        let max_chars = match max_chars {
            Some(0) => return Err("maxChars must be at least 1".into()),
            other => other,
        };
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Self { fields, max_items: max_items.map(size), max_chars: max_chars.map(size) })
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.max_items.is_none() && self.max_chars.is_none()
    }
}

/// What shaping did, for `_meta`.
#[derive(Default)]
struct Report {
    arrays_cut: usize,
    strings_cut: usize,
    cuts: Vec<Value>,
    /// Per `fields` pointer: whether it selected something in any document.
    matched: Vec<bool>,
    /// Text blocks `fields` could not apply to (not JSON).
    not_json: Vec<String>,
}

impl Report {
    fn cut(&mut self, within: &str, at: &str, unit: &str, kept: usize, of: usize) {
        if unit == "items" {
            self.arrays_cut += 1;
        } else {
            self.strings_cut += 1;
        }
        if self.cuts.len() < MAX_REPORTED_CUTS {
            self.cuts.push(json!({ "in": within, "at": at, unit: [kept, of] }));
        }
    }

    fn to_value(&self, shaping: &Shaping) -> Value {
        let mut report = json!({ "arraysCut": self.arrays_cut, "stringsCut": self.strings_cut });
        if !self.cuts.is_empty() {
            report["cuts"] = json!(self.cuts);
        }
        let missing: Vec<&str> =
            shaping.fields.iter().zip(&self.matched).filter(|(_, hit)| !**hit).map(|(p, _)| p.text.as_str()).collect();
        if !missing.is_empty() {
            report["fieldsMissing"] = json!(missing);
        }
        if !self.not_json.is_empty() {
            report["fieldsNotApplied"] = json!(self.not_json);
        }
        report
    }
}

/// Shapes a `CallToolResult` in place and returns the report (`None` when no shaping was asked for).
pub fn shape(result: &mut Value, shaping: &Shaping) -> Option<Value> {
    if shaping.is_empty() {
        return None;
    }
    let mut report = Report { matched: vec![false; shaping.fields.len()], ..Report::default() };
    if let Some(structured) = result.get_mut("structuredContent") {
        shape_document(structured, "/structuredContent", shaping, &mut report);
    }
    if let Some(Value::Array(blocks)) = result.get_mut("content") {
        if let Some(max) = shaping.max_items.filter(|max| blocks.len() > *max) {
            report.cut("/content", "", "items", max, blocks.len());
            blocks.truncate(max);
        }
        for (i, block) in blocks.iter_mut().enumerate() {
            shape_block(block, i, shaping, &mut report);
        }
    }
    Some(report.to_value(shaping))
}

fn shape_block(block: &mut Value, i: usize, shaping: &Shaping, report: &mut Report) {
    let within = format!("/content/{i}/text");
    if let Some(Value::String(text)) = block.get_mut("text") {
        let trimmed = text.trim_start();
        let json = if trimmed.starts_with('{') || trimmed.starts_with('[') {
            serde_json::from_str::<Value>(text).ok()
        } else {
            None
        };
        match json {
            Some(mut document) => {
                if shape_document(&mut document, &within, shaping, report) {
                    // Re-serialising a `Value` always gives valid JSON.
                    *text = document.to_string();
                }
            }
            None => {
                if !shaping.fields.is_empty() {
                    report.not_json.push(within.clone());
                }
                cut_string(text, &within, "", shaping.max_chars, report);
            }
        }
    }
    if let Some(Value::String(text)) = block.pointer_mut("/resource/text") {
        cut_string(text, &format!("/content/{i}/resource/text"), "", shaping.max_chars, report);
    }
}

/// `fields`, then `maxItems` and `maxChars`, on one JSON document; whether it changed.
fn shape_document(document: &mut Value, within: &str, shaping: &Shaping, report: &mut Report) -> bool {
    let (before_arrays, before_strings) = (report.arrays_cut, report.strings_cut);
    let mut changed = false;
    if !shaping.fields.is_empty() {
        let (projected, matched) = project(document, &shaping.fields);
        for (seen, hit) in report.matched.iter_mut().zip(matched) {
            *seen |= hit;
        }
        *document = projected.unwrap_or_else(|| match document {
            Value::Array(_) => json!([]),
            Value::Object(_) => json!({}),
            _ => Value::Null,
        });
        changed = true;
    }
    let mut at = String::new();
    cut_within(document, within, &mut at, shaping, report);
    changed || report.arrays_cut != before_arrays || report.strings_cut != before_strings
}

fn cut_within(value: &mut Value, within: &str, at: &mut String, shaping: &Shaping, report: &mut Report) {
    match value {
        Value::Array(items) => {
            if let Some(max) = shaping.max_items.filter(|max| items.len() > *max) {
                report.cut(within, at, "items", max, items.len());
                items.truncate(max);
            }
            for (i, item) in items.iter_mut().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                cut_within(item, within, at, shaping, report);
                at.truncate(len);
            }
        }
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                let len = at.len();
                at.push('/');
                at.push_str(&escape(key));
                cut_within(member, within, at, shaping, report);
                at.truncate(len);
            }
        }
        Value::String(text) => cut_string(text, within, at, shaping.max_chars, report),
        _ => {}
    }
}

fn cut_string(text: &mut String, within: &str, at: &str, max: Option<usize>, report: &mut Report) {
    let Some(max) = max else { return };
    // Cut on a character boundary: the text stays valid UTF-8, and a JSON string stays a JSON string.
    let Some((end, _)) = text.char_indices().nth(max) else { return };
    let total = text.chars().count();
    text.truncate(end);
    text.push(CUT_MARK);
    report.cut(within, at, "chars", max, total);
}
