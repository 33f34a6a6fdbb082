//! What one request did on its way, noted where it happens and read once when it ends: the backend calls
//! it made, the PII tokens it minted and the AWS calls it cost. A task-local, so the backend client and the PII hooks need no
//! handle on the request; outside a scope (background work) the notes go straight to the counters.

use std::{cell::RefCell, future::Future, time::Duration};

use super::{metrics, BackendCall};

tokio::task_local! {
    static NOTES: RefCell<Notes>;
}

/// The notes of one request.
#[derive(Debug, Default, Clone)]
pub struct Notes {
    /// (backend id, latency, reached) per exchange, in order.
    calls: Vec<(String, Duration, bool)>,
    pub pii_tokens: u64,
    /// Times the request met a full PII vault (new values redacted).
    pub pii_vault_full: u64,
    /// AWS calls made while serving it (counted by the SDK interceptor, see `aws::counted`).
    pub aws: crate::aws::Calls,
}

impl Notes {
    /// The request's one backend, when every exchange went to the same one (calls, reads, prompts: the
    /// usual case), with their summed latency; `None` for none or several (a merged list).
    pub fn single_backend(&self) -> Option<BackendCall<'_>> {
        let (first, _, _) = self.calls.first()?;
        if self.calls.iter().any(|(id, _, _)| id != first) {
            return None;
        }
        let latency = self.calls.iter().map(|(_, latency, _)| *latency).sum();
        Some(BackendCall { id: first, latency, ok: self.calls.iter().all(|(_, _, ok)| *ok) })
    }

    /// Adds the notes of another part of the same request (the streamed part of a reply).
    pub fn merge(&mut self, other: Notes) {
        self.calls.extend(other.calls);
        self.pii_tokens += other.pii_tokens;
    }

    /// Every exchange, for counting them one by one when there is no single backend.
    pub fn calls(&self) -> impl Iterator<Item = BackendCall<'_>> {
        self.calls.iter().map(|(id, latency, ok)| BackendCall { id, latency: *latency, ok: *ok })
    }
}

/// Runs `future` with a fresh set of notes and returns them with its output.
pub async fn scoped<F: Future>(future: F) -> (F::Output, Notes) {
    let ((output, mut notes), aws) = crate::aws::counted(NOTES.scope(RefCell::new(Notes::default()), async move {
        let output = future.await;
        (output, NOTES.with(|notes| notes.take()))
    }))
    .await;
    notes.aws = aws;
    (output, notes)
}

/// One exchange with a backend: `reached` is false when it could not be reached or timed out.
pub fn note_backend(id: &str, latency: Duration, reached: bool) {
    let noted = NOTES.try_with(|notes| notes.borrow_mut().calls.push((id.to_owned(), latency, reached)));
    if noted.is_err() {
        metrics().record_backend(&BackendCall { id, latency, ok: reached });
    }
}

/// PII tokens minted.
pub fn note_pii_tokens(minted: u64) {
    if NOTES.try_with(|notes| notes.borrow_mut().pii_tokens += minted).is_err() {
        metrics().add_pii_tokens(minted);
    }
}

/// A PII vault at its cap redacted new values.
pub fn note_pii_vault_full() {
    if NOTES.try_with(|notes| notes.borrow_mut().pii_vault_full += 1).is_err() {
        metrics().add_pii_vault_full(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notes_stay_with_their_request() {
        let ((), notes) = scoped(async {
            note_backend("demo", Duration::from_millis(2), true);
            note_backend("demo", Duration::from_millis(3), true);
            note_pii_tokens(2);
            note_pii_vault_full();
        })
        .await;
        let backend = notes.single_backend().unwrap();
        assert_eq!((backend.id, backend.latency, backend.ok), ("demo", Duration::from_millis(5), true));
        assert_eq!((notes.pii_tokens, notes.pii_vault_full), (2, 1));
        let ((), other) = scoped(async { note_backend("a", Duration::ZERO, true) }).await;
        assert_eq!(other.single_backend().map(|b| b.id), Some("a"), "a fresh scope starts empty");
    }

    #[tokio::test]
    async fn several_backends_have_no_single_one() {
        let ((), notes) = scoped(async {
            note_backend("a", Duration::from_millis(1), true);
            note_backend("b", Duration::from_millis(1), false);
        })
        .await;
        assert!(notes.single_backend().is_none());
        assert_eq!(notes.calls().filter(|c| !c.ok).count(), 1);
    }
}
