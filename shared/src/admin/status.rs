//! `GET /admin/api/status` (what the answering instance sees: breakers, tool counts per backend, the
//! stored configuration version it serves, stored backends it had to leave out) and `GET
//! /admin/api/audit?limit=N` (the latest audit events, newest first).

use std::collections::BTreeMap;

use ::http::{Response, StatusCode};
use lambda_http::Body;
use serde_json::{json, Value};

use super::{reply, Admin, AdminError};
use crate::{health, mcp, store::config::AUDIT_RING};

pub(super) async fn status(admin: &Admin<'_>) -> Result<Response<Body>, AdminError> {
    let app = admin.app;
    let (_, mut instance) = health::detailed(app, &admin.principal, false).await;
    let (tools, unavailable) = mcp::tools::catalog(app, &admin.principal).await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, backend) in &tools {
        *counts.entry(backend.clone()).or_default() += 1;
    }
    if let Some(backends) = instance.get_mut("backends").and_then(Value::as_object_mut) {
        for (id, detail) in backends.iter_mut() {
            detail["toolCount"] = json!(counts.get(id).copied().unwrap_or(0));
            detail["listed"] = json!(!unavailable.contains(id));
        }
    }
    let (applied, checked) = app.stored.applied();
    let problems: Vec<Value> =
        app.stored.problems().into_iter().map(|(id, error)| json!({ "backend": id, "error": error })).collect();
    let body = json!({
        "instance": instance,
        "config": {
            "appliedVersion": applied,
            "checkedAgoMs": checked.map(|d| d.as_millis() as u64),
            "pollIntervalMs": app.config.config_poll.as_millis() as u64,
            "problems": problems,
        },
        "tools": { "total": tools.len(), "disabled": app.disabled_tools.snapshot().len() },
    });
    reply(StatusCode::OK, &body)
}

pub(super) async fn audit(admin: &Admin<'_>) -> Result<Response<Body>, AdminError> {
    let limit = match admin.query("limit") {
        None => 50,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=AUDIT_RING as usize).contains(n))
            .ok_or_else(|| AdminError::invalid("limit", format!("must be a whole number from 1 to {AUDIT_RING}")))?,
    };
    let events: Vec<Value> = admin
        .app
        .stored
        .store()
        .recent_audit(limit)
        .await?
        .into_iter()
        .map(|(seq, text)| {
            let mut event = serde_json::from_str::<Value>(&text).unwrap_or(Value::Null);
            if event.is_object() {
                event["seq"] = json!(seq);
            }
            event
        })
        .collect();
    reply(StatusCode::OK, &json!({ "events": events }))
}
