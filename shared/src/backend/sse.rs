//! Incremental `text/event-stream` parser (WHATWG HTML §9.2): bytes in, complete events out.
//! Backends may answer a POST with an SSE stream carrying notifications before the response; the last
//! event id and the `retry` hint are kept so a stream that ends early can be resumed (SEP-1699).

/// One dispatched event. `event` is empty for the default `message` type.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: String,
    pub data: String,
}

#[derive(Debug, Default)]
pub struct Parser {
    buffer: Vec<u8>,
    /// Where the search for the next line break resumes: bytes before it hold none. Without it a long
    /// line arriving in many chunks would be rescanned from its start on every chunk.
    scanned: usize,
    event: String,
    data: Vec<String>,
    /// Bytes of the event being assembled (its data lines so far).
    data_bytes: usize,
    /// The stream's last event id (it persists across events, as the spec says).
    last_event_id: Option<String>,
    /// The reconnection delay the server asked for, in milliseconds.
    retry: Option<u64>,
}

impl Parser {
    /// Feeds a chunk and returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        let mut search = self.scanned;
        loop {
            let Some(offset) = self.buffer[search..].iter().position(|b| *b == b'\n' || *b == b'\r') else {
                search = self.buffer.len();
                break;
            };
            let end = search + offset;
            // A CR immediately followed by LF is one line break; a lone CR at the end of the buffer may
            // still be followed by LF in the next chunk, so wait for more input.
            if self.buffer[end] == b'\r' && end + 1 == self.buffer.len() {
                search = end;
                break;
            }
            let crlf = self.buffer[end] == b'\r' && self.buffer[end + 1] == b'\n';
            let line = String::from_utf8_lossy(&self.buffer[start..end]).into_owned();
            start = end + if crlf { 2 } else { 1 };
            search = start;
            if let Some(event) = self.line(&line) {
                events.push(event);
            }
        }
        self.buffer.drain(..start);
        self.scanned = search - start;
        events
    }

    /// Bytes held for the event not yet complete (an unfinished line plus its data so far): what a
    /// bound on the size of one event is checked against.
    pub fn pending(&self) -> usize {
        self.buffer.len() + self.data_bytes
    }

    /// The id of the last event seen with one (priming events included), for `Last-Event-ID`.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_event_id.as_deref()
    }

    /// The `retry` hint, if the server sent one.
    pub fn retry(&self) -> Option<std::time::Duration> {
        self.retry.map(std::time::Duration::from_millis)
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            if self.data.is_empty() {
                self.event.clear();
                return None;
            }
            self.data_bytes = 0;
            let data = std::mem::take(&mut self.data).join("\n");
            return Some(Event { event: std::mem::take(&mut self.event), data });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => {
                self.data_bytes += value.len() + 1;
                self.data.push(value.to_owned());
            }
            "event" => self.event = value.to_owned(),
            // An id containing NUL is ignored (WHATWG); an empty one resets it.
            "id" if !value.contains('\0') => {
                self.last_event_id = (!value.is_empty()).then(|| value.to_owned());
            }
            "retry" => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry = Some(ms);
                }
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_chunks_and_line_endings() {
        let mut p = Parser::default();
        assert!(p.feed(b"event: message\r\ndata: {\"a\"").is_empty());
        let events = p.feed(b":1}\r\n\r\n: comment\n\nid: 7\ndata: x\ndata:y\n\n");
        assert_eq!(
            events,
            vec![
                Event { event: "message".into(), data: "{\"a\":1}".into() },
                Event { event: String::new(), data: "x\ny".into() }
            ]
        );
    }

    #[test]
    fn cr_only_line_endings_wait_for_a_possible_lf() {
        let mut p = Parser::default();
        assert!(p.feed(b"data: a\r").is_empty());
        assert_eq!(p.feed(b"\r").len(), 0);
        assert_eq!(p.feed(b"\n").len(), 1);
    }

    #[test]
    fn priming_events_without_data_are_skipped_but_their_id_and_retry_are_kept() {
        let mut p = Parser::default();
        assert!(p.feed(b"id: 1\ndata:\n\n").iter().all(|e| e.data.is_empty()));
        assert!(p.feed(b"id: 2\nretry: 5000\n\n").is_empty());
        assert_eq!((p.last_event_id(), p.retry()), (Some("2"), Some(std::time::Duration::from_secs(5))));
        p.feed(b"retry: soon\ndata: x\n\n");
        assert_eq!((p.last_event_id(), p.retry()), (Some("2"), Some(std::time::Duration::from_secs(5))));
    }

    #[test]
    fn pending_counts_the_unfinished_event() {
        let mut p = Parser::default();
        p.feed(b"data: 12345\ndata: 678");
        assert_eq!(p.pending(), 6 + 9);
        p.feed(b"\n\n");
        assert_eq!(p.pending(), 0);
    }
}
