//! `GET /api/code/tools/search`: find tools by words in their name, title, description or argument names,
//! at the detail the caller asks for, one page at a time. The ranking is the gateway's one tool search
//! (`meta::search`, also behind `gateway_search_tools`).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{error::CodeError, tools::helper_name};
use crate::meta::search::{render, Detail, Entry, Query, SearchIndex};

/// How much of each tool a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailLevel {
    NameOnly,
    NameDescription,
    FullSchema,
}

/// The query string of a search, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub query: String,
    /// Only tools of this backend (by id).
    pub backend: Option<String>,
    pub detail: DetailLevel,
    pub limit: usize,
    pub offset: usize,
}

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

impl SearchQuery {
    pub fn from_params(params: &HashMap<String, String>) -> Result<Self, CodeError> {
        let detail = match params.get("detailLevel").map(String::as_str) {
            None | Some("name_description") => DetailLevel::NameDescription,
            Some("name_only") => DetailLevel::NameOnly,
            Some("full_schema") => DetailLevel::FullSchema,
            Some(_) => {
                return Err(CodeError::BadQuery {
                    name: "detailLevel",
                    reason: "must be name_only, name_description or full_schema".into(),
                })
            }
        };
        let number = |name: &'static str, default: usize, max: usize| match params.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or(CodeError::BadQuery { name, reason: format!("must be an integer from 0 to {max}") }),
        };
        Ok(Self {
            query: params.get("query").map(|q| q.trim().to_owned()).unwrap_or_default(),
            backend: params.get("backend").map(|b| b.trim().to_owned()).filter(|b| !b.is_empty()),
            detail,
            limit: number("limit", DEFAULT_LIMIT, MAX_LIMIT)?,
            offset: number("offset", 0, 1_000_000)?,
        })
    }
}

/// The page of `tools` matching `query`, ranked (see `meta::search`); `origin` gives an exposed name's
/// backend id and that backend's own name for the tool.
pub fn search(tools: Vec<Value>, query: &SearchQuery, origin: impl Fn(&str) -> Option<(String, String)>) -> Value {
    let entries = tools
        .into_iter()
        .map(|tool| {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            let (backend, original) = origin(&name).unwrap_or_else(|| (String::new(), name.clone()));
            Entry { tool, backend, original }
        })
        .collect();
    let index = SearchIndex::build(entries);
    let wanted =
        Query { text: &query.query, backend: query.backend.as_deref(), offset: query.offset, limit: query.limit };
    let page = index.search(&wanted, |_| true);
    let tools: Vec<Value> = page.hits.iter().map(|entry| entry_of(entry, query.detail)).collect();
    let has_more = query.offset + tools.len() < page.total;
    json!({ "tools": tools, "total": page.total, "offset": query.offset, "limit": query.limit, "hasMore": has_more })
}

/// The REST shape of one hit: as before the shared search, with the JS helper name for code authors.
fn entry_of(entry: &Entry, detail: DetailLevel) -> Value {
    let name = entry.name();
    if detail == DetailLevel::NameOnly {
        return render(entry, Detail::Name);
    }
    let mut out = json!({ "name": name });
    out["description"] = entry.tool.get("description").cloned().unwrap_or(Value::String(String::new()));
    if let Some(helper) = helper_name(name) {
        out["helper"] = Value::String(helper);
    }
    if detail == DetailLevel::FullSchema {
        out["inputSchema"] = entry.tool.get("inputSchema").cloned().unwrap_or(json!({"type": "object"}));
        if let Some(output) = entry.tool.get("outputSchema") {
            out["outputSchema"] = output.clone();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn origin(name: &str) -> Option<(String, String)> {
        name.split_once('_').map(|(backend, own)| (backend.to_owned(), own.to_owned()))
    }

    fn tools() -> Vec<Value> {
        vec![
            json!({"name": "demo_add", "description": "Add two numbers", "inputSchema": {"type": "object"}}),
            json!({"name": "demo_echo", "description": "Echo text back"}),
            json!({"name": "everything_sum", "description": "Adds numbers"}),
        ]
    }

    #[test]
    fn words_match_names_before_descriptions() {
        let q = SearchQuery::from_params(&params(&[("query", "ADD")])).unwrap();
        let found = search(tools(), &q, origin);
        let names: Vec<&str> = found["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["demo_add", "everything_sum"]);
        assert_eq!(found["tools"][0]["helper"], "demo_add");
    }

    #[test]
    fn detail_levels_and_pages() {
        let q = SearchQuery::from_params(&params(&[("detailLevel", "name_only"), ("limit", "1"), ("offset", "1")]))
            .unwrap();
        let found = search(tools(), &q, origin);
        assert_eq!(found["tools"], json!([{"name": "demo_echo"}]));
        assert_eq!((found["total"].as_u64(), found["hasMore"].as_bool()), (Some(3), Some(true)));
        let q = SearchQuery::from_params(&params(&[("query", "add"), ("detailLevel", "full_schema")])).unwrap();
        assert_eq!(search(tools(), &q, origin)["tools"][0]["inputSchema"], json!({"type": "object"}));
        let q = SearchQuery::from_params(&params(&[("query", "add"), ("backend", "everything")])).unwrap();
        assert_eq!(
            search(tools(), &q, origin)["tools"],
            json!([{"name": "everything_sum", "description": "Adds numbers", "helper": "everything_sum"}])
        );
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(SearchQuery::from_params(&params(&[("detailLevel", "all")])).is_err());
        assert!(SearchQuery::from_params(&params(&[("limit", "1000")])).is_err());
        assert!(SearchQuery::from_params(&params(&[("offset", "-1")])).is_err());
    }
}
