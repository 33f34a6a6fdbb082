//! A generated, deterministic tool catalog shaped like real MCP servers: per backend 50 tools named
//! `<verb>_<object>`, each with a two- or three-sentence description and a JSON Schema of 1–5 described
//! properties (as SDKs emit them: `type`, `description`, `required`, `additionalProperties`), read-only
//! tools annotated as such.

use serde_json::{json, Map, Value};

pub const SERVICES: [&str; 20] = [
    "github",
    "gitlab",
    "jira",
    "linear",
    "slack",
    "discord",
    "gmail",
    "calendar",
    "drive",
    "notion",
    "confluence",
    "postgres",
    "mysql",
    "redis",
    "s3",
    "stripe",
    "shopify",
    "salesforce",
    "hubspot",
    "zendesk",
];

const VERBS: [&str; 8] = ["get", "list", "search", "create", "update", "delete", "archive", "export"];
const OBJECTS: [&str; 25] = [
    "issue",
    "pull_request",
    "comment",
    "file",
    "folder",
    "user",
    "team",
    "project",
    "label",
    "milestone",
    "message",
    "channel",
    "thread",
    "event",
    "invoice",
    "customer",
    "order",
    "product",
    "ticket",
    "record",
    "table",
    "query",
    "bucket",
    "webhook",
    "report",
];
const EXTRAS: [&str; 8] = [
    "Results are returned newest first and include the id, owner, status and timestamps of each item.",
    "Use a cursor from a previous response to fetch the next page of results.",
    "Requires write access to the workspace; the change is recorded in the audit log.",
    "Fields that are not set keep their current value.",
    "Large payloads are truncated to the first 1000 entries.",
    "The operation is idempotent when the same client token is sent again.",
    "Deleted items can be restored from the trash for 30 days.",
    "Rate limited to 100 requests per minute per token.",
];

/// A tiny deterministic generator, so every run measures the same catalog.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

fn words(object: &str) -> String {
    object.replace('_', " ")
}

fn property(name: &str, kind: &str, description: String) -> (String, Value) {
    (name.to_owned(), json!({ "type": kind, "description": description }))
}

/// The tools of one backend (`service`), as its own `tools/list` gives them.
pub fn tools(service: &str, seed: u64) -> Vec<Value> {
    let mut rng = Lcg(seed);
    let service_title = format!("{}{}", service[..1].to_uppercase(), &service[1..]);
    let mut pairs: Vec<(usize, usize)> =
        (0..VERBS.len()).flat_map(|v| (0..OBJECTS.len()).map(move |o| (v, o))).collect();
    // 50 distinct (verb, object) pairs per backend, chosen by the seed.
    for i in (1..pairs.len()).rev() {
        let j = rng.next(i + 1);
        pairs.swap(i, j);
    }
    pairs.truncate(50);
    pairs
        .into_iter()
        .map(|(v, o)| {
            let (verb, object) = (VERBS[v], OBJECTS[o]);
            let thing = words(object);
            let lead = match verb {
                "get" => format!("Get one {thing} from {service_title} by its id."),
                "list" => format!("List the {thing}s of a {service_title} workspace, optionally filtered."),
                "search" => format!("Search {service_title} {thing}s with a full-text query and filters."),
                "create" => format!("Create a new {thing} in {service_title}."),
                "update" => format!("Update the fields of an existing {service_title} {thing}."),
                "delete" => format!("Delete a {thing} from {service_title}."),
                "archive" => format!("Archive a {service_title} {thing} so it no longer appears in lists."),
                _ => format!("Export {service_title} {thing}s as CSV or JSON."),
            };
            let mut description = format!("{lead} {}", EXTRAS[rng.next(EXTRAS.len())]);
            if rng.next(2) == 0 {
                description = format!("{description} {}", EXTRAS[rng.next(EXTRAS.len())]);
            }
            let (properties, required): (Vec<(String, Value)>, Vec<&str>) = match verb {
                "get" | "delete" | "archive" => (
                    vec![
                        property("id", "string", format!("The {thing} id.")),
                        property(
                            "workspace",
                            "string",
                            "Workspace or organization slug; defaults to the token's.".into(),
                        ),
                    ],
                    vec!["id"],
                ),
                "list" | "export" => (
                    vec![
                        property("workspace", "string", "Workspace or organization slug.".into()),
                        property("status", "string", format!("Only {thing}s with this status.")),
                        property("limit", "integer", "Most items to return (1-100, default 30).".into()),
                        property("cursor", "string", "Cursor from a previous page.".into()),
                    ],
                    vec![],
                ),
                "search" => (
                    vec![
                        property("query", "string", "Full-text query; supports quoted phrases.".into()),
                        property("owner", "string", "Only items owned by this user.".into()),
                        property("since", "string", "ISO 8601 date; only items changed after it.".into()),
                        property("limit", "integer", "Most results to return (default 20).".into()),
                    ],
                    vec!["query"],
                ),
                _ => (
                    vec![
                        property("id", "string", format!("The {thing} id (omit to create).")),
                        property("title", "string", format!("Title of the {thing}.")),
                        property("body", "string", "Content in Markdown.".into()),
                        property("labels", "array", "Labels to set.".into()),
                        property("assignee", "string", "User to assign.".into()),
                    ],
                    vec!["title"],
                ),
            };
            let properties: Map<String, Value> = properties.into_iter().collect();
            let mut tool = json!({
                "name": format!("{verb}_{object}"),
                "description": description,
                "inputSchema": { "type": "object", "properties": properties, "required": required,
                                 "additionalProperties": false, "$schema": "http://json-schema.org/draft-07/schema#" },
            });
            if matches!(verb, "get" | "list" | "search" | "export") {
                tool["annotations"] = json!({ "readOnlyHint": true, "openWorldHint": true });
            }
            tool
        })
        .collect()
}

/// What a call returns: a JSON document as text and as `structuredContent`, like the SDKs produce.
pub fn call_result(tool: &str) -> Value {
    let items: Vec<Value> = (0..20)
        .map(|i| json!({ "id": format!("{tool}-{i}"), "title": format!("Item {i} of {tool}"), "status": "open",
                         "owner": format!("user{i}"), "updatedAt": "2026-11-30T10:00:00Z", "url": format!("https://example.com/{tool}/{i}") }))
        .collect();
    let document = json!({ "items": items, "nextCursor": "c2", "total": 240 });
    json!({ "content": [{ "type": "text", "text": document.to_string() }], "structuredContent": document })
}
