//! Walking a JSON value: every object key and string value, in document order, is offered for rewriting.
//!
//! - Keys too: a map keyed by e-mail address would otherwise leak its keys.
//! - Nested JSON inside a text (`"{\"email\":\"a@x.io\"}"`) is scanned as text: PII characters need no JSON
//!   escaping, so the values are found as they are, and tokens (`[EMAIL_1]`) need none either, so the
//!   nested document stays valid JSON. It is never re-serialised, so its formatting is kept byte for byte.
//! - The string under a `blob` key is skipped: MCP uses it for base64 binary content, where a replacement
//!   would corrupt the data and PII is not readable text anyway.
//! - Numbers are offered too when tokenizing (`rewrite_leaves`), by their JSON text: a card number or an
//!   echoed value sent back as a number is PII all the same, and leaving it would leak it. A number that is
//!   rewritten becomes a string (a client's schema may expect a number there: a value is worth more).
//!   Restoring offers strings only: tokens are strings. Booleans and nulls are left alone.

use serde_json::{Map, Value};

/// Whether the string under `key` is left out of the walk.
fn skipped(key: &str, value: &Value) -> bool {
    key == "blob" && value.is_string()
}

/// Offers every string (keys included) to `edit` with its visit index; a returned string replaces it.
pub(crate) fn rewrite(value: &mut Value, edit: &mut impl FnMut(usize, &str) -> Option<String>) {
    let mut next = 0;
    visit(value, &mut next, false, &mut |index, text, _| edit(index, text));
}

/// Offers every string, key and number (as its JSON text, flagged `true`) to `edit` with its visit index;
/// a returned string replaces it (a number becomes that string).
pub(crate) fn rewrite_leaves(value: &mut Value, edit: &mut impl FnMut(usize, &str, bool) -> Option<String>) {
    let mut next = 0;
    visit(value, &mut next, true, edit);
}

fn visit(
    value: &mut Value,
    next: &mut usize,
    numbers: bool,
    edit: &mut impl FnMut(usize, &str, bool) -> Option<String>,
) {
    match value {
        Value::String(text) => {
            let index = take(next);
            if let Some(new) = edit(index, text, false) {
                *text = new;
            }
        }
        Value::Number(number) if numbers => {
            let index = take(next);
            if let Some(new) = edit(index, &number.to_string(), true) {
                *value = Value::String(new);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| visit(item, next, numbers, edit)),
        Value::Object(map) => visit_object(map, next, numbers, edit),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn visit_object(
    map: &mut Map<String, Value>,
    next: &mut usize,
    numbers: bool,
    edit: &mut impl FnMut(usize, &str, bool) -> Option<String>,
) {
    let mut renames: Vec<(String, String)> = Vec::new();
    for (key, value) in map.iter_mut() {
        let index = take(next);
        if let Some(new) = edit(index, key, false) {
            renames.push((key.clone(), new));
        }
        if !skipped(key, value) {
            visit(value, next, numbers, edit);
        }
    }
    if renames.is_empty() {
        return;
    }
    // Keys cannot be renamed in place: rebuild the map in the same order. Tokenizing is injective (distinct
    // texts give distinct results, since detokenizing restores them); only redaction (a full vault) can make
    // two keys alike, and then the later entry wins: data lost, never a value leaked.
    let old = std::mem::take(map);
    let mut renames = renames.into_iter().peekable();
    for (key, value) in old {
        let key = match renames.peek() {
            Some((from, _)) if *from == key => renames.next().map_or(key, |(_, to)| to),
            _ => key,
        };
        map.insert(key, value);
    }
}

fn take(next: &mut usize) -> usize {
    let index = *next;
    *next += 1;
    index
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_and_strings_are_visited_in_order_and_blobs_skipped() {
        let mut value = json!({"a": ["x", 1, {"b": "y"}], "blob": "QUJD", "c": null});
        let mut seen = Vec::new();
        rewrite(&mut value, &mut |i, s| {
            seen.push((i, s.to_owned()));
            None
        });
        let seen: Vec<_> = seen.iter().map(|(i, s)| format!("{i}:{s}")).collect();
        assert_eq!(seen, ["0:a", "1:x", "2:b", "3:y", "4:blob", "5:c"]);
    }

    #[test]
    fn numbers_are_offered_by_their_text_only_when_asked_and_become_strings() {
        let mut value = json!({"card": 4111111111111111u64, "n": [1.5, -2], "s": "x"});
        let mut seen = Vec::new();
        rewrite(&mut value, &mut |_, s| {
            seen.push(s.to_owned());
            None
        });
        assert_eq!(seen, ["card", "n", "s", "x"]);
        let mut numbers = Vec::new();
        rewrite_leaves(&mut value, &mut |i, s, number| {
            numbers.push(format!("{i}:{s}:{number}"));
            (s == "4111111111111111").then(|| "[CREDIT_CARD_1]".to_owned())
        });
        assert_eq!(
            numbers,
            [
                "0:card:false",
                "1:4111111111111111:true",
                "2:n:false",
                "3:1.5:true",
                "4:-2:true",
                "5:s:false",
                "6:x:false"
            ]
        );
        assert_eq!(value, json!({"card": "[CREDIT_CARD_1]", "n": [1.5, -2], "s": "x"}));
    }

    #[test]
    fn renamed_keys_keep_their_position() {
        let mut value = json!({"first": 1, "a@x.io": 2, "last": 3});
        rewrite(&mut value, &mut |_, s| (s == "a@x.io").then(|| "[EMAIL_1]".to_owned()));
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["first", "[EMAIL_1]", "last"]);
        assert_eq!(value["[EMAIL_1]"], 2);
    }
}
