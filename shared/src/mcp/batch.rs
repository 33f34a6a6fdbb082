//! JSON-RPC batches (2025-03-26 only). Each message is admitted and charged like a request of its own
//! (the caller's limit, then any per-tool limit), a batch holds at most `GATEWAY_MAX_BATCH` messages, and
//! its messages run a few at a time, so one batch can neither buy many calls for the price of one nor
//! flood a backend and open its breaker for everyone.

use ::http::{HeaderMap, Response, StatusCode};
use futures_util::{stream, StreamExt};
use lambda_http::Body;
use serde_json::Value;

use super::{handler, session, upstream::Ctx};
use crate::{
    gate::{self, Caller},
    http,
    protocol::{jsonrpc, version, Era},
    ratelimit::Decision,
    App, GatewayError,
};

/// Messages of one batch in flight at once.
pub const CONCURRENCY: usize = 4;

/// Answers a batch; `decision` ends as the caller's limit state after the last message charged.
pub async fn answer(
    app: &App,
    headers: &HeaderMap,
    caller: &Caller,
    messages: Vec<Value>,
    decision: &mut Option<Decision>,
) -> Response<Body> {
    match run(app, headers, caller, messages, decision).await {
        Ok(response) => response,
        Err(error) => http::error(&error, &Value::Null, Era::Legacy),
    }
}

async fn run(
    app: &App,
    headers: &HeaderMap,
    caller: &Caller,
    messages: Vec<Value>,
    decision: &mut Option<Decision>,
) -> Result<Response<Body>, GatewayError> {
    // The batch as a whole is one request until it is known to be acceptable.
    if messages.is_empty() || messages.len() > app.config.max_batch {
        *decision = gate::charge(app, &caller.budget).await?;
        return Err(GatewayError::InvalidRequest(match messages.len() {
            0 => "an empty batch is not a request".to_owned(),
            n => format!("a batch may hold at most {} messages; this one has {n}", app.config.max_batch),
        }));
    }
    *decision = gate::charge(app, &caller.budget).await?;
    let principal = &caller.principal;
    let found = session::load(app, headers, principal).await?;
    if !version::allows_batches(&found.protocol_version) {
        return Err(GatewayError::InvalidRequest(format!(
            "JSON-RPC batches are only accepted in protocol version 2025-03-26; this session uses {}",
            found.protocol_version
        )));
    }
    let mut ctx = Ctx::new(app, principal, found);
    ctx.budget = Some(caller.budget.clone());
    // The first message was charged above, with the batch; every further one is charged on its own.
    let replies: Vec<(Option<Value>, Option<Decision>)> = {
        let ctx = &ctx;
        stream::iter(messages.into_iter().enumerate())
            .map(|(i, message)| async move { one(ctx, caller, message, i > 0).await })
            .buffered(CONCURRENCY)
            .collect()
            .await
    };
    session::save(app, ctx).await;
    let mut answered = Vec::new();
    for (reply, charged) in replies {
        *decision = latest(decision.take(), charged);
        answered.extend(reply);
    }
    if answered.is_empty() {
        return Ok(http::empty(StatusCode::ACCEPTED));
    }
    Ok(http::json(StatusCode::OK, &Value::Array(answered)))
}

/// One message of the batch: charged (unless it was charged with the batch), then answered.
async fn one(ctx: &Ctx<'_>, caller: &Caller, message: Value, charge: bool) -> (Option<Value>, Option<Decision>) {
    let id = jsonrpc::id_of(&message);
    let mut decision = None;
    if charge {
        match gate::charge(ctx.app, &caller.budget).await {
            Ok(charged) => decision = charged,
            Err(refused) => return (Some(jsonrpc::failure(&id, refused.mapping(Era::Legacy).error)), None),
        }
    }
    let reply = match jsonrpc::classify(&message) {
        Err(error) => Some(jsonrpc::failure(&id, GatewayError::from(error).mapping(Era::Legacy).error)),
        Ok(incoming) => handler::answer(ctx, incoming).await.map(|(id, reply)| match reply {
            Ok(result) => jsonrpc::success(&id, result),
            Err(error) => jsonrpc::failure(&id, error.mapping(Era::Legacy).error),
        }),
    };
    (reply, decision)
}

/// Of two limit states, the later one: a later window, else fewer requests left. The messages of a
/// batch are charged concurrently, so the last one answered is not necessarily the last one charged.
fn latest(a: Option<Decision>, b: Option<Decision>) -> Option<Decision> {
    match (a, b) {
        (Some(a), Some(b)) => {
            Some(if (b.reset, std::cmp::Reverse(b.remaining)) > (a.reset, std::cmp::Reverse(a.remaining)) {
                b
            } else {
                a
            })
        }
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(remaining: u64, reset: u64) -> Option<Decision> {
        Some(Decision { allowed: true, limit: 100, remaining, reset, window_secs: 60 })
    }

    #[test]
    fn the_reported_state_is_the_last_charge_whatever_order_the_answers_came_in() {
        assert_eq!(latest(state(90, 60), state(93, 60)).map(|d| d.remaining), Some(90));
        assert_eq!(latest(state(93, 60), state(90, 60)).map(|d| d.remaining), Some(90));
        assert_eq!(latest(state(2, 60), state(99, 120)).map(|d| d.remaining), Some(99), "a new window wins");
        assert_eq!(latest(None, state(5, 60)).map(|d| d.remaining), Some(5));
        assert_eq!(latest(state(5, 60), None).map(|d| d.remaining), Some(5));
    }
}
