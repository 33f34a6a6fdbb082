//! Who may reach which backend item: every MCP method that reaches a backend asks here, with the
//! backend the item belongs to (from the catalog's exact index, or the resource's owner), never with a
//! guess from the item's name. An item the caller may not reach is answered exactly like a missing one.

use super::upstream::Ctx;
use crate::{
    auth::{BackendItem, ItemKind, Principal},
    backend::{Backend, BackendSet},
};

/// Whether the caller may see and use the item `exposed` (a tool or prompt name; ignored for resources)
/// of `backend`.
pub fn may_reach(ctx: &Ctx<'_>, backend: &Backend, kind: ItemKind, exposed: &str) -> bool {
    reaches(ctx.principal, &ctx.app.backends(), backend, kind, exposed)
}

/// [`may_reach`] for a principal and a backend set.
pub fn reaches(principal: &Principal, set: &BackendSet, backend: &Backend, kind: ItemKind, exposed: &str) -> bool {
    let prefix = set.exposure_prefix(backend);
    principal.scopes.may_reach(&BackendItem { kind, backend: &backend.id, prefix: &prefix, exposed })
}

/// Whether the caller holds any grant on `backend`, so the gateway may talk to it on the caller's behalf
/// (open a backend session at `initialize` or `server/discover`, pass a log level on). A grant of single
/// names counts for the backend whose prefix the name carries. This decides only whom the gateway
/// contacts; every item is still checked by [`may_reach`].
pub fn may_use_backend(principal: &Principal, set: &BackendSet, backend: &Backend) -> bool {
    let scopes = &principal.scopes;
    scopes.may_reach_backend(&backend.id, &set.exposure_prefix(backend))
        || scopes.item_names().any(|name| set.resolve(name).is_some_and(|r| r.backend.id == backend.id))
}
