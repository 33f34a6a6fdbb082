//! The audit trail of admin changes: who (the principal id), what (action, target, the names of the
//! fields involved — never their values, which may be credentials), when. Each event is a log line
//! (`"audit":true`, the durable record in CloudWatch) and an item of the stored ring that
//! `GET /admin/api/audit` reads (the last `AUDIT_RING` events, each kept `AUDIT_TTL_SECS` at most).

use serde_json::{json, Value};

use super::Admin;
use crate::{auth::api_key::admin::rfc3339, store::now_secs};

pub(crate) async fn record(admin: &Admin<'_>, action: &str, target: &str, detail: Value) {
    let actor = admin.principal.id.as_str();
    tracing::info!(audit = true, decision = "allow", actor, action, target, detail = %detail, "admin change");
    let event =
        json!({ "at": rfc3339(now_secs()), "actor": actor, "action": action, "target": target, "detail": detail });
    if let Err(error) = admin.app.stored.store().append_audit(&event.to_string()).await {
        // The change is made; the log line above remains its record.
        tracing::error!(%error, action, target, "could not store the audit event");
    }
}
