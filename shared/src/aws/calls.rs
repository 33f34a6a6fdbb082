//! Every AWS call the gateway makes, counted by an SDK interceptor on each of its clients: per operation
//! for the process ([`totals`], on `/metrics`), and per request ([`counted`]) with the number of round
//! trips they took (calls issued together, e.g. a rate-limit write and a session read, are one round trip).
//! Counting is what makes "one store round trip per request" a measured, tested property.

use std::{
    cell::Cell,
    future::Future,
    sync::atomic::{AtomicU64, Ordering},
};

use aws_sdk_dynamodb::config::{
    interceptors::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef},
    ConfigBag, Intercept, RuntimeComponents,
};
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// The operations the gateway uses, as metric labels; anything else is `other`.
pub const OPERATIONS: [&str; 11] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchGetItem",
    "BatchWriteItem",
    "Query",
    "TransactWriteItems",
    "TransactGetItems",
    "GetSecretValue",
    "other",
];

static TOTALS: [AtomicU64; OPERATIONS.len()] = [const { AtomicU64::new(0) }; OPERATIONS.len()];

/// Calls made (attempts sent, retries included) per operation since the process started.
pub fn totals() -> impl Iterator<Item = (&'static str, u64)> {
    OPERATIONS.iter().zip(&TOTALS).map(|(op, n)| (*op, n.load(Ordering::Relaxed)))
}

/// What one request cost in AWS calls.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Calls {
    /// Attempts sent, retries included.
    pub calls: u64,
    /// Sequential waves of calls: a call sent while another is in flight joins its round trip.
    pub round_trips: u64,
}

#[derive(Default)]
struct Tally {
    calls: Cell<u64>,
    round_trips: Cell<u64>,
    in_flight: Cell<u64>,
}

tokio::task_local! {
    static REQUEST: Tally;
}

/// Runs `future` and returns what it cost in AWS calls (made from its own task; work it spawns is not
/// counted). Inside another `counted`, the calls count for both.
pub async fn counted<F: Future>(future: F) -> (F::Output, Calls) {
    let snapshot = || REQUEST.try_with(|t| Calls { calls: t.calls.get(), round_trips: t.round_trips.get() });
    if let Ok(before) = snapshot() {
        let output = future.await;
        let after = snapshot().unwrap_or(before);
        let calls = after.calls - before.calls;
        return (output, Calls { calls, round_trips: after.round_trips - before.round_trips });
    }
    REQUEST
        .scope(Tally::default(), async move {
            let output = future.await;
            let calls = REQUEST.with(|t| Calls { calls: t.calls.get(), round_trips: t.round_trips.get() });
            (output, calls)
        })
        .await
}

/// The interceptor every client of the gateway carries.
#[derive(Debug)]
pub struct CountCalls;

/// Marks an attempt that was sent, so its end is counted once.
#[derive(Debug, Clone)]
struct Sent;

impl Storable for Sent {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        // Both services speak AWS JSON: the operation is the `X-Amz-Target` after the dot.
        let target = context.request().headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default();
        let index = OPERATIONS.iter().position(|op| *op == operation).unwrap_or(OPERATIONS.len() - 1);
        TOTALS[index].fetch_add(1, Ordering::Relaxed);
        cfg.interceptor_state().store_put(Sent);
        let _ = REQUEST.try_with(|t| {
            if t.in_flight.get() == 0 {
                t.round_trips.set(t.round_trips.get() + 1);
            }
            t.in_flight.set(t.in_flight.get() + 1);
            t.calls.set(t.calls.get() + 1);
        });
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        if cfg.load::<Sent>().is_some() {
            cfg.interceptor_state().unset::<Sent>();
            let _ = REQUEST.try_with(|t| t.in_flight.set(t.in_flight.get().saturating_sub(1)));
        }
        Ok(())
    }
}
