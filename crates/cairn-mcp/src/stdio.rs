//! Serving over stdio: only protocol on stdout, one JSON-RPC message per line.
//!
//! rmcp drops a line longer than the body limit, or one that is not JSON, without
//! answering, which leaves the client waiting forever. Here the incoming bytes are
//! watched on their way to rmcp: when a line crosses the limit, an `invalid request`
//! error naming the limit is answered for its id; a line that is not JSON gets a
//! `parse error` (id null, as JSON-RPC says); rmcp discards both lines.
//! Both rmcp's responses and these errors go through one writer task, so lines
//! never interleave on stdout.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use cairn_core::list_param::human_bytes;
use rmcp::ServiceExt;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::transport::stdio_pipes;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;

use crate::handler::CairnMcpFactory;

/// Bytes kept from the start of each line to find the request id of an
/// oversize request (`{"jsonrpc":"2.0","id":…` comes first in practice).
const HEAD_BYTES: usize = 1024;
/// A line buffer grown past this by one large message is given back afterwards.
const KEPT_LINE_CAPACITY: usize = 64 * 1024;

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
    let (lines_tx, lines_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer_task = tokio::spawn(write_lines(writer, lines_rx));
    let reader = LimitWatcher::new(reader, max_body_bytes, lines_tx.clone());
    let writer = LineSender {
        pending: Vec::new(),
        lines: lines_tx,
    };
    // One more byte than the limit: the newline that ends the message.
    let transport =
        AsyncRwTransport::new_server(reader, writer).with_max_line_length(max_body_bytes + 1);
    let result = match factory.handler().serve(transport).await {
        Ok(service) => service
            .waiting()
            .await
            .map(|_| ())
            .map_err(|e| io::Error::other(format!("MCP service stopped: {e}"))),
        Err(e) => Err(io::Error::other(format!(
            "MCP session failed to start: {e}"
        ))),
    };
    // The transport (and with it every sender) is gone: the writer drains and ends.
    match writer_task.await {
        Ok(written) => written?,
        Err(e) => return Err(io::Error::other(format!("stdout writer failed: {e}"))),
    }
    result
}

/// Owns stdout: writes whole lines, in order, and flushes after each batch.
async fn write_lines<W: AsyncWrite + Unpin>(
    mut out: W,
    mut lines: mpsc::UnboundedReceiver<Vec<u8>>,
) -> io::Result<()> {
    while let Some(line) = lines.recv().await {
        out.write_all(&line).await?;
        while let Ok(more) = lines.try_recv() {
            out.write_all(&more).await?;
        }
        out.flush().await?;
    }
    Ok(())
}

/// rmcp's writer: hands every complete line to the writer task.
struct LineSender {
    pending: Vec<u8>,
    lines: mpsc::UnboundedSender<Vec<u8>>,
}

impl AsyncWrite for LineSender {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.pending.extend_from_slice(buf);
        if let Some(last_newline) = this.pending.iter().rposition(|b| *b == b'\n') {
            let rest = this.pending.split_off(last_newline + 1);
            let complete = std::mem::replace(&mut this.pending, rest);
            if this.lines.send(complete).is_err() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "stdout writer has stopped",
                )));
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Passes stdin through unchanged and answers lines over the limit.
struct LimitWatcher<R> {
    inner: R,
    limit: usize,
    /// Bytes of the current line so far (without its newline).
    line_len: usize,
    head: Vec<u8>,
    /// The current line while it is within the limit, to check that it is JSON.
    line: Vec<u8>,
    answered: bool,
    lines: mpsc::UnboundedSender<Vec<u8>>,
}

impl<R> LimitWatcher<R> {
    fn new(inner: R, limit: usize, lines: mpsc::UnboundedSender<Vec<u8>>) -> Self {
        LimitWatcher {
            inner,
            limit,
            line_len: 0,
            head: Vec::with_capacity(HEAD_BYTES),
            line: Vec::new(),
            answered: false,
            lines,
        }
    }

    fn observe(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|b| *b == b'\n');
            let segment = &bytes[..newline.unwrap_or(bytes.len())];
            let room = HEAD_BYTES.saturating_sub(self.head.len());
            self.head
                .extend_from_slice(&segment[..segment.len().min(room)]);
            self.line_len += segment.len();
            if self.line_len > self.limit && !self.answered {
                self.answered = true;
                self.answer_oversize();
                self.line.clear();
            }
            if !self.answered {
                self.line.extend_from_slice(segment);
            }
            match newline {
                Some(at) => {
                    if !self.answered {
                        self.check_json();
                    }
                    self.line_len = 0;
                    self.head.clear();
                    self.line.clear();
                    if self.line.capacity() > KEPT_LINE_CAPACITY {
                        self.line.shrink_to(KEPT_LINE_CAPACITY);
                    }
                    self.answered = false;
                    bytes = &bytes[at + 1..];
                }
                None => bytes = &[],
            }
        }
    }

    /// Answers a complete line that is not JSON (blank lines are skipped, as rmcp does).
    fn check_json(&self) {
        let line = self.line.trim_ascii();
        if line.is_empty() {
            return;
        }
        let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(line) else {
            return;
        };
        self.send(json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": {
                "code": -32700,
                "message": format!("parse error: the line is not JSON ({e}); it was ignored"),
            }
        }));
    }

    fn send(&self, response: Value) {
        let mut line = response.to_string().into_bytes();
        line.push(b'\n');
        if self.lines.send(line).is_err() {
            tracing::warn!("cannot answer a bad message: stdout writer has stopped");
        }
    }

    fn answer_oversize(&self) {
        let Some(id) = request_id(&self.head) else {
            tracing::warn!(
                limit = self.limit,
                "dropped an oversize message without a readable id (a notification?)"
            );
            return;
        };
        let response = json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {
                "code": -32600,
                "message": format!(
                    "request body exceeds the limit of {}; nothing was done",
                    human_bytes(self.limit)
                ),
                "data": { "field": "body", "limit": self.limit }
            }
        });
        self.send(response);
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for LimitWatcher<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled {
            this.observe(&buf.filled()[before..]);
        }
        polled
    }
}

/// The `id` of a JSON-RPC request from the start of its text: the first
/// top-level `"id":` followed by a number or a string.
fn request_id(head: &[u8]) -> Option<Value> {
    let text = String::from_utf8_lossy(head);
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b'"' => {
                if depth == 1 && text[i..].starts_with("\"id\"") {
                    let rest = text[i + 4..].trim_start();
                    let value = rest.strip_prefix(':')?.trim_start();
                    return parse_id(value);
                }
                in_string = true;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn parse_id(value: &str) -> Option<Value> {
    if let Some(rest) = value.strip_prefix('"') {
        let end = rest.find('"')?;
        return Some(Value::String(rest[..end].to_owned()));
    }
    let number: String = value
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    number.parse::<i64>().ok().map(Value::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_request_id_at_the_top_level_only() {
        let line = br#"{"jsonrpc":"2.0","id":17,"method":"tools/call","params":{"arguments":{"summary":"xxx"#;
        assert_eq!(request_id(line), Some(json!(17)));
        let line = br#"{"jsonrpc":"2.0","params":{"id":5},"id":"abc","method":"x"}"#;
        assert_eq!(request_id(line), Some(json!("abc")));
        let line = br#"{"jsonrpc":"2.0","method":"notifications/x","params":{"id":5}}"#;
        assert_eq!(request_id(line), None);
    }

    #[tokio::test]
    async fn oversize_lines_are_answered_with_the_limit() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut watcher = LimitWatcher::new(tokio::io::empty(), 10, tx);
        watcher.observe(br#"{"id":3,"method":"x","params":"0123456789"}"#);
        watcher.observe(b"tail\n{\"id\":4}\n");
        let answer = rx.try_recv().unwrap();
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["id"], json!(3));
        assert_eq!(answer["error"]["data"]["limit"], json!(10));
        assert!(rx.try_recv().is_err(), "a short line is not answered");
    }

    #[tokio::test]
    async fn a_line_that_is_not_json_gets_a_parse_error() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut watcher = LimitWatcher::new(tokio::io::empty(), 1_000, tx);
        watcher.observe(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n\n");
        assert!(
            rx.try_recv().is_err(),
            "valid JSON and blank lines are rmcp's"
        );
        watcher.observe(b"this is not json");
        assert!(rx.try_recv().is_err(), "answered before the line ended");
        watcher.observe(b"\n{\"id\":2,\"method\":\"ping\"}\n");
        let answer: Value = serde_json::from_slice(&rx.try_recv().unwrap()).unwrap();
        assert_eq!(answer["id"], Value::Null);
        assert_eq!(answer["error"]["code"], json!(-32700));
        assert!(
            rx.try_recv().is_err(),
            "the next valid line is not answered"
        );
    }
}
