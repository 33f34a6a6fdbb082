//! Ranking on a fixed catalog: the expected order for a set of queries.

use serde_json::{json, Value};

use super::*;

fn tool(backend: &str, name: &str, description: &str, properties: &[&str]) -> Entry {
    let properties: Map<String, Value> =
        properties.iter().map(|p| (p.to_string(), json!({"type": "string"}))).collect();
    Entry {
        tool: json!({
            "name": format!("{backend}_{name}"),
            "description": description,
            "inputSchema": {"type": "object", "properties": properties},
        }),
        backend: backend.to_owned(),
        original: name.to_owned(),
    }
}

fn catalog() -> SearchIndex {
    SearchIndex::build(vec![
        tool("demo", "echo", "Echo the given text back unchanged.", &["text"]),
        tool("everything", "echo", "Echoes back the input string", &["message"]),
        tool("demo", "add", "Add two integers.", &["a", "b"]),
        tool("everything", "get-sum", "Returns the sum of two numbers", &["a", "b"]),
        tool("demo", "whoami", "Return, as JSON, the HTTP request headers this backend received.", &[]),
        tool("fs", "read_file", "Read the complete contents of a file from the file system.", &["path"]),
        tool("fs", "read_multiple_files", "Read the contents of multiple files simultaneously.", &["paths"]),
        tool(
            "fs",
            "write_file",
            "Create a new file or overwrite an existing file with new content.",
            &["path", "content"],
        ),
        tool(
            "fs",
            "list_directory",
            "Get a detailed listing of all files and directories in a specified path.",
            &["path"],
        ),
        tool(
            "fs",
            "search_files",
            "Recursively search for files and directories matching a pattern.",
            &["path", "pattern"],
        ),
        tool("gh", "search_issues", "Search for issues and pull requests across GitHub repositories.", &["q", "sort"]),
        tool("gh", "create_issue", "Create a new issue in a GitHub repository.", &["owner", "repo", "title", "body"]),
        tool(
            "gh",
            "get_file_contents",
            "Get the contents of a file or directory from a GitHub repository",
            &["owner", "repo", "path"],
        ),
    ])
}

fn names(index: &SearchIndex, text: &str) -> Vec<String> {
    find(index, &Query { text, limit: 100, ..Query::default() })
}

fn find(index: &SearchIndex, query: &Query<'_>) -> Vec<String> {
    index.search(query, |_| true).hits.iter().map(|e| e.name().to_owned()).collect()
}

#[test]
fn a_backend_name_query_finds_that_tool_on_every_backend_first() {
    // Both are exact matches of the backend's own name; BM25 orders them (the shorter bag of words wins).
    assert_eq!(names(&catalog(), "echo"), ["everything_echo", "demo_echo"]);
    assert_eq!(names(&catalog(), "ECHO"), ["everything_echo", "demo_echo"]);
    // A prefix of the name: the same two, through the name tier and the prefix expansion.
    assert_eq!(names(&catalog(), "ech"), ["everything_echo", "demo_echo"]);
}

#[test]
fn an_exact_name_beats_tools_that_mention_the_words_more() {
    let found = names(&catalog(), "read file");
    assert_eq!(found[..2], ["fs_read_file", "fs_read_multiple_files"]);
    assert_eq!(found.len(), 6, "{found:?}"); // every tool mentioning a file, none other
    assert!(!found.contains(&"demo_echo".to_owned()));
    // Separators and case do not matter for whole names.
    assert_eq!(names(&catalog(), "GET SUM")[0], "everything_get-sum");
    assert_eq!(names(&catalog(), "fs.read-file")[0], "fs_read_file");
}

#[test]
fn name_prefixes_come_before_description_matches() {
    // `search_files` and `search_issues` start with the word; nothing else says "search".
    let found = names(&catalog(), "search");
    assert_eq!(found.len(), 2);
    assert!(found.contains(&"fs_search_files".into()) && found.contains(&"gh_search_issues".into()));
    // A backend prefix lists that backend's tools first.
    let found = names(&catalog(), "gh");
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|n| n.starts_with("gh_")), "{found:?}");
}

#[test]
fn descriptions_titles_and_property_names_rank_by_bm25() {
    assert_eq!(names(&catalog(), "sum"), ["everything_get-sum"]);
    // Both words beat one ("HTTP request headers").
    assert_eq!(names(&catalog(), "pull requests"), ["gh_search_issues", "demo_whoami"]);
    assert_eq!(names(&catalog(), "directory listing")[0], "fs_list_directory");
    // Property names count: both tools taking `owner` and `repo` first, then the one whose description
    // only has a word starting with "repo".
    let found = names(&catalog(), "repo owner");
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[..2].contains(&"gh_create_issue".into()) && found[..2].contains(&"gh_get_file_contents".into()));
    assert_eq!(found[2], "gh_search_issues");
    assert!(names(&catalog(), "kubernetes").is_empty());
}

#[test]
fn plural_and_singular_find_the_same_tools() {
    assert_eq!(names(&catalog(), "directories"), names(&catalog(), "directory"));
    assert_eq!(names(&catalog(), "integer"), ["demo_add"]);
}

#[test]
fn backend_filter_and_caller_filter_narrow_the_hits() {
    let index = catalog();
    let query = Query { text: "file", backend: Some("gh"), limit: 10, ..Query::default() };
    assert_eq!(find(&index, &query), ["gh_get_file_contents"]);
    let query = Query { text: "", backend: Some("demo"), limit: 10, ..Query::default() };
    assert_eq!(find(&index, &query), ["demo_add", "demo_echo", "demo_whoami"]);
    let query = Query { text: "echo", limit: 10, ..Query::default() };
    let hits = index.search(&query, |e| e.name().starts_with("demo_"));
    assert_eq!((hits.total, hits.hits[0].name()), (1, "demo_echo"));
}

#[test]
fn an_empty_query_pages_through_everything_by_name() {
    let index = catalog();
    let page = index.search(&Query { text: "  ", offset: 2, limit: 2, ..Query::default() }, |_| true);
    let names: Vec<&str> = page.hits.iter().map(|e| e.name()).collect();
    assert_eq!((page.total, names), (13, vec!["demo_whoami", "everything_echo"]));
    assert_eq!(index.get("fs_write_file").map(Entry::name), Some("fs_write_file"));
    assert!(index.get("fs_nope").is_none());
}

#[test]
fn details_show_name_summary_or_the_whole_entry() {
    let index = catalog();
    let entry = index.get("fs_list_directory").unwrap();
    assert_eq!(render(entry, Detail::Name), json!({"name": "fs_list_directory"}));
    let summary = render(entry, Detail::Summary);
    assert_eq!(summary["description"], "Get a detailed listing of all files and directories in a specified path.");
    assert!(summary.get("inputSchema").is_none());
    assert_eq!(render(entry, Detail::Schema)["inputSchema"]["properties"]["path"]["type"], "string");
}

#[test]
fn summaries_keep_the_first_sentence_within_bounds() {
    assert_eq!(summary("First part. Second part."), "First part.");
    assert_eq!(summary("Line one\nline two"), "Line one");
    let long = "word ".repeat(100);
    let cut = summary(&long);
    assert!(cut.ends_with('…') && cut.chars().count() <= SUMMARY_CHARS + 1, "{cut}");
    assert_eq!(summary("é".repeat(400).as_str()).chars().count(), SUMMARY_CHARS + 1);
}
