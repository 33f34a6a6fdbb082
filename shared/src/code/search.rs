//! `GET /api/code/tools/search`: find tools by words in their name or description, at the detail the
//! caller asks for, one page at a time.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{error::CodeError, tools::helper_name};

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
            query: params.get("query").map(|q| q.trim().to_lowercase()).unwrap_or_default(),
            detail,
            limit: number("limit", DEFAULT_LIMIT, MAX_LIMIT)?,
            offset: number("offset", 0, 1_000_000)?,
        })
    }
}

/// The page of `tools` matching `query`: every query word must occur in the name or description;
/// matches in the name rank first. An empty query lists everything (by name).
pub fn search(tools: &[Value], query: &SearchQuery) -> Value {
    let words: Vec<&str> = query.query.split_whitespace().collect();
    let mut hits: Vec<(usize, &str, &Value)> = tools
        .iter()
        .filter_map(|tool| {
            let name = tool.get("name").and_then(Value::as_str)?;
            let lower_name = name.to_lowercase();
            let description = tool.get("description").and_then(Value::as_str).unwrap_or_default().to_lowercase();
            let mut score = 0;
            for word in &words {
                if lower_name.contains(word) {
                    score += 2;
                } else if description.contains(word) {
                    score += 1;
                } else {
                    return None;
                }
            }
            Some((score, name, tool))
        })
        .collect();
    hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let total = hits.len();
    let page: Vec<Value> = hits
        .into_iter()
        .skip(query.offset)
        .take(query.limit)
        .map(|(_, name, tool)| entry(name, tool, query.detail))
        .collect();
    let has_more = query.offset + page.len() < total;
    json!({ "tools": page, "total": total, "offset": query.offset, "limit": query.limit, "hasMore": has_more })
}

fn entry(name: &str, tool: &Value, detail: DetailLevel) -> Value {
    let mut entry = json!({ "name": name });
    if detail == DetailLevel::NameOnly {
        return entry;
    }
    entry["description"] = tool.get("description").cloned().unwrap_or(Value::String(String::new()));
    if let Some(helper) = helper_name(name) {
        entry["helper"] = Value::String(helper);
    }
    if detail == DetailLevel::FullSchema {
        entry["inputSchema"] = tool.get("inputSchema").cloned().unwrap_or(json!({"type": "object"}));
        if let Some(output) = tool.get("outputSchema") {
            entry["outputSchema"] = output.clone();
        }
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
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
        let found = search(&tools(), &q);
        let names: Vec<&str> = found["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["demo_add", "everything_sum"]);
        assert_eq!(found["tools"][0]["helper"], "demo_add");
    }

    #[test]
    fn detail_levels_and_pages() {
        let q = SearchQuery::from_params(&params(&[("detailLevel", "name_only"), ("limit", "1"), ("offset", "1")]))
            .unwrap();
        let found = search(&tools(), &q);
        assert_eq!(found["tools"], json!([{"name": "demo_echo"}]));
        assert_eq!((found["total"].as_u64(), found["hasMore"].as_bool()), (Some(3), Some(true)));
        let q = SearchQuery::from_params(&params(&[("query", "add"), ("detailLevel", "full_schema")])).unwrap();
        assert_eq!(search(&tools(), &q)["tools"][0]["inputSchema"], json!({"type": "object"}));
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert!(SearchQuery::from_params(&params(&[("detailLevel", "all")])).is_err());
        assert!(SearchQuery::from_params(&params(&[("limit", "1000")])).is_err());
        assert!(SearchQuery::from_params(&params(&[("offset", "-1")])).is_err());
    }
}
