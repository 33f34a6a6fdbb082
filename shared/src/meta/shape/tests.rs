//! Each shaping option on its own and together, and the report.

use serde_json::{json, Value};

use super::*;

fn shaping(fields: &[&str], max_items: Option<u64>, max_chars: Option<u64>) -> Shaping {
    let fields = (!fields.is_empty()).then(|| fields.iter().map(|f| f.to_string()).collect());
    Shaping::new(fields, max_items, max_chars).unwrap()
}

fn rows() -> Value {
    json!({"items": [
        {"id": 1, "name": "alpha", "note": "first"},
        {"id": 2, "name": "beta", "note": "second"},
        {"id": 3, "name": "gamma", "note": "third"}
    ], "count": 3, "cursor": "abc"})
}

/// A result as a typical SDK returns it: the JSON as text and as `structuredContent`.
fn result_of(document: &Value) -> Value {
    json!({"content": [{"type": "text", "text": document.to_string()}], "structuredContent": document})
}

fn text_json(result: &Value, i: usize) -> Value {
    serde_json::from_str(result["content"][i]["text"].as_str().unwrap()).expect("the text is still JSON")
}

#[test]
fn fields_keep_pointers_with_wildcards_in_structured_content_and_json_text() {
    let mut result = result_of(&rows());
    let report = shape(&mut result, &shaping(&["/items/*/id", "/count"], None, None)).unwrap();
    let expected = json!({"items": [{"id": 1}, {"id": 2}, {"id": 3}], "count": 3});
    assert_eq!(result["structuredContent"], expected);
    assert_eq!(text_json(&result, 0), expected);
    assert_eq!(report, json!({"arraysCut": 0, "stringsCut": 0}));
}

#[test]
fn explicit_indexes_keep_their_elements_in_order_and_escapes_work() {
    let mut result = json!({"structuredContent": {"items": rows()["items"], "a/b": {"~x": 1}}});
    shape(&mut result, &shaping(&["/items/2/name", "/items/0/id", "/a~1b/~0x"], None, None));
    assert_eq!(result["structuredContent"], json!({"items": [{"id": 1}, {"name": "gamma"}], "a/b": {"~x": 1}}));
}

#[test]
fn missing_pointers_and_text_that_is_not_json_are_reported() {
    let mut result = json!({"content": [{"type": "text", "text": "plain words"}], "structuredContent": rows()});
    let report = shape(&mut result, &shaping(&["/count", "/nope"], None, None)).unwrap();
    assert_eq!(result["structuredContent"], json!({"count": 3}));
    assert_eq!(result["content"][0]["text"], "plain words");
    assert_eq!(report["fieldsMissing"], json!(["/nope"]));
    assert_eq!(report["fieldsNotApplied"], json!(["/content/0/text"]));
    // Nothing selected at all: an empty document of the same kind, never a half one.
    let mut result = result_of(&rows());
    shape(&mut result, &shaping(&["/nope"], None, None));
    assert_eq!((result["structuredContent"].clone(), text_json(&result, 0)), (json!({}), json!({})));
}

#[test]
fn max_items_cuts_every_long_array_and_the_content_list() {
    let mut result = result_of(&json!({"items": rows()["items"], "tags": [[1, 2, 3], [4]]}));
    result["content"].as_array_mut().unwrap().push(json!({"type": "text", "text": "second block"}));
    let report = shape(&mut result, &shaping(&[], Some(1), None)).unwrap();
    assert_eq!(result["content"].as_array().unwrap().len(), 1);
    assert_eq!(result["structuredContent"], json!({"items": [rows()["items"][0]], "tags": [[1]]}));
    assert_eq!(text_json(&result, 0), result["structuredContent"]);
    // Per document /items, /tags and /tags/0 (structured content, then the JSON text), and the content list.
    assert_eq!(report["arraysCut"], 7);
    assert_eq!(report["cuts"][0], json!({"in": "/structuredContent", "at": "/items", "items": [1, 3]}));
    assert_eq!(report["cuts"][2], json!({"in": "/structuredContent", "at": "/tags/0", "items": [1, 3]}));
    assert_eq!(report["cuts"][3], json!({"in": "/content", "at": "", "items": [1, 2]}));
    assert_eq!(report["cuts"][4], json!({"in": "/content/0/text", "at": "/items", "items": [1, 3]}));
}

#[test]
fn max_chars_cuts_text_on_character_boundaries_and_keeps_json_valid() {
    let long = "é".repeat(50);
    let mut result = json!({"content": [
        {"type": "text", "text": format!("{long} tail")},
        {"type": "text", "text": json!({"note": long, "n": 1}).to_string()},
        {"type": "resource", "resource": {"uri": "x://1", "text": long}},
        {"type": "image", "data": "A".repeat(100), "mimeType": "image/png"}
    ]});
    let report = shape(&mut result, &shaping(&[], None, Some(10))).unwrap();
    assert_eq!(result["content"][0]["text"], format!("{}…", "é".repeat(10)));
    assert_eq!(text_json(&result, 1), json!({"note": format!("{}…", "é".repeat(10)), "n": 1}));
    assert_eq!(result["content"][2]["resource"]["text"], format!("{}…", "é".repeat(10)));
    assert_eq!(result["content"][3]["data"].as_str().unwrap().len(), 100, "binary content is never cut");
    assert_eq!(report["stringsCut"], 3);
    assert_eq!(report["cuts"][0], json!({"in": "/content/0/text", "at": "", "chars": [10, 55]}));
    assert_eq!(report["cuts"][1], json!({"in": "/content/1/text", "at": "/note", "chars": [10, 50]}));
}

#[test]
fn options_combine_fields_first_and_the_report_is_bounded() {
    let items: Vec<Value> = (0..30).map(|i| json!({"id": i, "text": "x".repeat(40)})).collect();
    let mut result = json!({"structuredContent": {"items": items, "other": "y".repeat(40)}});
    let report = shape(&mut result, &shaping(&["/items"], Some(20), Some(5))).unwrap();
    let kept = result["structuredContent"]["items"].as_array().unwrap();
    assert_eq!(kept.len(), 20);
    assert!(result["structuredContent"].get("other").is_none());
    assert_eq!(kept[19]["text"], "xxxxx…");
    assert_eq!((report["arraysCut"].as_u64(), report["stringsCut"].as_u64()), (Some(1), Some(20)));
    assert_eq!(report["cuts"].as_array().unwrap().len(), MAX_REPORTED_CUTS);
}

#[test]
fn no_shaping_leaves_the_result_alone() {
    let mut result = result_of(&rows());
    let before = result.clone();
    assert!(shape(&mut result, &Shaping::default()).is_none());
    assert_eq!(result, before);
    // Shaping that cuts nothing leaves the text byte for byte (no re-serialisation).
    let pretty = serde_json::to_string_pretty(&rows()).unwrap();
    let mut result = json!({"content": [{"type": "text", "text": pretty}]});
    shape(&mut result, &shaping(&[], Some(100), Some(100)));
    assert_eq!(result["content"][0]["text"], pretty);
}

#[test]
fn bad_shaping_arguments_are_refused_with_a_reason() {
    let err = Shaping::new(Some(vec!["items/0".into()]), None, None).unwrap_err();
    assert!(err.contains("\"/items/0\""), "{err}");
    assert!(Shaping::new(Some(vec!["/a".into(); MAX_FIELDS + 1]), None, None).is_err());
    assert!(Shaping::new(Some(vec![format!("/{}", "a".repeat(300))]), None, None).is_err());
    assert!(Shaping::new(None, None, Some(0)).is_err());
    assert!(Shaping::new(None, Some(0), None).is_ok());
}
