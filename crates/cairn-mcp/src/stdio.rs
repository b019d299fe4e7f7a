//! Serving over stdio: only protocol on stdout, one JSON-RPC message per line.
//!
//! cairn frames and checks the lines itself and hands rmcp only messages it can
//! decode, because rmcp drops some malformed requests without an answer (or
//! answers without their id), which leaves a client waiting forever:
//! - every request gets exactly one reply carrying its id: a line over the body
//!   limit, one that is not valid JSON (invalid UTF-8 inside a string, nesting
//!   deeper than serde's 128 levels), or one whose `params` do not fit its
//!   method is answered here, with the id found by scanning the whole line;
//! - a line with no readable id gets a reply with `id: null` (a notification
//!   that cannot be decoded is dropped: JSON-RPC never answers notifications);
//! - backpressure: at most [`MAX_IN_FLIGHT`] requests are between being read
//!   and having their reply written. While that many are, stdin is not read,
//!   so a client that floods requests or does not read its replies holds a
//!   bounded amount of the server's memory.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use cairn_core::json_kind::json_kind;
use cairn_core::list_param::human_bytes;
use futures::Sink;
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, ClientJsonRpcMessage, ClientNotification, ClientRequest, ErrorData,
    GetExtensions, JsonRpcMessage, RequestId, ServerJsonRpcMessage,
};
use rmcp::transport::stdio_pipes;
use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::PollSender;

use crate::handler::CairnMcpFactory;

/// Requests read but not yet answered, at most. Also bounds the replies queued
/// for stdout, since a request counts until its reply is written.
pub(crate) const MAX_IN_FLIGHT: usize = 16;
/// Messages waiting for the stdout writer.
const OUTGOING_QUEUE: usize = 16;
/// A line buffer grown past this by one large message is given back afterwards.
const KEPT_LINE_CAPACITY: usize = 64 * 1024;
/// Longest id text kept while scanning for a request id.
const MAX_ID_TEXT: usize = 1024;

/// Serve one MCP connection on this process's stdin/stdout until the client
/// closes stdin.
pub async fn serve_stdio(factory: &CairnMcpFactory, max_body_bytes: usize) -> io::Result<()> {
    let (reader, writer) = stdio_pipes();
    serve_on(factory, reader, writer, max_body_bytes).await
}

/// Serve one connection on any byte streams (used by tests and benchmarks).
pub async fn serve_on<R, W>(
    factory: &CairnMcpFactory,
    reader: R,
    writer: W,
    max_body_bytes: usize,
) -> io::Result<()>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let in_flight = Arc::new(InFlight::new(MAX_IN_FLIGHT));
    let (out_tx, out_rx) = mpsc::channel::<Outgoing>(OUTGOING_QUEUE);
    let writer_task = tokio::spawn(write_messages(writer, out_rx, Arc::clone(&in_flight)));
    let (to_rmcp, mut from_reader) = mpsc::channel::<ClientJsonRpcMessage>(1);
    let reader_task = tokio::spawn(read_messages(
        BufReader::new(reader),
        max_body_bytes,
        to_rmcp,
        out_tx.clone(),
        in_flight,
    ));
    let incoming = futures::stream::poll_fn(move |cx| from_reader.poll_recv(cx));
    let transport = (RmcpSink(PollSender::new(out_tx)), incoming);
    let handler = factory.handler();
    let result = match handler.clone().serve(transport).await {
        Ok(service) => service
            .waiting()
            .await
            .map(|_| ())
            .map_err(|e| io::Error::other(format!("MCP service stopped: {e}"))),
        Err(e) => Err(io::Error::other(format!(
            "MCP session failed to start: {e}"
        ))),
    };
    handler.connection_closed().await;
    // Stdin may still be open when the service stopped for another reason.
    reader_task.abort();
    let _ = reader_task.await;
    // Every sender is gone: the writer drains and ends.
    match writer_task.await {
        Ok(written) => written?,
        Err(e) => return Err(io::Error::other(format!("stdout writer failed: {e}"))),
    }
    result
}

/// A message for stdout: rmcp's, or a refusal answered here.
enum Outgoing {
    Rmcp(Box<ServerJsonRpcMessage>),
    Refusal {
        id: Option<RequestId>,
        error: ErrorData,
    },
}

/// rmcp's side of the stdout queue.
struct RmcpSink(PollSender<Outgoing>);

fn writer_gone<T>(_: T) -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "stdout writer has stopped")
}

impl Sink<ServerJsonRpcMessage> for RmcpSink {
    type Error = io::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_reserve(cx).map_err(writer_gone)
    }

    fn start_send(mut self: Pin<&mut Self>, item: ServerJsonRpcMessage) -> io::Result<()> {
        self.0
            .send_item(Outgoing::Rmcp(Box::new(item)))
            .map_err(writer_gone)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.close();
        Poll::Ready(Ok(()))
    }
}

/// The requests between being read and having their reply written.
struct InFlight {
    slots: Arc<Semaphore>,
    requests: Mutex<HashMap<RequestId, Pending>>,
}

struct Pending {
    _slot: OwnedSemaphorePermit,
    /// The client cancelled it: rmcp will drop its reply.
    cancelled: bool,
    /// Its handler has finished.
    handled: bool,
}

impl InFlight {
    fn new(max: usize) -> Self {
        InFlight {
            slots: Arc::new(Semaphore::new(max)),
            requests: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for room for one more request; `None` once the writer stopped.
    async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.slots).acquire_owned().await.ok()
    }

    /// Counts a request in; `false` (and the slot back) when its id is in use.
    fn begin(
        &self,
        id: &RequestId,
        slot: OwnedSemaphorePermit,
    ) -> Result<(), OwnedSemaphorePermit> {
        let Ok(mut requests) = self.requests.lock() else {
            return Err(slot);
        };
        if requests.contains_key(id) {
            return Err(slot);
        }
        requests.insert(
            id.clone(),
            Pending {
                _slot: slot,
                cancelled: false,
                handled: false,
            },
        );
        Ok(())
    }

    fn update(&self, id: &RequestId, change: impl FnOnce(&mut Pending)) {
        let Ok(mut requests) = self.requests.lock() else {
            return;
        };
        if let Some(pending) = requests.get_mut(id) {
            change(pending);
            // A cancelled request's reply never comes: it is done when its handler is.
            if pending.cancelled && pending.handled {
                requests.remove(id);
            }
        }
    }

    fn answered(&self, id: &RequestId) {
        if let Ok(mut requests) = self.requests.lock() {
            requests.remove(id);
        }
    }

    /// The writer stopped: nothing more is read.
    fn close(&self) {
        self.slots.close();
    }
}

/// Rides in a request's extensions into its handler's context, which is
/// dropped when the handler finishes.
struct Handling {
    id: RequestId,
    in_flight: Arc<InFlight>,
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.in_flight.update(&self.id, |p| p.handled = true);
    }
}

/// Owns stdout: writes whole lines, in order, and flushes after each batch.
async fn write_messages<W: AsyncWrite + Unpin>(
    out: W,
    mut messages: mpsc::Receiver<Outgoing>,
    in_flight: Arc<InFlight>,
) -> io::Result<()> {
    let written = write_all_messages(out, &mut messages, &in_flight).await;
    if written.is_err() {
        in_flight.close();
    }
    written
}

async fn write_all_messages<W: AsyncWrite + Unpin>(
    mut out: W,
    messages: &mut mpsc::Receiver<Outgoing>,
    in_flight: &InFlight,
) -> io::Result<()> {
    let mut line = Vec::new();
    let mut answered = Vec::new();
    while let Some(first) = messages.recv().await {
        let mut next = Some(first);
        while let Some(message) = next {
            line.clear();
            let id = match &message {
                Outgoing::Rmcp(message) => {
                    serde_json::to_writer(&mut line, message)?;
                    match message.as_ref() {
                        JsonRpcMessage::Response(r) => Some(r.id.clone()),
                        JsonRpcMessage::Error(e) => e.id.clone(),
                        _ => None,
                    }
                }
                Outgoing::Refusal { id, error } => {
                    let reply = json!({ "jsonrpc": "2.0", "id": id, "error": error });
                    serde_json::to_writer(&mut line, &reply)?;
                    // Refused requests never counted as in flight.
                    None
                }
            };
            drop(message);
            line.push(b'\n');
            out.write_all(&line).await?;
            answered.extend(id);
            if line.capacity() > KEPT_LINE_CAPACITY {
                line = Vec::new();
            }
            next = messages.try_recv().ok();
        }
        out.flush().await?;
        for id in answered.drain(..) {
            in_flight.answered(&id);
        }
    }
    Ok(())
}

/// Reads stdin line by line: decodable messages go to rmcp, the rest are
/// answered here. Waits for a free slot before reading each line.
async fn read_messages<R: AsyncBufRead + Unpin>(
    mut input: R,
    limit: usize,
    to_rmcp: mpsc::Sender<ClientJsonRpcMessage>,
    replies: mpsc::Sender<Outgoing>,
    in_flight: Arc<InFlight>,
) {
    let mut lines = LineReader::new(limit);
    let mut slot = None;
    loop {
        if slot.is_none() {
            slot = in_flight.slot().await;
            if slot.is_none() {
                return;
            }
        }
        let line = match lines.next(&mut input).await {
            Ok(Some(line)) => line,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "cannot read stdin");
                return;
            }
        };
        let refusal = match line {
            Line::Oversize { id, length } => {
                let Some(id) = id else {
                    tracing::warn!(
                        limit,
                        "dropped an oversize message without a readable id (a notification?)"
                    );
                    continue;
                };
                Some((Some(id), oversize_error(limit, length)))
            }
            Line::Unterminated { id: Some(id) } => Some((
                Some(id),
                ErrorData::invalid_request(
                    "the input ended inside this message (no newline after it); it was ignored",
                    None,
                ),
            )),
            Line::Unterminated { id: None } => None,
            Line::Complete { bytes, id } => match decode(&bytes, id) {
                Decoded::Message(message) => {
                    match forward(*message, &mut slot, &in_flight, &to_rmcp).await {
                        Forwarded::Done => None,
                        Forwarded::RmcpGone => return,
                        Forwarded::DuplicateId(id) => Some((
                            Some(id.clone()),
                            ErrorData::invalid_request(
                                format!(
                                    "request id `{id}` is already used by a request in \
                                     progress; this one was ignored"
                                ),
                                Some(json!({ "field": "id" })),
                            ),
                        )),
                    }
                }
                Decoded::Refuse { id, error } => Some((id, error)),
                Decoded::Ignore => None,
            },
        };
        if let Some((id, error)) = refusal
            && replies.send(Outgoing::Refusal { id, error }).await.is_err()
        {
            return;
        }
    }
}

enum Forwarded {
    Done,
    RmcpGone,
    DuplicateId(RequestId),
}

/// Hands a decoded message to rmcp; a request takes the slot with it.
async fn forward(
    mut message: ClientJsonRpcMessage,
    slot: &mut Option<OwnedSemaphorePermit>,
    in_flight: &Arc<InFlight>,
    to_rmcp: &mpsc::Sender<ClientJsonRpcMessage>,
) -> Forwarded {
    match &mut message {
        JsonRpcMessage::Request(request) => {
            let Some(taken) = slot.take() else {
                return Forwarded::RmcpGone;
            };
            if let Err(back) = in_flight.begin(&request.id, taken) {
                *slot = Some(back);
                return Forwarded::DuplicateId(request.id.clone());
            }
            request.request.extensions_mut().insert(Arc::new(Handling {
                id: request.id.clone(),
                in_flight: Arc::clone(in_flight),
            }));
        }
        JsonRpcMessage::Notification(note) => {
            if let ClientNotification::CancelledNotification(cancelled) = &note.notification
                && let Some(id) = &cancelled.params.request_id
            {
                in_flight.update(id, |p| p.cancelled = true);
            }
        }
        _ => {}
    }
    match to_rmcp.send(message).await {
        Ok(()) => Forwarded::Done,
        Err(_) => Forwarded::RmcpGone,
    }
}

fn oversize_error(limit: usize, length: usize) -> ErrorData {
    ErrorData::invalid_request(
        format!(
            "request body exceeds the limit of {} ({length} bytes or more); nothing was done",
            human_bytes(limit)
        ),
        Some(json!({ "field": "body", "limit": limit })),
    )
}

enum Decoded {
    Message(Box<ClientJsonRpcMessage>),
    Refuse {
        id: Option<RequestId>,
        error: ErrorData,
    },
    Ignore,
}

/// Decode one complete line the way rmcp would, or say what is wrong with it.
/// `id` is the request id the scanner found in it.
fn decode(line: &[u8], id: Option<RequestId>) -> Decoded {
    let line = line
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(line)
        .trim_ascii();
    if line.is_empty() {
        return Decoded::Ignore;
    }
    let error = match serde_json::from_slice::<ClientJsonRpcMessage>(line) {
        Ok(JsonRpcMessage::Request(request)) => {
            // rmcp reads a known method whose params do not fit it as a custom
            // request and answers "method not found": say what is wrong instead.
            if let ClientRequest::CustomRequest(custom) = &request.request
                && STANDARD_REQUESTS.contains(&custom.method.as_str())
            {
                return Decoded::Refuse {
                    id: Some(request.id.clone()),
                    error: ErrorData::invalid_params(
                        format!(
                            "invalid params for `{}`: they do not fit the method ({}); nothing was done",
                            custom.method,
                            params_problem(&custom.method, custom.params.as_ref())
                        ),
                        Some(json!({ "field": "params" })),
                    ),
                };
            }
            return Decoded::Message(Box::new(JsonRpcMessage::Request(request)));
        }
        Ok(message) => return Decoded::Message(Box::new(message)),
        Err(e) => e,
    };
    use serde_json::error::Category;
    if matches!(error.classify(), Category::Syntax | Category::Eof) {
        return Decoded::Refuse {
            id,
            error: ErrorData::parse_error(
                format!("parse error: cannot read the line as JSON ({error}); it was ignored"),
                None,
            ),
        };
    }
    let Ok(Value::Object(message)) = serde_json::from_slice::<Value>(line) else {
        return Decoded::Refuse {
            id,
            error: ErrorData::invalid_request(
                "invalid request: a JSON-RPC message is a JSON object; it was ignored",
                None,
            ),
        };
    };
    let method = message.get("method");
    if id.is_none() && method.is_some() {
        // A notification rmcp does not know (or a malformed one): never answered.
        tracing::debug!(%error, "ignored a notification that cannot be decoded");
        return Decoded::Ignore;
    }
    if method.is_none() && (message.contains_key("result") || message.contains_key("error")) {
        tracing::warn!(%error, "ignored a response that cannot be decoded");
        return Decoded::Ignore;
    }
    Decoded::Refuse {
        id,
        error: request_error(&message, &error),
    }
}

/// The MCP requests a client sends, whose params rmcp decodes by type.
const STANDARD_REQUESTS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "resources/templates/list",
    "subscriptions/listen",
    "tools/call",
    "tools/list",
    "completion/complete",
    "logging/setLevel",
];

/// Why params do not fit a standard method, as far as can be said cheaply.
fn params_problem(method: &str, params: Option<&Value>) -> String {
    let Some(params) = params else {
        return "`params` is missing".into();
    };
    if method == "tools/call"
        && let Err(e) = serde_json::from_value::<CallToolRequestParams>(params.clone())
    {
        return e.to_string();
    }
    format!("got {}", json_kind(params))
}

/// What is wrong with a JSON object that is not a request rmcp can decode.
fn request_error(message: &serde_json::Map<String, Value>, error: &serde_json::Error) -> ErrorData {
    let invalid_request = |rule: String| {
        ErrorData::invalid_request(format!("invalid request: {rule}; it was ignored"), None)
    };
    if message.get("jsonrpc") != Some(&json!("2.0")) {
        return invalid_request("`jsonrpc` must be \"2.0\"".into());
    }
    let method = match message.get("method") {
        Some(Value::String(method)) => method.chars().take(64).collect::<String>(),
        Some(other) => {
            return invalid_request(format!(
                "`method` must be a string, got {}",
                json_kind(other)
            ));
        }
        None => return invalid_request("`method` is missing".into()),
    };
    match message.get("id") {
        Some(Value::String(_)) | None => {}
        Some(Value::Number(n)) if n.is_i64() => {}
        Some(other) => {
            return invalid_request(format!(
                "`id` must be a string or an integer, got {}",
                json_kind(other)
            ));
        }
    }
    let detail = match message.get("params") {
        Some(Value::Object(_)) | None => error.to_string(),
        Some(other) => format!("`params` must be an object, got {}", json_kind(other)),
    };
    ErrorData::invalid_params(
        format!("invalid params for `{method}`: {detail}; nothing was done"),
        Some(json!({ "field": "params" })),
    )
}

/// One line of input, as far as the reader could take it.
enum Line {
    Complete {
        bytes: Vec<u8>,
        id: Option<RequestId>,
    },
    /// Over the limit: its bytes were dropped as they came.
    Oversize {
        id: Option<RequestId>,
        length: usize,
    },
    /// The input ended inside a line.
    Unterminated { id: Option<RequestId> },
}

/// Splits input into lines of at most `limit` bytes, scanning every byte of
/// each (also past the limit) for the request id.
struct LineReader {
    limit: usize,
    buffer: Vec<u8>,
}

impl LineReader {
    fn new(limit: usize) -> Self {
        LineReader {
            limit,
            buffer: Vec::new(),
        }
    }

    /// The next line; `None` at the end of the input.
    async fn next<R: AsyncBufRead + Unpin>(&mut self, input: &mut R) -> io::Result<Option<Line>> {
        self.buffer.clear();
        if self.buffer.capacity() > KEPT_LINE_CAPACITY {
            self.buffer.shrink_to(KEPT_LINE_CAPACITY);
        }
        let mut scanner = IdScanner::default();
        let mut length = 0usize;
        loop {
            let available = input.fill_buf().await?;
            if available.is_empty() {
                if length == 0 {
                    return Ok(None);
                }
                return Ok(Some(Line::Unterminated { id: scanner.id() }));
            }
            let newline = available.iter().position(|b| *b == b'\n');
            let segment = &available[..newline.unwrap_or(available.len())];
            scanner.feed(segment);
            length = length.saturating_add(segment.len());
            if length <= self.limit {
                self.buffer.extend_from_slice(segment);
            } else if !self.buffer.is_empty() {
                self.buffer = Vec::new();
            }
            let consumed = newline.map_or(available.len(), |at| at + 1);
            input.consume(consumed);
            if newline.is_some() {
                let id = scanner.id();
                return Ok(Some(if length > self.limit {
                    Line::Oversize { id, length }
                } else {
                    Line::Complete {
                        bytes: std::mem::take(&mut self.buffer),
                        id,
                    }
                }));
            }
        }
    }
}

/// Finds the top-level `"id"` of a JSON object fed in pieces, without parsing
/// (so it works on lines that are too long, too deep or not valid UTF-8).
#[derive(Default)]
struct IdScanner {
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// At depth 1, the next string is a key.
    expect_key: bool,
    reading_key: bool,
    /// After a key, before its `:`.
    after_key: bool,
    key: Vec<u8>,
    /// The value of the top-level `id` is being read.
    capturing: bool,
    value: Vec<u8>,
    found: Option<RequestId>,
}

impl IdScanner {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.found.is_some() {
                return;
            }
            self.feed_byte(b);
        }
    }

    fn feed_byte(&mut self, b: u8) {
        if self.in_string {
            let closes = !self.escaped && b == b'"';
            self.escaped = !self.escaped && b == b'\\';
            if self.capturing {
                self.push_value(b);
            } else if self.reading_key && !closes && self.key.len() < 3 {
                self.key.push(b);
            }
            if closes {
                self.in_string = false;
                if self.reading_key {
                    self.reading_key = false;
                    self.after_key = true;
                }
            }
            return;
        }
        match b {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && self.expect_key {
                    self.expect_key = false;
                    self.reading_key = true;
                    self.key.clear();
                } else if self.capturing {
                    self.push_value(b);
                }
            }
            b'{' | b'[' => {
                if self.capturing {
                    self.push_value(b);
                }
                self.depth += 1;
                self.expect_key = self.depth == 1 && b == b'{';
            }
            b'}' | b']' => {
                if self.depth == 1 {
                    self.finish_value();
                } else if self.capturing {
                    self.push_value(b);
                }
                self.depth = self.depth.saturating_sub(1);
            }
            b',' if self.depth == 1 => {
                self.finish_value();
                self.expect_key = true;
            }
            b':' if self.depth == 1 && self.after_key => {
                self.after_key = false;
                self.capturing = self.key == b"id";
                self.value.clear();
            }
            _ => {
                if self.capturing {
                    self.push_value(b);
                }
            }
        }
    }

    fn push_value(&mut self, b: u8) {
        if self.value.len() <= MAX_ID_TEXT {
            self.value.push(b);
        }
    }

    fn finish_value(&mut self) {
        if !self.capturing {
            return;
        }
        self.capturing = false;
        if self.value.len() <= MAX_ID_TEXT {
            self.found = serde_json::from_slice::<RequestId>(self.value.trim_ascii()).ok();
        }
    }

    /// The id, also when the line ended right after it.
    fn id(&mut self) -> Option<RequestId> {
        if self.found.is_none() && self.capturing && self.depth == 1 {
            self.finish_value();
        }
        self.found.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(pieces: &[&[u8]]) -> Option<Value> {
        let mut scanner = IdScanner::default();
        for piece in pieces {
            scanner.feed(piece);
        }
        scanner.id().and_then(|id| serde_json::to_value(id).ok())
    }

    #[test]
    fn finds_the_request_id_at_the_top_level_only() {
        let line = br#"{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"arguments":{"summary":"xxx"#;
        assert_eq!(scan(&[line]), Some(json!(17)));
        let line = br#"{"jsonrpc":"2.0","params":{"id":5},"id":"abc","method":"x"}"#;
        assert_eq!(scan(&[line]), Some(json!("abc")));
        let line = br#"{"jsonrpc":"2.0","method":"notifications/x","params":{"id":5}}"#;
        assert_eq!(scan(&[line]), None);
        let line = br#"{"a":"\"id\":3","id" : "x\"y" }"#;
        assert_eq!(scan(&[line]), Some(json!("x\"y")));
        assert_eq!(scan(&[br#"{"id":null}"#]), None);
    }

    #[test]
    fn finds_an_id_after_a_megabyte_fed_in_pieces() {
        let padding = "p".repeat(1 << 20);
        let line = format!(
            r#"{{"jsonrpc":"2.0","params":{{"x":"{padding}","y":[[{{"id":1}}]]}},"id":42}}"#
        );
        let pieces: Vec<&[u8]> = line.as_bytes().chunks(4096).collect();
        assert_eq!(scan(&pieces), Some(json!(42)));
    }

    #[test]
    fn finds_the_id_in_lines_serde_cannot_read() {
        let mut deep = br#"{"jsonrpc":"2.0","id":9,"method":"ping","params":{"x":"#.to_vec();
        deep.extend(std::iter::repeat_n(b'[', 200));
        deep.extend(std::iter::repeat_n(b']', 200));
        deep.extend(b"}}");
        assert_eq!(scan(&[&deep]), Some(json!(9)));
        let bad_utf8 = b"{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"params\":{\"s\":\"\xff\xfe\"},\"id\":\"u\"}";
        assert_eq!(scan(&[bad_utf8]), Some(json!("u")));
    }

    #[test]
    fn decode_names_what_is_wrong_and_keeps_the_id() {
        let refused = |line: &[u8]| {
            let mut scanner = IdScanner::default();
            scanner.feed(line);
            match decode(line, scanner.id()) {
                Decoded::Refuse { id, error } => {
                    (id.and_then(|id| serde_json::to_value(id).ok()), error)
                }
                Decoded::Message(_) => panic!("decoded {}", String::from_utf8_lossy(line)),
                Decoded::Ignore => panic!("ignored {}", String::from_utf8_lossy(line)),
            }
        };
        let (id, error) =
            refused(br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":"x"}"#);
        assert_eq!(id, Some(json!(3)));
        assert_eq!(error.code.0, -32602);
        assert!(
            error
                .message
                .contains("`params` must be an object, got a string"),
            "{}",
            error.message
        );
        let late = format!(
            r#"{{"jsonrpc":"2.0","method":"x","params":"{}","id":4}}"#,
            "a".repeat(4096)
        );
        let (id, error) = refused(late.as_bytes());
        assert_eq!((id, error.code.0), (Some(json!(4)), -32602));
        let (id, error) = refused(br#"{"jsonrpc":"2.0","id":5,"bogus":true}"#);
        assert_eq!((id, error.code.0), (Some(json!(5)), -32600));
        assert!(
            error.message.contains("`method` is missing"),
            "{}",
            error.message
        );
        let (id, error) = refused(b"this is not json");
        assert_eq!((id, error.code.0), (None, -32700));
        let (id, error) = refused(
            br#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"x","arguments":"no"}}"#,
        );
        assert_eq!((id, error.code.0), (Some(json!(6)), -32602));
        assert!(error.message.contains("tools/call"), "{}", error.message);
        assert!(matches!(
            decode(
                br#"{"jsonrpc":"2.0","method":"notifications/unknown","params":3}"#,
                None
            ),
            Decoded::Ignore
        ));
        assert!(matches!(
            decode(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, None),
            Decoded::Message(_)
        ));
    }
}
