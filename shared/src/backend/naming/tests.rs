use super::*;

fn set() -> BackendSet {
    BackendSet::from_json(
        r#"{"backends":[
            {"id":"plain","url":"http://h/mcp","prefix":""},
            {"id":"a","url":"http://h/mcp","prefix":"a"},
            {"id":"ab","url":"http://h/mcp","prefix":"a_b"}]}"#,
    )
    .unwrap()
}

fn listings(set: &BackendSet, names: &[(&str, &[&str])]) -> Vec<(Arc<Backend>, Vec<String>)> {
    names
        .iter()
        .map(|(id, names)| (set.get(id).unwrap().clone(), names.iter().map(|n| n.to_string()).collect()))
        .collect()
}

fn exposed(exposure: &Exposure) -> Vec<(String, String, String)> {
    exposure.names.iter().map(|n| (n.backend.id.clone(), n.original.clone(), n.exposed.clone())).collect()
}

fn valid(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len()) && name.chars().all(name_char)
}

#[test]
fn names_are_prefixed_mapped_and_shortened() {
    let set = set();
    let a = set.get("a").unwrap();
    assert_eq!(set.expose(a, "echo"), "a_echo");
    assert_eq!(set.expose(a, "get weather/now ✓"), "a_get_weather_now__");
    let long = "x".repeat(200);
    let short = set.expose(a, &long);
    assert!(valid(&short) && short.len() == MAX_NAME_LEN, "{short}");
    assert!(short.starts_with("a_xxx") && short.as_bytes()[119] == b'-');
    // Deterministic, and different long names stay different.
    assert_eq!(short, set.expose(a, &long));
    assert_ne!(short, set.expose(a, &format!("{long}y")));
}

#[test]
fn collisions_keep_the_first_backend_and_rename_the_others_deterministically() {
    let set = set();
    // "plain" (unprefixed) exposes "a_b_c" itself; "a" exposes b_c as "a_b_c"; "ab" exposes c as "a_b_c".
    let forward = set.expose_all(&listings(&set, &[("plain", &["a_b_c", "x"]), ("a", &["b_c"]), ("ab", &["c"])]));
    assert_eq!(forward.collisions.len(), 1);
    let c = &forward.collisions[0];
    assert_eq!((c.name.as_str(), c.kept.0.as_str()), ("a_b_c", "plain"));
    assert_eq!(c.renamed.len(), 2);
    let names: Vec<String> = forward.names.iter().map(|n| n.exposed.clone()).collect();
    assert_eq!(names.len(), 4);
    assert!(names.iter().all(|n| valid(n)));
    assert_eq!(names.iter().collect::<HashSet<_>>().len(), 4, "{names:?}");
    assert_eq!(names[0], "a_b_c");
    assert!(names[2].starts_with("a_b_c-") && names[2].len() == "a_b_c-".len() + 8, "{names:?}");

    // The same backends listing in another order get the same names.
    let backward = set.expose_all(&listings(&set, &[("plain", &["x", "a_b_c"]), ("a", &["b_c"]), ("ab", &["c"])]));
    let sorted = |e: &Exposure| {
        let mut v = exposed(e);
        v.sort();
        v
    };
    assert_eq!(sorted(&forward), sorted(&backward));
}

#[test]
fn mapped_names_that_collide_within_one_backend_are_separated_too() {
    let set = set();
    let exposure = set.expose_all(&listings(&set, &[("a", &["my tool", "my_tool", "my_tool"])]));
    let names = exposed(&exposure);
    assert_eq!(names.len(), 2, "a name listed twice counts once: {names:?}");
    // "my tool" and "my_tool" both map to a_my_tool; the lexically first original keeps it.
    assert_eq!(exposure.collisions[0].kept, ("a".to_owned(), "my tool".to_owned()));
    assert!(names.iter().any(|(_, o, e)| o == "my_tool" && e.starts_with("a_my_tool-")));
}

#[test]
fn prefix_resolution_picks_the_longest_prefix() {
    let r = set().resolve("a_b_tool").unwrap();
    assert_eq!((r.backend.id.as_str(), r.name.as_str()), ("ab", "tool"));
    assert_eq!(set().resolve("a_tool").unwrap().backend.id, "a");
    assert_eq!(set().resolve("test_simple_text").unwrap().backend.id, "plain");
    let only_prefixed = BackendSet::from_json(r#"{"backends":[{"id":"a","url":"http://h/mcp"}]}"#).unwrap();
    assert!(only_prefixed.resolve("b_tool").is_none());
    assert!(only_prefixed.resolve("a_").is_none());
}
