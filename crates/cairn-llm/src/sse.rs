//! A server-sent events parser over raw bytes (the WHATWG event-stream format).
//!
//! Bytes may arrive split anywhere — inside a line, inside a UTF-8 character, between
//! `\r` and `\n` — so the parser buffers until a whole line is there. Lines end with
//! `\r\n`, `\n` or `\r`; a blank line dispatches the event; `:` lines are comments;
//! `data` lines are joined with `\n`; a leading byte-order mark is dropped.

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `None` means the default type, `message`.
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

/// Largest event the parser buffers. Real events are at most a few MB (a tool call
/// writing a big file); a server streaming without line ends must not exhaust memory.
pub const MAX_EVENT_BYTES: usize = 64 * 1024 * 1024;

/// Why an event stream cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("the event stream is not UTF-8 text (line {line})")]
    NotUtf8 { line: u64 },
    #[error("an event of the stream is larger than {limit} bytes")]
    EventTooLarge { limit: usize },
}

/// Incremental parser: feed chunks with [`SseParser::push`].
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    /// Bytes of `buffer` already searched for a line end (a long line arriving in
    /// many chunks is scanned once, not once per chunk).
    scanned: usize,
    started: bool,
    line: u64,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        SseParser::default()
    }

    /// Feed a chunk; returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        self.buffer.extend_from_slice(chunk);
        if !self.started {
            if self.buffer.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.buffer) {
                return Ok(Vec::new());
            }
            if self.buffer.starts_with(b"\xEF\xBB\xBF") {
                self.buffer.drain(..3);
            }
            self.started = true;
        }
        let mut events = Vec::new();
        let mut start = 0;
        let mut i = self.scanned;
        while i < self.buffer.len() {
            let byte = self.buffer[i];
            if byte != b'\n' && byte != b'\r' {
                i += 1;
                continue;
            }
            // A `\r` at the very end may be the first half of `\r\n`: wait for more.
            if byte == b'\r' && i + 1 == self.buffer.len() {
                break;
            }
            let end = i;
            i += if byte == b'\r' && self.buffer[i + 1] == b'\n' {
                2
            } else {
                1
            };
            self.line += 1;
            let line = std::str::from_utf8(&self.buffer[start..end])
                .map_err(|_| SseError::NotUtf8 { line: self.line })?
                .to_owned();
            start = i;
            if let Some(event) = self.take_line(&line) {
                events.push(event);
            }
        }
        self.buffer.drain(..start);
        self.scanned = i - start;
        if self.buffer.len() + self.data.len() > MAX_EVENT_BYTES {
            return Err(SseError::EventTooLarge {
                limit: MAX_EVENT_BYTES,
            });
        }
        Ok(events)
    }

    /// True when bytes or fields of an undispatched event are pending (the stream
    /// ended mid-event).
    pub fn has_pending(&self) -> bool {
        !self.buffer.is_empty() || self.has_data || self.event.is_some()
    }

    fn take_line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            let event = self.event.take();
            if !self.has_data {
                return None;
            }
            self.has_data = false;
            let mut data = std::mem::take(&mut self.data);
            if data.ends_with('\n') {
                data.pop();
            }
            return Some(SseEvent {
                event,
                data,
                id: self.id.clone(),
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(input: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        for chunk in input.chunks(piece) {
            events.extend(parser.push(chunk).unwrap());
        }
        events
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let input = "\u{feff}: comment\nevent: message_start\ndata: {\"a\":\"é\"}\n\n\
                     data: line1\r\ndata: line2\r\n\r\ndata:no-space\r\rdata: [DONE]\n\n"
            .as_bytes();
        let expected = vec![
            SseEvent {
                event: Some("message_start".into()),
                data: "{\"a\":\"é\"}".into(),
                id: None,
            },
            SseEvent {
                event: None,
                data: "line1\nline2".into(),
                id: None,
            },
            SseEvent {
                event: None,
                data: "no-space".into(),
                id: None,
            },
            SseEvent {
                event: None,
                data: "[DONE]".into(),
                id: None,
            },
        ];
        for piece in 1..=input.len() {
            assert_eq!(
                parse_in_pieces(input, piece),
                expected,
                "piece size {piece}"
            );
        }
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        let events = parse_in_pieces(b"event: ping\n\nid: 7\ndata: x\n\n", 4);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, None);
        assert_eq!(events[0].id.as_deref(), Some("7"));
    }

    #[test]
    fn unfinished_event_is_pending() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"data: {\"half\":").unwrap().is_empty());
        assert!(parser.has_pending());
        let mut parser = SseParser::new();
        parser.push(b"data: x\n\n").unwrap();
        assert!(!parser.has_pending());
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let mut parser = SseParser::new();
        let err = parser.push(b"data: ok\n\ndata: \xff\xfe\n").unwrap_err();
        assert_eq!(err, SseError::NotUtf8 { line: 3 });
    }

    #[test]
    fn a_stream_without_line_ends_stops_at_the_event_limit() {
        let mut parser = SseParser::new();
        parser.push(b"data: ").unwrap();
        let chunk = vec![b'x'; 1024 * 1024];
        let mut pushed = 0;
        let err = loop {
            match parser.push(&chunk) {
                Ok(events) => assert!(events.is_empty()),
                Err(e) => break e,
            }
            pushed += chunk.len();
            assert!(pushed <= MAX_EVENT_BYTES, "no error after {pushed} bytes");
        };
        assert_eq!(
            err,
            SseError::EventTooLarge {
                limit: MAX_EVENT_BYTES
            }
        );
    }

    #[test]
    fn a_long_line_in_many_chunks_is_one_event() {
        let text = "y".repeat(100_000);
        let input = format!("data: {text}\n\n");
        let events = parse_in_pieces(input.as_bytes(), 7);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, text);
    }
}
