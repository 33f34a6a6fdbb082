//! Who a backend exchange is made for, as far as a backend may know it: the principal's id (API key id,
//! JWT `sub`, `anonymous`), never its credential. Lambda backends put it in the event's `context`.
//!
//! A task-local set around each backend call by the MCP layer ([`on_behalf_of`]), so the client's
//! entry points keep their signatures; outside such a scope (health probes, list fills shared by every
//! caller) there is no caller.

use std::future::Future;

tokio::task_local! {
    static PRINCIPAL: String;
}

/// Runs `work` with `principal` as the caller of every backend exchange it makes.
pub async fn on_behalf_of<F: Future>(principal: &str, work: F) -> F::Output {
    PRINCIPAL.scope(principal.to_owned(), work).await
}

/// The id of the principal the current exchange is made for, if any.
pub(super) fn principal() -> Option<String> {
    PRINCIPAL.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_caller_is_known_only_inside_its_scope() {
        assert_eq!(principal(), None);
        let seen = on_behalf_of("key-1", async { principal() }).await;
        assert_eq!(seen.as_deref(), Some("key-1"));
        assert_eq!(principal(), None);
    }
}
