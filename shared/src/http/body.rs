//! Response bodies: buffered (every route) or an event stream written while the request is still being
//! served (`/mcp` when it streams). Both implement `http_body::Body`, so the Lambda streaming runtime and
//! the plain server send each piece as it comes; the buffered Lambda runtime collects a body whole.
//!
//! A stream has two ends: the [`SseSender`] the route writes to, and the body the runtime reads. When the
//! writer is done (or dropped) the stream ends, and the request's telemetry, which `finish` deferred to
//! that moment, is recorded with what the writer noted on its way.

use std::{
    convert::Infallible,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::Frame;
use lambda_http::Body;
use tokio::sync::mpsc;

use crate::telemetry::Notes;

/// How many pieces may wait for a slow reader before the writer waits too.
const CAPACITY: usize = 64;

/// A response body.
pub enum ResponseBody {
    Full(Body),
    Stream(StreamBody),
}

impl From<Body> for ResponseBody {
    fn from(body: Body) -> Self {
        ResponseBody::Full(body)
    }
}

impl ResponseBody {
    /// The whole body, waiting for a stream to end (the buffered runtime, tests).
    pub async fn collect(self) -> Body {
        match self {
            ResponseBody::Full(body) => body,
            ResponseBody::Stream(mut stream) => {
                let mut bytes = Vec::new();
                while let Some(piece) = stream.rx.recv().await {
                    bytes.extend_from_slice(&piece);
                }
                Body::Text(String::from_utf8_lossy(&bytes).into_owned())
            }
        }
    }

    /// `response` with its body read whole: what a runtime that cannot stream (the buffered Lambda
    /// runtime) sends.
    pub async fn buffered(response: ::http::Response<ResponseBody>) -> ::http::Response<Body> {
        let (parts, body) = response.into_parts();
        ::http::Response::from_parts(parts, body.collect().await)
    }

    /// Where a streamed body reports its end, for `finish` to defer telemetry to it.
    pub(super) fn end(&self) -> Option<&Arc<StreamEnd>> {
        match self {
            ResponseBody::Full(_) => None,
            ResponseBody::Stream(stream) => Some(&stream.end),
        }
    }
}

/// The reading end of a stream.
pub struct StreamBody {
    rx: mpsc::Receiver<Bytes>,
    end: Arc<StreamEnd>,
}

impl StreamBody {
    /// The next piece, `None` once the writer is done (tests read streams piece by piece).
    pub async fn next(&mut self) -> Option<Bytes> {
        self.rx.recv().await
    }
}

/// The writing end of a stream.
pub struct SseSender {
    tx: mpsc::Sender<Bytes>,
    end: Arc<StreamEnd>,
}

/// A new stream: its writer, and the body to put in the response.
pub fn stream() -> (SseSender, ResponseBody) {
    let (tx, rx) = mpsc::channel(CAPACITY);
    let end = Arc::new(StreamEnd::default());
    (SseSender { tx, end: end.clone() }, ResponseBody::Stream(StreamBody { rx, end }))
}

impl SseSender {
    /// Writes one piece; `false` once the reader is gone (the client disconnected).
    pub async fn send(&self, piece: Bytes) -> bool {
        self.tx.send(piece).await.is_ok()
    }

    /// Whether the reader is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Resolves when the reader is gone (the client disconnected, where the runtime tells).
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    /// Ends the stream; what the writer noted on its way is added to the request's telemetry.
    pub fn close(self, notes: Notes) {
        self.end.ended(notes);
    }
}

impl Drop for SseSender {
    fn drop(&mut self) {
        // A writer dropped without `close` (a panic, an aborted task) still ends the stream's telemetry.
        self.end.ended(Notes::default());
    }
}

/// What happens when a stream ends: the deferred telemetry, or the notes waiting for it.
type Deferred = Box<dyn FnOnce(Notes) + Send>;

/// Where a stream reports its end (opaque outside this module).
#[derive(Default)]
pub struct StreamEnd {
    state: Mutex<EndState>,
}

#[derive(Default)]
struct EndState {
    deferred: Option<Deferred>,
    /// The writer's notes, when it ended before `finish` deferred anything.
    ended: Option<Notes>,
    done: bool,
}

impl StreamEnd {
    /// Runs `record` when the stream ends (now, if it already has).
    pub(super) fn on_end(&self, record: Deferred) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match state.ended.take() {
            Some(notes) => {
                drop(state);
                record(notes);
            }
            None if state.done => {}
            None => state.deferred = Some(record),
        }
    }

    fn ended(&self, notes: Notes) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.done {
            return;
        }
        state.done = true;
        match state.deferred.take() {
            Some(record) => {
                drop(state);
                record(notes);
            }
            None => state.ended = Some(notes),
        }
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            ResponseBody::Full(body) => {
                let bytes = match std::mem::take(body) {
                    Body::Empty => return Poll::Ready(None),
                    Body::Text(text) => Bytes::from(text),
                    Body::Binary(bytes) => Bytes::from(bytes),
                    _ => return Poll::Ready(None),
                };
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            ResponseBody::Stream(stream) => stream.rx.poll_recv(cx).map(|piece| piece.map(|p| Ok(Frame::data(p)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Full(Body::Empty))
    }
}

/// One SSE event carrying `data` (a JSON-RPC message), with an id when the stream is resumable.
pub fn sse_event(data: &str, id: Option<&str>) -> Bytes {
    let mut text = String::with_capacity(data.len() + 32);
    if let Some(id) = id {
        text.push_str("id: ");
        text.push_str(id);
        text.push('\n');
    }
    // A JSON text has no raw line breaks, but one data line per line keeps any text a valid event.
    for line in data.split('\n') {
        text.push_str("data: ");
        text.push_str(line.trim_end_matches('\r'));
        text.push('\n');
    }
    text.push('\n');
    Bytes::from(text)
}

/// A comment: keeps an idle connection open, and every proxy on the way sees traffic.
pub fn sse_comment() -> Bytes {
    Bytes::from_static(b": keep-alive\n\n")
}

/// The first event of a resumable stream: its id and the reconnection delay, no data.
pub fn sse_priming(id: &str, retry_ms: u64) -> Bytes {
    Bytes::from(format!("id: {id}\nretry: {retry_ms}\ndata: \n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_stream_delivers_pieces_in_order_and_ends_with_its_writer() {
        let (sender, body) = stream();
        let reader = tokio::spawn(async move { body.collect().await });
        assert!(sender.send(sse_event("{\"a\":1}", Some("s-1"))).await);
        assert!(sender.send(sse_comment()).await);
        sender.close(Notes::default());
        let Body::Text(text) = reader.await.unwrap() else { panic!("text") };
        assert_eq!(text, "id: s-1\ndata: {\"a\":1}\n\n: keep-alive\n\n");
    }

    #[tokio::test]
    async fn telemetry_runs_once_whether_the_stream_ends_before_or_after_it_is_deferred() {
        let ran = Arc::new(Mutex::new(0));
        let (sender, body) = stream();
        sender.close(Notes::default());
        let counter = ran.clone();
        body.end().unwrap().on_end(Box::new(move |_| *counter.lock().unwrap() += 1));
        assert_eq!(*ran.lock().unwrap(), 1);

        let (sender, body) = stream();
        let counter = ran.clone();
        body.end().unwrap().on_end(Box::new(move |_| *counter.lock().unwrap() += 1));
        drop(sender);
        assert_eq!(*ran.lock().unwrap(), 2, "a dropped writer ends the stream too");
    }

    #[tokio::test]
    async fn a_full_body_is_one_frame() {
        let body = ResponseBody::from(Body::Text("{}".into()));
        assert_eq!(body.collect().await, Body::Text("{}".into()));
        let frames = ResponseBody::from(Body::Empty).collect().await;
        assert_eq!(frames, Body::Empty);
        let bytes = BodyExt::collect(ResponseBody::from(Body::Text("x".into()))).await.unwrap().to_bytes();
        assert_eq!(&bytes[..], b"x");
    }
}
