//! `fields`: JSON pointers (RFC 6901) kept from a document, everything else dropped. One extension: a
//! `*` segment stands for every element of an array or every member of an object (`/items/*/id`).
//! Selected values keep their place: objects keep their member order, arrays keep the selected elements
//! in their order (an explicit index selects that element; the kept elements close up).

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Longest pointer accepted, in characters.
pub const MAX_POINTER_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Any,
}

/// A parsed pointer, with its text for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    pub text: String,
    segments: Vec<Segment>,
}

impl Pointer {
    /// `""` (the whole document) or `/a/b`, with `~1` for `/` and `~0` for `~` inside a segment.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.chars().count() > MAX_POINTER_CHARS {
            return Err(format!("a field pointer is longer than {MAX_POINTER_CHARS} characters"));
        }
        if text.is_empty() {
            return Ok(Self { text: String::new(), segments: Vec::new() });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("field {text:?} is not a JSON pointer: write it as \"/{text}\""));
        };
        let segments = rest
            .split('/')
            .map(|s| match s {
                "*" => Segment::Any,
                s => Segment::Key(s.replace("~1", "/").replace("~0", "~")),
            })
            .collect();
        Ok(Self { text: text.to_owned(), segments })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Step {
    Key(String),
    Index(usize),
}

/// What is selected of one value: all of it, or some of its members.
enum Pick {
    Whole,
    Part(HashMap<Step, Pick>),
}

/// The document reduced to what `pointers` select, and per pointer whether it selected anything.
/// `None` when nothing was selected.
pub fn project(document: &Value, pointers: &[Pointer]) -> (Option<Value>, Vec<bool>) {
    let mut pick = Pick::Part(HashMap::new());
    let matched: Vec<bool> = pointers.iter().map(|p| mark(document, &p.segments, &mut pick)).collect();
    let projected = matched.iter().any(|m| *m).then(|| materialize(document, &pick));
    (projected, matched)
}

fn mark(value: &Value, segments: &[Segment], pick: &mut Pick) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        *pick = Pick::Whole;
        return true;
    };
    let children = match pick {
        // Already kept whole: only whether the path exists matters (for the report).
        Pick::Whole => return mark(value, segments, &mut Pick::Part(HashMap::new())),
        Pick::Part(children) => children,
    };
    match (first, value) {
        (Segment::Key(key), Value::Object(members)) => match members.get(key) {
            Some(child) => mark_child(children, Step::Key(key.clone()), child, rest),
            None => false,
        },
        (Segment::Key(key), Value::Array(items)) => {
            match key.parse::<usize>().ok().and_then(|i| Some((i, items.get(i)?))) {
                Some((i, child)) => mark_child(children, Step::Index(i), child, rest),
                None => false,
            }
        }
        (Segment::Any, Value::Object(members)) => members
            .iter()
            .fold(false, |hit, (key, child)| mark_child(children, Step::Key(key.clone()), child, rest) || hit),
        (Segment::Any, Value::Array(items)) => items
            .iter()
            .enumerate()
            .fold(false, |hit, (i, child)| mark_child(children, Step::Index(i), child, rest) || hit),
        _ => false,
    }
}

fn mark_child(children: &mut HashMap<Step, Pick>, step: Step, child: &Value, rest: &[Segment]) -> bool {
    if let Some(existing) = children.get_mut(&step) {
        return mark(child, rest, existing);
    }
    let mut fresh = Pick::Part(HashMap::new());
    let hit = mark(child, rest, &mut fresh);
    if hit {
        children.insert(step, fresh);
    }
    hit
}

fn materialize(value: &Value, pick: &Pick) -> Value {
    let Pick::Part(children) = pick else { return value.clone() };
    match value {
        Value::Object(members) => {
            let kept: Map<String, Value> = members
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), materialize(v, children.get(&Step::Key(k.clone()))?))))
                .collect();
            Value::Object(kept)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| Some(materialize(v, children.get(&Step::Index(i))?)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `segment` escaped for use in a pointer.
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}
