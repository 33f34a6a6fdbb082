//! The messages between the gateway (host) and the sandbox process, and the caps the host holds every
//! message to.
//!
//! A frame is a 4-byte big-endian length and that many bytes of JSON, over the child's stdin (host →
//! sandbox) and stdout (sandbox → host). The exchange is strictly alternating: the host sends the
//! [`Job`](crate::code::Job); the sandbox answers with a batch of tool calls or with its outcome; after a
//! batch, the host sends one [`ToolReply`] frame per call, then reads again. So at most one batch is ever
//! pending, and the host never holds more of the sandbox's data than one frame.
//!
//! The host reads a frame's length before its body and refuses one over the cap without reading it,
//! so a hostile sandbox cannot make the gateway allocate: the caps below are derived from the
//! execution's [`Limits`], and exceeding any of them ends the execution (see `host`).

use std::io::{self, Read, Write};

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::code::{
    config::Limits,
    engine::{Outcome, ToolRequest, MAX_BATCH, MAX_BATCH_BYTES},
};

/// What the sandbox sends the host.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum FromWorker {
    /// Tool calls to run; the host answers each with a `ToolReply` frame, in any order.
    Calls(Vec<ToolRequest>),
    /// The execution ended; nothing follows.
    Done(Outcome),
}

/// Upper bound of the job frame the sandbox reads (code, context and helper names; the host built it).
pub(super) const MAX_JOB_FRAME: usize = 16 << 20;
/// JSON around one call in a batch: `{"id":4294967295,"name":"","arguments":""}` and escapes of the name.
const CALL_OVERHEAD: usize = 64;

/// The caps the host applies to what one sandbox sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Caps {
    /// A `Calls` frame.
    pub calls_frame: usize,
    /// The `Done` frame: console output and the return value, each within its limit, as JSON (an
    /// escaped control character is 6 bytes, a line costs its quotes and comma).
    pub done_frame: usize,
    /// Every frame of one execution together.
    pub total: usize,
}

impl Caps {
    pub fn for_limits(limits: &Limits) -> Self {
        let calls_frame = MAX_BATCH_BYTES.max(limits.arguments_chars)
            + MAX_BATCH * (2 * limits.tool_name_bytes + CALL_OVERHEAD)
            + CALL_OVERHEAD;
        let done_frame = 10 * (limits.output_chars + limits.return_chars) + (64 << 10);
        let total = limits.exchange_bytes + limits.max_tool_calls * (2 * limits.tool_name_bytes + CALL_OVERHEAD);
        Self { calls_frame, done_frame, total: total + done_frame }
    }

    /// The largest frame of any kind (the kind is only known once the frame is read).
    pub fn frame(&self) -> usize {
        self.calls_frame.max(self.done_frame)
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum FrameError {
    #[error("a message of {size} bytes, over the limit of {cap}")]
    TooLarge { size: usize, cap: usize },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// One frame: the length header and the JSON of `value`.
pub(super) fn encode(value: &impl Serialize) -> io::Result<Vec<u8>> {
    let mut frame = vec![0; 4];
    serde_json::to_writer(&mut frame, value)?;
    let len = u32::try_from(frame.len() - 4).map_err(|_| io::Error::other("frame over 4 GiB"))?;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    Ok(frame)
}

/// Writes one frame (the sandbox side: blocking pipes).
pub(super) fn write_frame(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    out.write_all(&encode(value)?)?;
    out.flush()
}

/// Reads one frame of at most `cap` bytes; `None` at a clean end of input (the host closed the pipe).
pub(super) fn read_frame<T: DeserializeOwned>(input: &mut impl Read, cap: usize) -> Result<Option<T>, FrameError> {
    let mut header = [0; 4];
    match input.read_exact(&mut header) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error.into()),
    }
    let mut body = vec![0; body_size(header, cap)?];
    input.read_exact(&mut body)?;
    Ok(Some(serde_json::from_slice(&body).map_err(io::Error::from)?))
}

/// Writes one encoded frame (the host side).
pub(super) async fn send(out: &mut (impl AsyncWrite + Unpin), frame: &[u8]) -> io::Result<()> {
    out.write_all(frame).await?;
    out.flush().await
}

/// Reads one frame's bytes, refusing one over `cap` before reading its body; `None` at a clean end of
/// input (the sandbox exited or closed its output).
pub(super) async fn receive(input: &mut (impl AsyncRead + Unpin), cap: usize) -> Result<Option<Vec<u8>>, FrameError> {
    let mut header = [0; 4];
    match input.read_exact(&mut header).await {
        Ok(_) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error.into()),
    }
    let mut body = vec![0; body_size(header, cap)?];
    input.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// The body size a frame's header announces, refused over `cap` before anything is allocated for it.
fn body_size(header: [u8; 4], cap: usize) -> Result<usize, FrameError> {
    let size = u32::from_be_bytes(header) as usize;
    if size > cap {
        return Err(FrameError::TooLarge { size, cap });
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut pipe = Vec::new();
        let calls = FromWorker::Calls(vec![ToolRequest { id: 7, name: "demo_add".into(), arguments: "{}".into() }]);
        write_frame(&mut pipe, &calls).unwrap();
        assert_eq!(u32::from_be_bytes(pipe[..4].try_into().unwrap()) as usize, pipe.len() - 4);
        let read: Option<FromWorker> = read_frame(&mut pipe.as_slice(), 1 << 10).unwrap();
        assert!(matches!(read, Some(FromWorker::Calls(c)) if c[0].id == 7 && c[0].name == "demo_add"));
        let empty: Option<FromWorker> = read_frame(&mut [].as_slice(), 1 << 10).unwrap();
        assert!(empty.is_none());
    }

    #[tokio::test]
    async fn an_oversized_frame_is_refused_before_its_body_is_read() {
        // Announces 1 GiB and sends nothing more: refused on the header alone, nothing allocated.
        let announced = (1u32 << 30).to_be_bytes();
        let error = receive(&mut announced.as_slice(), 1 << 20).await.unwrap_err();
        assert!(matches!(error, FrameError::TooLarge { size, cap } if size == 1 << 30 && cap == 1 << 20));
        // A truncated frame is an I/O error, a closed pipe the end.
        let truncated = [0, 0, 0, 9, b'{'];
        assert!(matches!(receive(&mut truncated.as_slice(), 64).await, Err(FrameError::Io(_))));
        assert!(receive(&mut [].as_slice(), 64).await.unwrap().is_none());
    }

    #[test]
    fn caps_follow_the_limits() {
        let caps = Caps::for_limits(&Limits::default());
        // One batch: 16 calls with 4 MiB of arguments in all, plus their names.
        assert!(caps.calls_frame > MAX_BATCH_BYTES && caps.calls_frame < MAX_BATCH_BYTES + (64 << 10));
        assert!(caps.done_frame >= 10 * 204_800 && caps.done_frame < 3 << 20);
        assert!(caps.total > 32 << 20 && caps.total < 40 << 20);
        let big = Caps::for_limits(&Limits { arguments_chars: 16 << 20, ..Limits::default() });
        assert!(big.calls_frame > 16 << 20, "a single call over the batch size still fits a frame");
    }
}
