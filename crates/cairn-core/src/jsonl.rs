//! Session JSONL v1, the interchange format of ARCHITECTURE.md.
//!
//! Line 1 is a [`Header`]; every other line is one [`Event`] in its serde form. The
//! [`Reader`] streams a file line by line (a 100 MB export is never one `String`)
//! and checks every line as it goes: UTF-8, JSON, types, a dense seq from 1 and
//! compaction ranges that lie before the compaction. The first bad line stops it
//! with a [`JsonlError`] naming the line and the reason, so a caller that reads the
//! whole file before writing anything imports nothing from a bad file.

use crate::json_kind::json_kind;
use std::fmt;
use std::io::{self, BufRead, Read, Write};

use serde_json::{Map, Value};

use crate::{Event, Payload, Project, SessionName, Timestamp};

/// The `format` of line 1.
pub const FORMAT: &str = "cairn.session";
/// The only `version` this reader understands.
pub const VERSION: u64 = 1;
/// Longest line accepted by default. Tool results reach a few hundred KB and images
/// travel base64-encoded inline, so the bound is generous; it exists so that a file
/// with no newlines cannot make the reader buffer without end.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// Most tokens one event may say it used. No request reaches this (a million-token
/// context window is the largest today); a file claiming more is not a real log.
pub const MAX_EVENT_TOKENS: u64 = 1_000_000_000_000;

/// Longest reason an error carries.
const MAX_REASON_BYTES: usize = 400;

const HEADER_KEYS: [&str; 8] = [
    "format",
    "version",
    "name",
    "title",
    "project",
    "project_key",
    "model",
    "created_at",
];

/// Line 1 of a session file.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// The session's name as written in the file. It is checked with
    /// [`Header::session_name`] only when used, so that a file with a refused name
    /// can still be imported under another one.
    pub name: String,
    pub title: Option<String>,
    pub project: Project,
    pub model: Option<String>,
    pub created_at: Timestamp,
    /// Fields this version does not know, kept verbatim and in order.
    pub extra: Map<String, Value>,
}

impl Header {
    pub fn new(name: &SessionName, project: Project, created_at: Timestamp) -> Self {
        Header {
            name: name.as_str().to_owned(),
            title: None,
            project,
            model: None,
            created_at,
            extra: Map::new(),
        }
    }

    /// The header's name checked against the name rule.
    pub fn session_name(&self) -> crate::Result<SessionName> {
        SessionName::parse(&self.name)
    }

    /// The header as one JSON object, keys in the order of ARCHITECTURE.md.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("format".into(), FORMAT.into());
        map.insert("version".into(), VERSION.into());
        map.insert("name".into(), self.name.clone().into());
        map.insert("title".into(), self.title.clone().into());
        map.insert("project".into(), self.project.as_str().into());
        // Only when it differs from the path: files of projects without a key
        // (and every file written before keys) stay as they were.
        if self.project.key() != self.project.as_str() {
            map.insert("project_key".into(), self.project.key().into());
        }
        map.insert("model".into(), self.model.clone().into());
        map.insert("created_at".into(), self.created_at.to_string().into());
        for (key, value) in &self.extra {
            if !HEADER_KEYS.contains(&key.as_str()) {
                map.insert(key.clone(), value.clone());
            }
        }
        map
    }

    /// Check a parsed line 1; the error is the reason without the line number.
    pub fn from_json(mut map: Map<String, Value>) -> Result<Self, String> {
        match map.shift_remove("format") {
            Some(Value::String(f)) if f == FORMAT => {}
            Some(Value::String(f)) => {
                return Err(format!(
                    "header field \"format\" is {f:?}, expected \"{FORMAT}\" (is this a cairn session file?)"
                ));
            }
            Some(_) => return Err("header field \"format\" must be a string".into()),
            None => {
                return Err(format!(
                    "missing header: line 1 must be {{\"format\":\"{FORMAT}\",\"version\":{VERSION},…}}"
                ));
            }
        }
        match map.shift_remove("version") {
            Some(v) if v.as_u64() == Some(VERSION) => {}
            Some(v) if v.is_u64() => {
                return Err(format!(
                    "header field \"version\" is {v}; this cairn reads version {VERSION} only"
                ));
            }
            Some(_) => return Err("header field \"version\" must be an integer".into()),
            None => return Err("header has no field \"version\"".into()),
        }
        let name = required_string(&mut map, "name")?;
        let title = optional_string(&mut map, "title")?;
        let project = required_string(&mut map, "project")?;
        if project.is_empty() {
            return Err("header field \"project\" is empty".into());
        }
        let project = match optional_string(&mut map, "project_key")? {
            Some(key) if !key.is_empty() => Project::from_parts(project, key),
            _ => Project::from_stored(project),
        };
        let model = optional_string(&mut map, "model")?;
        let created_raw = required_string(&mut map, "created_at")?;
        let created_at = created_raw.parse::<Timestamp>().map_err(|e| {
            format!("header field \"created_at\" is not an RFC 3339 time ({created_raw:?}): {e}")
        })?;
        Ok(Header {
            name,
            title,
            project,
            model,
            created_at,
            extra: map,
        })
    }
}

fn required_string(map: &mut Map<String, Value>, key: &str) -> Result<String, String> {
    match map.shift_remove(key) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "header field \"{key}\" must be a string, found {}",
            json_kind(&other)
        )),
        None => Err(format!("header has no field \"{key}\"")),
    }
}

fn optional_string(map: &mut Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match map.shift_remove(key) {
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Null) | None => Ok(None),
        Some(other) => Err(format!(
            "header field \"{key}\" must be a string or null, found {}",
            json_kind(&other)
        )),
    }
}

/// A bad session file: which line and why.
#[derive(Debug)]
pub enum JsonlError {
    /// Line `line` (1-based) breaks the format.
    Line { line: u64, reason: String },
    /// The file could not be read.
    Io(io::Error),
}

impl fmt::Display for JsonlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonlError::Line { line, reason } => write!(f, "line {line}: {reason}"),
            JsonlError::Io(e) => write!(f, "cannot read the file: {e}"),
        }
    }
}

impl std::error::Error for JsonlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JsonlError::Io(e) => Some(e),
            JsonlError::Line { .. } => None,
        }
    }
}

impl JsonlError {
    /// The reason is cut short: serde quotes the offending value, and on a 20 MB
    /// line that would be a 20 MB message.
    pub fn at(line: u64, reason: impl Into<String>) -> Self {
        let mut reason = reason.into();
        if reason.len() > MAX_REASON_BYTES {
            let mut cut = MAX_REASON_BYTES;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
            reason.push_str("… (cut)");
        }
        JsonlError::Line { line, reason }
    }

    /// As a domain error that names the file (`InvalidInput`, so exit code 2).
    pub fn into_error(self, file: &str) -> crate::Error {
        match self {
            JsonlError::Io(e) => crate::Error::io(format!("cannot read {file}"), e),
            line => crate::Error::invalid(format!("{file}: {line}")),
        }
    }
}

/// Streams and checks a session file, one line at a time.
pub struct Reader<R> {
    lines: Lines<R>,
    header: Header,
    /// Seq of the last event and the line it was on.
    last: Option<(u64, u64)>,
    /// Sum of the events' `cost_usd` so far; it must stay finite.
    total_cost: f64,
    done: bool,
}

impl<R: BufRead> Reader<R> {
    /// Reads and checks the header.
    pub fn new(input: R) -> Result<Self, JsonlError> {
        Reader::with_max_line(input, MAX_LINE_BYTES)
    }

    pub fn with_max_line(input: R, max_line: usize) -> Result<Self, JsonlError> {
        let mut lines = Lines {
            input,
            max_line,
            line: 0,
            buf: Vec::new(),
        };
        let Some(first) = lines.next_object()? else {
            return Err(JsonlError::at(1, "missing header: the file is empty"));
        };
        let header =
            Header::from_json(first).map_err(|reason| JsonlError::at(lines.line, reason))?;
        Ok(Reader {
            lines,
            header,
            last: None,
            total_cost: 0.0,
            done: false,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Number of the last line read.
    pub fn line(&self) -> u64 {
        self.lines.line
    }

    /// Length of the last line read, in bytes (what its event weighs in a queue).
    pub fn line_bytes(&self) -> usize {
        self.lines.buf.len()
    }

    /// The next event, checked against those before it; `None` at the end.
    pub fn next_event(&mut self) -> Result<Option<Event>, JsonlError> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_event();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn read_event(&mut self) -> Result<Option<Event>, JsonlError> {
        let Some((line, text, ended)) = self.lines.next_text()? else {
            return Ok(None);
        };
        // Straight into the event: one parse of the line. A line that does not
        // parse is parsed again as a `Value` for the reason the error gives (not
        // JSON, not an object, a second header, which field), as it always was.
        let event: Event = match serde_json::from_str(text) {
            Ok(event) => event,
            Err(direct) => return Err(refused(line, text, ended, &direct)),
        };
        match self.last {
            None if event.seq != 1 => {
                return Err(JsonlError::at(
                    line,
                    format!("the first event has seq {}; seqs start at 1", event.seq),
                ));
            }
            Some((seq, seq_line)) if event.seq == seq => {
                return Err(JsonlError::at(
                    line,
                    format!("duplicate seq {seq} (line {seq_line} has it too)"),
                ));
            }
            Some((seq, _)) if event.seq != seq + 1 => {
                return Err(JsonlError::at(
                    line,
                    format!(
                        "seq {} follows seq {seq}; seqs must be dense, 1, 2, 3, …",
                        event.seq
                    ),
                ));
            }
            _ => {}
        }
        if let Payload::Compaction(c) = &event.payload {
            let [first, last] = c.replaces;
            if first < 1 || first > last || last >= event.seq {
                return Err(JsonlError::at(
                    line,
                    format!(
                        "compaction at seq {} replaces [{first}, {last}]; the range must be \
                         [first, last] with 1 <= first <= last < {}",
                        event.seq, event.seq
                    ),
                ));
            }
        }
        if let Payload::Message(message) = &event.payload {
            check_message(message).map_err(|reason| JsonlError::at(line, reason))?;
            let cost = message.cost_usd.unwrap_or(0.0);
            self.total_cost += cost;
            if !self.total_cost.is_finite() {
                return Err(JsonlError::at(
                    line,
                    format!("field \"cost_usd\": {cost} makes the session's total cost overflow"),
                ));
            }
        }
        self.last = Some((event.seq, line));
        Ok(Some(event))
    }
}

/// Why line `line` (`text`, which did not parse as an event) is refused: the
/// reason the old two-step parse gave (a `Value` first, then the event).
fn refused(line: u64, text: &str, ended: bool, direct: &serde_json::Error) -> JsonlError {
    let object = match object_of(line, text, ended) {
        Ok(object) => object,
        Err(e) => return e,
    };
    if object.get("format").is_some() && object.get("seq").is_none() {
        return JsonlError::at(line, "a second header; a file holds one session");
    }
    match serde_json::from_value::<Event>(Value::Object(object)) {
        Err(e) => JsonlError::at(line, e.to_string()),
        // Both parses read the same map; should they ever differ, the direct
        // parse's reason is the one that refused the line.
        Ok(_) => JsonlError::at(line, direct.to_string()),
    }
}

/// Line `line` as a JSON object; `ended`: it ended with a newline.
fn object_of(line: u64, text: &str, ended: bool) -> Result<Map<String, Value>, JsonlError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(JsonlError::at(
            line,
            format!("expected a JSON object, found {}", json_kind(&other)),
        )),
        Err(e) if e.is_eof() && !ended => Err(JsonlError::at(
            line,
            "truncated: the last line ends before its JSON object is complete \
             (was the file cut short?)",
        )),
        Err(e) => Err(JsonlError::at(line, format!("not JSON: {e}"))),
    }
}

/// What serde's types do not say about a message: costs are finite and not negative
/// (a negative one would switch the spending limit off), token counts are plausible,
/// and media blocks name a supported type by a real sha256.
pub fn check_message(message: &crate::Message) -> Result<(), String> {
    if let Some(cost) = message.cost_usd
        && !(cost.is_finite() && cost >= 0.0)
    {
        return Err(format!(
            "field \"cost_usd\" is {cost}; a cost is a finite number of dollars, 0 or more"
        ));
    }
    if let Some(usage) = &message.usage {
        for (field, tokens) in [
            ("input_tokens", usage.input_tokens),
            ("output_tokens", usage.output_tokens),
            ("cache_read_tokens", usage.cache_read_tokens),
            ("cache_write_tokens", usage.cache_write_tokens),
            ("reasoning_tokens", usage.reasoning_tokens),
        ] {
            if tokens > MAX_EVENT_TOKENS {
                return Err(format!(
                    "field \"usage.{field}\" is {tokens}; at most {MAX_EVENT_TOKENS} tokens per event"
                ));
            }
        }
    }
    check_media(&message.content)
}

fn check_media(blocks: &[crate::ContentBlock]) -> Result<(), String> {
    use crate::ContentBlock;
    use crate::attachment::{SUPPORTED_MIME, is_sha256_hex};
    use crate::event::ToolResultContent;
    for block in blocks {
        let (media, kind) = match block {
            ContentBlock::Image(m) => (m, "image"),
            ContentBlock::Video(m) => (m, "video"),
            ContentBlock::ToolResult {
                content: ToolResultContent::Blocks(inner),
                ..
            } => {
                check_media(inner)?;
                continue;
            }
            _ => continue,
        };
        if !is_sha256_hex(&media.sha256) {
            return Err(format!(
                "{kind} block: field \"sha256\" must be 64 lower-case hex digits, found {:?}",
                media.sha256
            ));
        }
        let prefix = format!("{kind}/");
        if !SUPPORTED_MIME.contains(&media.mime.as_str()) || !media.mime.starts_with(&prefix) {
            return Err(format!(
                "{kind} block: field \"mime\" is {:?}; supported for {kind}: {}",
                media.mime,
                SUPPORTED_MIME
                    .iter()
                    .filter(|m| m.starts_with(&prefix))
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(())
}

/// Bounded line reading: a line is never buffered past `max_line` bytes.
struct Lines<R> {
    input: R,
    max_line: usize,
    /// Number of the last line read (1-based).
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    /// The next non-blank line as a JSON object.
    fn next_object(&mut self) -> Result<Option<Map<String, Value>>, JsonlError> {
        let Some((line, text, ended)) = self.next_text()? else {
            return Ok(None);
        };
        object_of(line, text, ended).map(Some)
    }

    /// The next non-blank line: its number, its text (checked for length and
    /// UTF-8, without its line end) and whether it ended with a newline.
    fn next_text(&mut self) -> Result<Option<(u64, &str, bool)>, JsonlError> {
        loop {
            self.buf.clear();
            let limit = self.max_line as u64 + 1;
            let read = (&mut self.input)
                .take(limit)
                .read_until(b'\n', &mut self.buf)
                .map_err(JsonlError::Io)?;
            if read == 0 {
                return Ok(None);
            }
            self.line += 1;
            let line = self.line;
            let ended = self.buf.last() == Some(&b'\n');
            let body_len = self.buf.len() - usize::from(ended);
            if body_len > self.max_line {
                return Err(JsonlError::at(
                    line,
                    format!(
                        "the line is longer than the limit of {} bytes",
                        self.max_line
                    ),
                ));
            }
            let mut body = &self.buf[..body_len];
            if body.last() == Some(&b'\r') {
                body = &body[..body.len() - 1];
            }
            if is_blank(body) {
                continue;
            }
            let body_len = body.len();
            let text = std::str::from_utf8(&self.buf[..body_len]).map_err(|e| {
                JsonlError::at(
                    line,
                    format!(
                        "not valid UTF-8 (bad byte at offset {} of the line)",
                        e.valid_up_to()
                    ),
                )
            })?;
            return Ok(Some((line, text, ended)));
        }
    }
}

/// Whether a line is only white space (as `str::trim` sees it), without keeping a
/// borrow of it: a line starting with a printable ASCII character (every JSON
/// object does) is not; any other is checked in full.
fn is_blank(body: &[u8]) -> bool {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => true,
        Some(b) if b.is_ascii_graphic() => false,
        Some(_) => std::str::from_utf8(body).is_ok_and(|text| text.trim().is_empty()),
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Event, JsonlError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

/// Reads and checks a whole file: all of it or an error.
pub fn read_all<R: BufRead>(input: R) -> Result<(Header, Vec<Event>), JsonlError> {
    let mut reader = Reader::new(input)?;
    let mut events = Vec::new();
    while let Some(event) = reader.next_event()? {
        events.push(event);
    }
    Ok((reader.header, events))
}

/// Writes a session file: the header on creation, then one event per line.
pub struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W, header: &Header) -> io::Result<Self> {
        serde_json::to_writer(&mut out, &header.to_json())?;
        out.write_all(b"\n")?;
        Ok(Writer { out })
    }

    pub fn write_event(&mut self, event: &Event) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")
    }

    /// Flushes and gives the output back.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        CommandRecord, Compaction, ContentBlock, KnowledgeItem, KnowledgeKind, Message, Role,
    };

    const HEADER: &str = r#"{"format":"cairn.session","version":1,"name":"auth-refactor","title":null,"project":"/abs/path","model":"openai:gpt-4.1","created_at":"2026-11-20T09:00:00Z"}"#;

    fn line(seq: u64, text: &str) -> String {
        format!(
            r#"{{"seq":{seq},"ts":"2026-11-20T09:00:01Z","kind":"message","role":"user","content":[{{"type":"text","text":"{text}"}}]}}"#
        )
    }

    fn file(lines: &[String]) -> Vec<u8> {
        let mut out = String::new();
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
        out.into_bytes()
    }

    fn error_of(bytes: &[u8]) -> (u64, String) {
        match read_all(bytes) {
            Err(JsonlError::Line { line, reason }) => (line, reason),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("accepted a bad file"),
        }
    }

    #[test]
    fn the_project_key_travels_in_the_header_only_when_it_is_not_the_path() {
        let name = SessionName::parse("keyed").unwrap();
        let at: Timestamp = "2026-11-20T09:00:00Z".parse().unwrap();
        let keyed = Header::new(
            &name,
            Project::from_parts("/home/a/api", "github.com/acme/api"),
            at,
        );
        let json = keyed.to_json();
        assert_eq!(json["project_key"], "github.com/acme/api");
        let back = Header::from_json(json).unwrap();
        assert_eq!(back.project.key(), "github.com/acme/api");
        assert_eq!(back.project.as_str(), "/home/a/api");
        assert!(back.extra.is_empty());

        let plain = Header::new(&name, Project::from_stored("/abs/path"), at).to_json();
        assert!(!plain.contains_key("project_key"));
    }

    #[test]
    fn reads_the_design_example() {
        let bytes = file(&[HEADER.into(), line(1, "hi"), line(2, "there")]);
        let (header, events) = read_all(&bytes[..]).unwrap();
        assert_eq!(header.name, "auth-refactor");
        assert_eq!(header.title, None);
        assert_eq!(header.project.as_str(), "/abs/path");
        assert_eq!(header.model.as_deref(), Some("openai:gpt-4.1"));
        assert_eq!(header.created_at.to_string(), "2026-11-20T09:00:00Z");
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].seq, 2);
    }

    #[test]
    fn write_then_read_is_identical() {
        let mut header = Header::new(
            &SessionName::parse("s1").unwrap(),
            Project::from_stored("/p"),
            "2026-11-20T09:00:00Z".parse().unwrap(),
        );
        header.title = Some("Auth \"refactor\"\n".into());
        header
            .extra
            .insert("future".into(), serde_json::json!({"x": [1]}));
        let ts: Timestamp = "2026-11-20T09:00:01.5Z".parse().unwrap();
        let events = vec![
            Event {
                seq: 1,
                ts,
                payload: Payload::Message(Message::new(
                    Role::Assistant,
                    vec![
                        ContentBlock::text("reading"),
                        ContentBlock::ToolUse {
                            id: "t1".into(),
                            name: "read_file".into(),
                            input: serde_json::json!({"path": "a.rs"}),
                        },
                    ],
                )),
            },
            Event {
                seq: 2,
                ts,
                payload: Payload::Knowledge(KnowledgeItem {
                    knowledge_kind: KnowledgeKind::Decision,
                    text: "use JWT".into(),
                    pinned: true,
                    scope: Default::default(),
                    extra: Map::new(),
                }),
            },
            Event {
                seq: 3,
                ts,
                payload: Payload::Compaction(Compaction {
                    tokens_before: 10,
                    tokens_after: 2,
                    ..Compaction::new([1, 2], "sum")
                }),
            },
            Event {
                seq: 4,
                ts,
                payload: Payload::Command(CommandRecord::new("/model", &["x"])),
            },
            Event {
                seq: 5,
                ts,
                payload: Payload::Other {
                    kind: "future".into(),
                    fields: serde_json::from_str(r#"{"name":"/model","args":["x"]}"#).unwrap(),
                },
            },
        ];
        let mut writer = Writer::new(Vec::new(), &header).unwrap();
        for e in &events {
            writer.write_event(e).unwrap();
        }
        let bytes = writer.finish().unwrap();
        let (read_header, read_events) = read_all(&bytes[..]).unwrap();
        assert_eq!(read_header, header);
        assert_eq!(read_events, events);
        // And writing what was read gives the same bytes.
        let mut again = Writer::new(Vec::new(), &read_header).unwrap();
        for e in &read_events {
            again.write_event(e).unwrap();
        }
        assert_eq!(again.finish().unwrap(), bytes);
        let first = bytes.split(|b| *b == b'\n').next().unwrap();
        assert!(std::str::from_utf8(first).unwrap().starts_with(
            r#"{"format":"cairn.session","version":1,"name":"s1","title":"Auth \"refactor\"\n""#
        ));
    }

    #[test]
    fn header_only_file_is_an_empty_session() {
        let (header, events) = read_all(format!("{HEADER}\n").as_bytes()).unwrap();
        assert_eq!(header.name, "auth-refactor");
        assert!(events.is_empty());
    }

    #[test]
    fn complete_last_line_without_newline_is_fine() {
        let mut bytes = file(&[HEADER.into(), line(1, "a")]);
        bytes.pop();
        let (_, events) = read_all(&bytes[..]).unwrap();
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn blank_lines_and_crlf_are_tolerated_and_counted() {
        let text = format!("{HEADER}\r\n\n{}\r\n{}\n", line(1, "a"), line(3, "c"));
        let (n, reason) = error_of(text.as_bytes());
        assert_eq!(n, 4, "{reason}");
        assert!(reason.contains("seq 3 follows seq 1"), "{reason}");
    }

    /// Blank is what `str::trim` calls blank, not only ASCII white space: the
    /// reader skips these lines without holding on to them.
    #[test]
    fn lines_of_unicode_white_space_are_blank_too() {
        let text = format!(
            "{HEADER}\n\u{b}\n\u{a0}\u{2028} \n{}\n{}\n",
            line(1, "a"),
            line(3, "c")
        );
        let (n, reason) = error_of(text.as_bytes());
        assert_eq!(n, 5, "{reason}");
        assert!(reason.contains("seq 3 follows seq 1"), "{reason}");
    }

    #[test]
    fn empty_file_has_no_header() {
        let (n, reason) = error_of(b"");
        assert_eq!(n, 1);
        assert!(reason.contains("missing header"), "{reason}");
    }

    #[test]
    fn event_as_first_line_is_a_missing_header() {
        let (n, reason) = error_of(&file(&[line(1, "a")]));
        assert_eq!(n, 1);
        assert!(reason.contains("missing header"), "{reason}");
    }

    #[test]
    fn wrong_format_or_version() {
        let other = HEADER.replace("cairn.session", "something.else");
        let (n, reason) = error_of(&file(&[other]));
        assert_eq!(n, 1);
        assert!(reason.contains("\"format\""), "{reason}");
        let v2 = HEADER.replace("\"version\":1", "\"version\":2");
        let (_, reason) = error_of(&file(&[v2]));
        assert!(reason.contains("version 1 only"), "{reason}");
        let vs = HEADER.replace("\"version\":1", "\"version\":\"1\"");
        let (_, reason) = error_of(&file(&[vs]));
        assert!(reason.contains("must be an integer"), "{reason}");
    }

    #[test]
    fn header_wrong_types_name_the_field() {
        let bad = HEADER.replace("\"title\":null", "\"title\":5");
        let (n, reason) = error_of(&file(&[bad]));
        assert_eq!(n, 1);
        assert!(
            reason.contains("\"title\"") && reason.contains("a number"),
            "{reason}"
        );
        let bad = HEADER.replace("\"2026-11-20T09:00:00Z\"", "\"yesterday\"");
        let (_, reason) = error_of(&file(&[bad]));
        assert!(reason.contains("created_at"), "{reason}");
        let bad = HEADER.replace("\"name\":\"auth-refactor\",", "");
        let (_, reason) = error_of(&file(&[bad]));
        assert!(reason.contains("no field \"name\""), "{reason}");
    }

    #[test]
    fn refused_header_name_is_reported_on_use_not_on_read() {
        let bad = HEADER.replace("auth-refactor", "a\\u0000b");
        let (header, _) = read_all(&file(&[bad])[..]).unwrap();
        assert_eq!(header.name, "a\0b");
        let err = header.session_name().unwrap_err().to_string();
        assert!(err.contains("\\0"), "{err}");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let mut bytes = file(&[HEADER.into(), line(1, "a")]);
        bytes.extend_from_slice(b"{\"seq\":2,\"ts\":\"2026-11-20T09:00:01Z\",\"kind\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\xff\xfe\"}]}\n");
        let (n, reason) = error_of(&bytes);
        assert_eq!(n, 3);
        assert!(reason.contains("UTF-8"), "{reason}");
    }

    #[test]
    fn truncated_last_line() {
        let mut bytes = file(&[HEADER.into(), line(1, "a")]);
        let full = line(2, "b");
        bytes.extend_from_slice(&full.as_bytes()[..full.len() - 10]);
        let (n, reason) = error_of(&bytes);
        assert_eq!(n, 3);
        assert!(reason.contains("truncated"), "{reason}");
    }

    #[test]
    fn incomplete_json_followed_by_newline_is_not_json() {
        let full = line(1, "a");
        let cut = full[..full.len() - 3].to_owned();
        let (n, reason) = error_of(&file(&[HEADER.into(), cut]));
        assert_eq!(n, 2);
        assert!(reason.starts_with("not JSON"), "{reason}");
    }

    #[test]
    fn not_an_object() {
        let (n, reason) = error_of(&file(&[HEADER.into(), "[1,2]".into()]));
        assert_eq!(n, 2);
        assert!(reason.contains("an array"), "{reason}");
    }

    #[test]
    fn long_lines_are_refused_past_the_limit_without_echoing_them() {
        let big = line(1, &"x".repeat(5000));
        let bytes = file(&[HEADER.into(), big]);
        let err = match Reader::with_max_line(&bytes[..], 1000).and_then(|mut r| {
            r.next_event()?;
            Ok(())
        }) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("accepted"),
        };
        assert!(
            err.starts_with("line 2: ") && err.contains("1000 bytes"),
            "{err}"
        );
        assert!(err.len() < 200, "{err}");
        // Within the limit the same line is fine.
        let mut reader = Reader::with_max_line(&bytes[..], 10_000).unwrap();
        assert!(reader.next_event().unwrap().is_some());
    }

    #[test]
    fn errors_about_huge_values_stay_short() {
        let huge = "y".repeat(100_000);
        let bad = format!(
            r#"{{"seq":1,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"user","content":"{huge}"}}"#
        );
        let (n, reason) = error_of(&file(&[HEADER.into(), bad]));
        assert_eq!(n, 2);
        assert!(reason.len() < 500, "{} bytes", reason.len());
        assert!(
            reason.starts_with("message event: invalid type"),
            "{reason}"
        );
    }

    #[test]
    fn wrong_types_in_events() {
        let bad = r#"{"seq":1,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"user","content":"hi"}"#;
        let (n, reason) = error_of(&file(&[HEADER.into(), bad.into()]));
        assert_eq!(n, 2);
        assert!(reason.contains("message event"), "{reason}");
        let bad = r#"{"seq":"1","ts":"2026-11-20T09:00:01Z","kind":"message","role":"user","content":[]}"#;
        let (_, reason) = error_of(&file(&[HEADER.into(), bad.into()]));
        assert!(reason.contains("seq"), "{reason}");
    }

    #[test]
    fn seqs_must_start_at_one_and_be_dense() {
        let (n, reason) = error_of(&file(&[HEADER.into(), line(2, "a")]));
        assert_eq!(n, 2);
        assert!(reason.contains("start at 1"), "{reason}");
        let (n, reason) = error_of(&file(&[
            HEADER.into(),
            line(1, "a"),
            line(2, "b"),
            line(2, "c"),
        ]));
        assert_eq!(n, 4);
        assert!(reason.contains("duplicate seq 2 (line 3"), "{reason}");
        let (n, reason) = error_of(&file(&[HEADER.into(), line(1, "a"), line(5, "b")]));
        assert_eq!(n, 3);
        assert!(reason.contains("dense"), "{reason}");
    }

    #[test]
    fn compaction_range_must_lie_before_it() {
        let compaction = |seq: u64, first: u64, last: u64| {
            format!(
                r#"{{"seq":{seq},"ts":"2026-11-20T09:00:01Z","kind":"compaction","replaces":[{first},{last}],"summary":"s"}}"#
            )
        };
        let ok = file(&[HEADER.into(), line(1, "a"), compaction(2, 1, 1)]);
        assert!(read_all(&ok[..]).is_ok());
        for (first, last) in [(1, 2), (1, 5), (2, 1), (0, 1)] {
            let bad = file(&[HEADER.into(), line(1, "a"), compaction(2, first, last)]);
            let (n, reason) = error_of(&bad);
            assert_eq!(n, 3);
            assert!(reason.contains("replaces"), "{first} {last}: {reason}");
        }
    }

    fn message_line(extra: &str, content: &str) -> String {
        format!(
            r#"{{"seq":1,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"assistant","content":{content}{extra}}}"#
        )
    }

    #[test]
    fn costs_must_be_finite_and_not_negative() {
        for (extra, needle) in [
            (r#","cost_usd":-5.0"#, "cost_usd"),
            (
                r#","usage":{"input_tokens":18446744073709551615}"#,
                "usage.input_tokens",
            ),
        ] {
            let bad = message_line(extra, "[]");
            let (n, reason) = error_of(&file(&[HEADER.into(), bad]));
            assert_eq!(n, 2);
            assert!(reason.contains(needle), "{reason}");
        }
        // Each finite, the sum not: refused at the line that overflows.
        let huge = |seq: u64| {
            message_line(r#","cost_usd":1e308"#, "[]")
                .replace("\"seq\":1", &format!("\"seq\":{seq}"))
        };
        let (n, reason) = error_of(&file(&[HEADER.into(), huge(1), huge(2)]));
        assert_eq!(n, 3);
        assert!(reason.contains("overflow"), "{reason}");
    }

    #[test]
    fn media_blocks_need_a_real_sha256_and_a_supported_mime() {
        let sha = "a".repeat(64);
        for (block, needle) in [
            (
                r#"{"type":"image","sha256":"../../etc","mime":"image/png"}"#.to_owned(),
                "sha256",
            ),
            (
                format!(
                    r#"{{"type":"image","sha256":"{}","mime":"image/png"}}"#,
                    "A".repeat(64)
                ),
                "sha256",
            ),
            (
                format!(r#"{{"type":"image","sha256":"{sha}","mime":"text/html"}}"#),
                "mime",
            ),
            (
                format!(r#"{{"type":"video","sha256":"{sha}","mime":"image/png"}}"#),
                "mime",
            ),
            (
                r#"{"type":"tool_result","tool_use_id":"t","is_error":false,"content":[{"type":"image","sha256":"x","mime":"image/png"}]}"#.to_owned(),
                "sha256",
            ),
        ] {
            let bad = message_line("", &format!("[{block}]"));
            let (n, reason) = error_of(&file(&[HEADER.into(), bad]));
            assert_eq!(n, 2);
            assert!(reason.contains(needle), "{block}: {reason}");
        }
        let good = message_line(
            "",
            &format!(r#"[{{"type":"image","sha256":"{sha}","mime":"image/webp"}}]"#),
        );
        assert!(read_all(&file(&[HEADER.into(), good])[..]).is_ok());
    }

    #[test]
    fn second_header_is_refused() {
        let (n, reason) = error_of(&file(&[HEADER.into(), line(1, "a"), HEADER.into()]));
        assert_eq!(n, 3);
        assert!(reason.contains("second header"), "{reason}");
    }

    #[test]
    fn iterator_stops_after_the_first_error() {
        let bytes = file(&[HEADER.into(), line(1, "a"), "nope".into(), line(3, "c")]);
        let reader = Reader::new(&bytes[..]).unwrap();
        let results: Vec<_> = reader.collect();
        assert_eq!(results.len(), 2);
        assert!(results[0].is_ok());
        assert!(
            results[1]
                .as_ref()
                .is_err_and(|e| e.to_string().starts_with("line 3"))
        );
    }

    #[test]
    fn into_error_names_the_file_and_maps_to_usage() {
        let (n, reason) = error_of(b"x\n");
        let err = JsonlError::Line { line: n, reason }.into_error("s.jsonl");
        assert!(err.to_string().starts_with("s.jsonl: line 1: "), "{err}");
        assert_eq!(err.exit_code(), 2);
    }
}
