//! OpenAPI backends: schemas, operations and requests from documents, friendly and hostile.

use serde_json::{json, Value};

use super::{
    document::Catalog,
    request::{parse_template, prepare},
    schema::SchemaBuilder,
    Include,
};
use crate::backend::{BackendSet, NetworkPolicy};

const LOOPBACK: NetworkPolicy = NetworkPolicy { allow_private: false, allow_loopback: true };

fn all() -> Include {
    Include { all: true, ..Include::default() }
}

fn base() -> reqwest::Url {
    reqwest::Url::parse("https://api.example.com/v1").unwrap()
}

fn catalog(document: &Value) -> Catalog {
    Catalog::build(document, None, Some(&base()), &all(), &LOOPBACK).expect("a usable document")
}

fn names(catalog: &Catalog) -> Vec<&str> {
    catalog.tools().iter().map(|t| t["name"].as_str().unwrap()).collect()
}

fn doc(paths: Value) -> Value {
    json!({ "openapi": "3.0.3", "info": { "title": "t", "version": "1" }, "paths": paths,
            "components": { "schemas": {
                "Item": { "type": "object", "required": ["id", "name"], "properties": {
                    "id": { "type": "integer", "readOnly": true },
                    "name": { "type": "string", "nullable": true, "example": "lamp" },
                    "price": { "type": "number", "minimum": 0, "exclusiveMinimum": true },
                    "owner": { "$ref": "#/components/schemas/Person", "description": "who owns it" } } },
                "Person": { "type": "object", "properties": { "email": { "type": "string", "format": "email" } } },
                "Node": { "type": "object", "properties": { "children": { "type": "array", "items": { "$ref": "#/components/schemas/Node" } } } },
            } } })
}

pub(super) fn items_api() -> Value {
    doc(json!({
        "/items/{item_id}": {
            "parameters": [{ "name": "item_id", "in": "path", "required": true, "schema": { "type": "integer" } }],
            "get": { "operationId": "getItem", "summary": "Get an item", "tags": ["items"],
                     "parameters": [{ "name": "fields", "in": "query", "schema": { "type": "array", "items": { "type": "string" } } },
                                    { "name": "X-Trace", "in": "header", "schema": { "type": "string" } }] },
            "put": { "operationId": "update item!", "tags": ["admin"],
                     "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } } } },
        },
        "/items": { "post": { "summary": "Create", "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } } } } },
        "/tree": { "post": { "operationId": "tree", "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Node" } } } } } },
    }))
}

#[test]
fn operations_become_tools_with_sanitized_unique_names_and_descriptions() {
    let catalog = catalog(&items_api());
    assert_eq!(names(&catalog), ["getItem", "update_item", "post_items", "tree"]);
    let get = &catalog.tools()[0];
    assert_eq!(get["description"], "Get an item");
    assert_eq!(get["annotations"]["readOnlyHint"], true);
    let schema = &get["inputSchema"];
    assert_eq!(schema["required"], json!(["item_id"]));
    assert_eq!(schema["properties"]["item_id"]["type"], "integer");
    assert_eq!(schema["properties"]["fields"]["items"]["type"], "string");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(catalog.tools()[2]["description"], "Create");
    // Every input schema compiles on its own: calls are always checked.
    for tool in catalog.tools() {
        jsonschema::validator_for(&tool["inputSchema"]).expect("self-contained schema");
    }
}

#[test]
fn refs_resolve_and_the_30_dialect_is_translated() {
    let catalog = catalog(&items_api());
    let body = &catalog.tools()[1]["inputSchema"]["properties"]["body"];
    assert_eq!(catalog.tools()[1]["inputSchema"]["required"], json!(["item_id", "body"]));
    assert!(body["properties"].get("id").is_none(), "readOnly properties are not sent: {body}");
    assert_eq!(body["required"], json!(["name"]));
    assert_eq!(body["properties"]["name"]["type"], json!(["string", "null"]));
    assert_eq!(body["properties"]["name"]["examples"], json!(["lamp"]));
    assert_eq!(body["properties"]["price"]["exclusiveMinimum"], 0);
    assert!(body["properties"]["price"].get("minimum").is_none());
    assert_eq!(body["properties"]["owner"]["properties"]["email"]["format"], "email");
    assert_eq!(body["properties"]["owner"]["description"], "who owns it");
    let tree = &catalog.tools()[3]["inputSchema"]["properties"]["body"];
    let inner = &tree["properties"]["children"]["items"];
    assert!(inner["description"].as_str().unwrap().contains("recursive reference to Node"), "{tree}");
}

#[test]
fn hostile_references_are_bounded() {
    // Ten properties per level, eight levels of references: 10^8 nodes if expanded naively.
    let mut schemas = serde_json::Map::new();
    for level in 0..8 {
        let next = json!({ "$ref": format!("#/components/schemas/L{}", level + 1) });
        let props: serde_json::Map<String, Value> = (0..10).map(|i| (format!("p{i}"), next.clone())).collect();
        schemas.insert(format!("L{level}"), json!({ "type": "object", "properties": props }));
    }
    schemas.insert("L8".into(), json!({ "type": "string" }));
    schemas.insert("Loop".into(), json!({ "$ref": "#/components/schemas/Loop" }));
    let body = |name: &str| json!({ "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{name}") } } } });
    let document = json!({ "openapi": "3.1.0", "info": {}, "components": { "schemas": schemas }, "paths": {
        "/bomb": { "post": { "operationId": "bomb", "requestBody": body("L0") } },
        "/loop": { "post": { "operationId": "loop", "requestBody": body("Loop") } },
        "/far": { "post": { "operationId": "far", "requestBody": { "content": { "application/json": { "schema": { "$ref": "https://evil.example/s.json" } } } } } },
        "/ok": { "get": { "operationId": "ok" } },
    }});
    let started = std::time::Instant::now();
    let catalog = catalog(&document);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(names(&catalog), ["loop", "far", "ok"], "the bomb is left out, the rest stays");
    let far = &catalog.tools()[1]["inputSchema"]["properties"]["body"];
    assert!(far["description"].as_str().unwrap().contains("external reference"), "{far}");

    // Nesting without references is bounded too.
    let mut deep = json!({ "type": "string" });
    for _ in 0..100 {
        deep = json!({ "type": "object", "properties": { "a": deep } });
    }
    let built = SchemaBuilder::new(&Value::Null, false, 1_000_000).build(&deep).unwrap();
    let depth = |mut v: &Value| {
        let mut n = 0;
        while let Some(next) = v.pointer("/properties/a") {
            v = next;
            n += 1;
        }
        n
    };
    assert!(depth(&built) <= 33, "{}", depth(&built));
}

#[test]
fn path_templates_that_could_escape_are_refused() {
    for bad in
        ["/../admin", "/a/%2e%2E/b", "/a/./b", "/a?x=1", "/a#frag", "/a b", "a", "/a\\b", "/{x", "/x}", "/%zz", "/ü"]
    {
        assert!(parse_template(bad).is_err(), "{bad}");
    }
    assert!(parse_template("/files/{name}.json").is_ok());
    let document = doc(json!({
        "/../../admin": { "get": { "operationId": "escape" } },
        "/x/{id}#": { "get": { "operationId": "fragment" } },
        "/users/{undeclared}": { "get": { "operationId": "undeclared" } },
        "/fine": { "get": { "operationId": "fine", "parameters": [
            { "name": "Authorization", "in": "header", "schema": { "type": "string" } },
            { "name": "Host", "in": "header", "schema": { "type": "string" } },
            { "name": "session", "in": "cookie", "schema": { "type": "string" } } ] } },
        "/needs-cookie": { "get": { "operationId": "cookie", "parameters": [{ "name": "s", "in": "cookie", "required": true }] } },
        "/form": { "post": { "operationId": "form", "requestBody": { "required": true, "content": { "multipart/form-data": {} } } } },
    }));
    let catalog = catalog(&document);
    assert_eq!(names(&catalog), ["fine"]);
    assert_eq!(catalog.tools()[0]["inputSchema"]["properties"], json!({}), "no reserved header, no cookie");
}

#[test]
fn arguments_cannot_leave_the_path_or_inject_headers() {
    let catalog = catalog(&items_api());
    let get = catalog.operation("getItem").unwrap();
    let args = |v: Value| v.as_object().unwrap().clone();
    let prepared = prepare(get, &base(), &args(json!({ "item_id": "a/../b?c=1#d%2e" }))).unwrap();
    assert_eq!(prepared.url.as_str(), "https://api.example.com/v1/items/a%2F..%2Fb%3Fc%3D1%23d%252e");
    for escape in ["..", ".", ""] {
        let err = prepare(get, &base(), &args(json!({ "item_id": escape }))).unwrap_err();
        assert!(err.contains("item_id"), "{err}");
    }
    let prepared =
        prepare(get, &base(), &args(json!({ "item_id": 7, "fields": ["a", "b&c"], "X-Trace": "t1" }))).unwrap();
    assert_eq!(prepared.url.as_str(), "https://api.example.com/v1/items/7?fields=a&fields=b%26c");
    assert_eq!(prepared.headers.get("x-trace").unwrap(), "t1");
    let err = prepare(get, &base(), &args(json!({ "item_id": 7, "X-Trace": "t\r\nX-Admin: 1" }))).unwrap_err();
    assert!(err.contains("X-Trace") && !err.contains("Admin"), "{err}");
    let err = prepare(get, &base(), &args(json!({}))).unwrap_err();
    assert!(err.contains("missing required argument item_id"), "{err}");
    let put = catalog.operation("update_item").unwrap();
    let prepared = prepare(put, &base(), &args(json!({ "item_id": 1, "body": { "name": "x" } }))).unwrap();
    assert_eq!(prepared.body, Some(("application/json".into(), br#"{"name":"x"}"#.to_vec())));
    assert!(prepare(put, &base(), &args(json!({ "item_id": 1 }))).unwrap_err().contains("body"));
}

#[test]
fn clashing_parameter_names_become_distinct_arguments_sent_under_their_own_names() {
    let document = doc(json!({ "/x/{id}": { "post": { "operationId": "clash", "parameters": [
        { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } },
        { "name": "id", "in": "query", "schema": { "type": "string" } },
        { "name": "body", "in": "query", "schema": { "type": "string" } },
        { "name": "filter[name]", "in": "query", "schema": { "type": "string" } } ],
        "requestBody": { "content": { "application/json": { "schema": { "type": "object" } } } } } } }));
    let catalog = catalog(&document);
    let properties: Vec<&String> =
        catalog.tools()[0]["inputSchema"]["properties"].as_object().unwrap().keys().collect();
    assert_eq!(properties, ["id", "id_query", "body_query", "filter_name_", "body"]);
    let args = json!({ "id": "p", "id_query": "q", "body_query": "b", "filter_name_": "n", "body": { "k": 1 } });
    let prepared = prepare(catalog.operation("clash").unwrap(), &base(), args.as_object().unwrap()).unwrap();
    assert_eq!(prepared.url.as_str(), "https://api.example.com/v1/x/p?id=q&body=b&filter%5Bname%5D=n");
    assert_eq!(prepared.body.unwrap().1, br#"{"k":1}"#.to_vec());
}

#[test]
fn include_selects_by_tag_or_operation_id() {
    let include: Include = serde_json::from_value(json!({ "tags": ["admin"], "operationIds": ["tree"] })).unwrap();
    let catalog = Catalog::build(&items_api(), None, Some(&base()), &include, &LOOPBACK).unwrap();
    assert_eq!(names(&catalog), ["update_item", "tree"]);
}

#[test]
fn server_urls_are_resolved_and_guarded() {
    let with_servers = |url: &str| {
        let mut d = items_api();
        d["servers"] = json!([{ "url": url, "variables": { "v": { "default": "2" } } }]);
        d
    };
    let spec_url = reqwest::Url::parse("http://127.0.0.1:9/docs/openapi.json").unwrap();
    let build =
        |d: &Value, spec: Option<&reqwest::Url>| Catalog::build(d, spec, None, &all(), &NetworkPolicy::default());
    let relative = build(&with_servers("/api/v{v}"), Some(&spec_url));
    assert!(relative.unwrap_err().contains("GATEWAY_ALLOW_LOOPBACK_BACKENDS"), "the spec's host is guarded too");
    let resolved = Catalog::build(&with_servers("/api/v{v}"), Some(&spec_url), None, &all(), &LOOPBACK).unwrap();
    assert_eq!(resolved.base.as_str(), "http://127.0.0.1:9/api/v2");
    assert!(build(&with_servers("/api"), None).unwrap_err().contains("set baseUrl"));
    let metadata = build(&with_servers("http://169.254.169.254/latest"), None).unwrap_err();
    assert!(metadata.contains("never allowed"), "{metadata}");
    assert!(build(&json!({ "swagger": "2.0", "paths": {} }), None).unwrap_err().contains("OpenAPI 3.0 or 3.1"));
}

#[test]
fn configuration_errors_name_the_field() {
    let cases = [
        (json!({ "id": "a", "type": "openapi" }), "backends[0].spec", "required"),
        (json!({ "id": "a", "type": "openapi", "spec": 5 }), "backends[0].spec", "file path"),
        (
            json!({ "id": "a", "type": "openapi", "spec": "/nonexistent/openapi.json" }),
            "backends[0].spec",
            "cannot be read",
        ),
        (json!({ "id": "a", "type": "openapi", "spec": "{not json" }), "backends[0].spec", "not a JSON document"),
        (json!({ "id": "a", "type": "openapi", "spec": { "openapi": "2.0" } }), "backends[0].spec", "OpenAPI 3.0"),
        (
            json!({ "id": "a", "type": "openapi", "spec": "http://169.254.169.254/openapi.json" }),
            "backends[0].spec",
            "never allowed",
        ),
        (
            json!({ "id": "a", "type": "openapi", "spec": items_api(), "baseUrl": "https://h/v1?x=1" }),
            "backends[0].baseUrl",
            "query",
        ),
        (
            json!({ "id": "a", "type": "openapi", "spec": items_api(), "include": {} }),
            "backends[0].include",
            "names no tag",
        ),
        (
            json!({ "id": "a", "type": "openapi", "spec": items_api(), "include": { "tag": ["x"] } }),
            "backends[0].include",
            "unknown field",
        ),
        (
            json!({ "id": "a", "type": "openapi", "spec": items_api(), "url": "http://h/mcp" }),
            "backends[0].url",
            "\"mcp\"",
        ),
        (
            json!({ "id": "a", "type": "openapi", "spec": items_api(), "transport": "sse" }),
            "backends[0].transport",
            "\"mcp\"",
        ),
        (json!({ "id": "a", "type": "openapi", "spec": items_api(), "tools": [] }), "backends[0].tools", "\"lambda\""),
        (json!({ "id": "a", "type": "openapi", "spec": items_api() }), "backends[0].spec", "set baseUrl"),
        (json!({ "id": "a", "type": "soap", "spec": items_api() }), "backends document", "unknown variant"),
    ];
    for (i, (backend, field, words)) in cases.into_iter().enumerate() {
        let err = BackendSet::from_json(&json!({ "backends": [backend] }).to_string()).unwrap_err();
        assert_eq!(err.field, field, "case {i}: {err}");
        assert!(err.message.contains(words), "case {i}: {err}");
    }
}
