//! A minimal model provider for whole-process benchmarks of `cairn run`: an
//! OpenAI chat-completions and Anthropic Messages endpoint on 127.0.0.1 that notes the instant the first byte of
//! each request arrives, then answers with a short streamed reply.
//!
//! It is a plain TCP listener on its own thread rather than an HTTP framework: the
//! instant that matters is the first `read` that returns data, before any parsing,
//! and a framework only hands a request over once its headers (or body) are in.
//! Every answer closes its connection, so each request arrives on a fresh one and
//! its first byte is the first byte read after `accept`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

/// What the endpoint saw of one request.
#[derive(Clone, Debug)]
pub(crate) struct ReceivedRequest {
    /// When the first byte of the request was read.
    pub first_byte: Instant,
    /// When the last byte of its body was read.
    pub complete: Instant,
    /// `POST /v1/messages HTTP/1.1`, say.
    pub request_line: String,
    pub body_bytes: usize,
    /// Entries of the body's `messages` array (0 when the body is not JSON).
    pub messages: usize,
    /// Whether the body contains the marker given to [`FakeProvider::start`].
    pub has_marker: bool,
    /// Why the request could not be read or answered, if it could not.
    pub error: Option<String>,
}

pub(crate) struct FakeProvider {
    addr: SocketAddr,
    requests: Receiver<ReceivedRequest>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The answer's text, and the prompt size it reports. A small reported prompt keeps
/// cairn's pressure check quiet, so a measured run is exactly one request.
const ANSWER: &str = "Noted; continuing from where we left off.";
pub(crate) const REPORTED_INPUT_TOKENS: u64 = 1_000;

/// Longest a request may take to arrive in full once it has started.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body accepted (the live contexts measured are a few MB).
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

impl FakeProvider {
    /// Listens on an ephemeral port of 127.0.0.1. Requests whose body contains
    /// `marker` are flagged (see [`ReceivedRequest::has_marker`]).
    pub(crate) fn start(marker: &str) -> Result<FakeProvider> {
        let listener =
            TcpListener::bind("127.0.0.1:0").context("binding the fake provider's port")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, requests) = channel();
        let marker = marker.as_bytes().to_vec();
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("fake-provider".into())
            .spawn(move || serve(listener, &stopping, &marker, &tx))
            .context("starting the fake provider's thread")?;
        Ok(FakeProvider {
            addr,
            requests,
            stop,
            thread: Some(thread),
        })
    }

    /// What to set as `ANTHROPIC_BASE_URL`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received since the last call, oldest first.
    pub(crate) fn take(&self) -> Vec<ReceivedRequest> {
        self.requests.try_iter().collect()
    }

    /// Like [`FakeProvider::take`] after a client got its answer: a request is noted
    /// only once it has been answered and looked at, so a client can exit before its
    /// request is noted (on a busy machine, `run-resume` failed with "exited without
    /// sending a request"). Waits up to `wait` for the first one.
    pub(crate) fn take_answered(&self, wait: Duration) -> Vec<ReceivedRequest> {
        let mut got: Vec<ReceivedRequest> = self.requests.recv_timeout(wait).into_iter().collect();
        got.extend(self.requests.try_iter());
        got
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking `accept` so the thread sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(listener: TcpListener, stop: &AtomicBool, marker: &[u8], tx: &Sender<ReceivedRequest>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        // One connection at a time: cairn sends one request at a time.
        if let Some(request) = handle(stream, marker)
            && tx.send(request).is_err()
        {
            return;
        }
    }
}

/// Reads one request, answers it, and describes it. `None` for a connection that
/// closed without sending anything (the wake-up of `Drop`).
fn handle(mut stream: TcpStream, marker: &[u8]) -> Option<ReceivedRequest> {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let mut buffer = vec![0u8; 64 * 1024];
    let first = loop {
        match stream.read(&mut buffer) {
            Ok(0) => return None,
            Ok(n) => break n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    };
    let first_byte = Instant::now();
    let mut request = buffer[..first].to_vec();
    let read = read_rest(&mut stream, &mut request, &mut buffer);
    let complete = Instant::now();
    let head_end = find(&request, b"\r\n\r\n").map_or(request.len(), |i| i + 4);
    let request_line =
        String::from_utf8_lossy(&request[..find(&request, b"\r\n").unwrap_or(0).min(head_end)])
            .into_owned();
    let openai = request_line.contains("/chat/completions");
    let error = match read {
        Ok(()) => answer(&mut stream, openai)
            .err()
            .map(|e| format!("answering: {e:#}")),
        Err(e) => {
            let _ = stream.write_all(
                b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
            Some(format!("{e:#}"))
        }
    };
    let _ = stream.shutdown(std::net::Shutdown::Both);
    // Looked at only after answering, so it costs the measured process nothing.
    let body = &request[head_end.min(request.len())..];
    let messages = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("messages").and_then(Value::as_array).map(Vec::len))
        .unwrap_or(0);
    Some(ReceivedRequest {
        first_byte,
        complete,
        request_line,
        body_bytes: body.len(),
        messages,
        has_marker: !marker.is_empty() && find(body, marker).is_some(),
        error,
    })
}

/// Reads until the head and a `content-length` body are complete.
fn read_rest(stream: &mut TcpStream, request: &mut Vec<u8>, buffer: &mut [u8]) -> Result<()> {
    let mut wanted: Option<usize> = None;
    loop {
        if wanted.is_none()
            && let Some(end) = find(request, b"\r\n\r\n")
        {
            let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            if head.contains("transfer-encoding: chunked") {
                bail!("chunked request bodies are not supported by the fake provider");
            }
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map(|v| v.trim().parse::<usize>())
                .transpose()
                .context("reading content-length")?
                .unwrap_or(0);
            if length > MAX_BODY_BYTES {
                bail!("request body of {length} bytes is over the fake provider's limit");
            }
            wanted = Some(end + 4 + length);
        }
        if let Some(total) = wanted
            && request.len() >= total
        {
            return Ok(());
        }
        let n = match stream.read(buffer) {
            Ok(0) => bail!("the connection closed before the request was complete"),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the request"),
        };
        request.extend_from_slice(&buffer[..n]);
    }
}

/// A streamed answer (OpenAI chat completions or Anthropic Messages), delimited by
/// closing the connection.
fn answer(stream: &mut TcpStream, openai: bool) -> Result<()> {
    let frame = |event: &str, data: Value| format!("event: {event}\ndata: {data}\n\n");
    let mut out = String::from(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
         request-id: req_bench\r\nx-request-id: req_bench\r\nconnection: close\r\n\r\n",
    );
    if openai {
        let chunk = |delta: Value, finish: Value, usage: Value| {
            let data = json!({
                "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_763_000_000,
                "model": "gpt-4.1",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                "usage": usage,
            });
            format!("data: {data}\n\n")
        };
        out.push_str(&chunk(
            json!({"role": "assistant", "content": ANSWER}),
            Value::Null,
            Value::Null,
        ));
        out.push_str(&chunk(json!({}), json!("stop"), Value::Null));
        out.push_str(&format!(
            "data: {}\n\n",
            json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                   "created": 1_763_000_000, "model": "gpt-4.1", "choices": [],
                   "usage": {"prompt_tokens": REPORTED_INPUT_TOKENS, "completion_tokens": 12,
                             "total_tokens": REPORTED_INPUT_TOKENS + 12}})
        ));
        out.push_str("data: [DONE]\n\n");
        stream.write_all(out.as_bytes())?;
        stream.flush()?;
        return Ok(());
    }
    out.push_str(&frame(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": "msg_bench", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5", "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": REPORTED_INPUT_TOKENS, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": 0, "output_tokens": 1}
        }}),
    ));
    out.push_str(&frame(
        "content_block_start",
        json!({"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}}),
    ));
    out.push_str(&frame(
        "content_block_delta",
        json!({"type": "content_block_delta", "index": 0,
               "delta": {"type": "text_delta", "text": ANSWER}}),
    ));
    out.push_str(&frame(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    out.push_str(&frame(
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": 12}}),
    ));
    out.push_str(&frame("message_stop", json!({"type": "message_stop"})));
    stream.write_all(out.as_bytes())?;
    stream.flush()?;
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the provider recorded, waiting up to a second for its thread to note it.
    fn requests_within_a_second(provider: &FakeProvider) -> Vec<ReceivedRequest> {
        let got = provider.take_answered(Duration::from_secs(1));
        assert!(
            !got.is_empty(),
            "the provider recorded no request within a second"
        );
        got
    }

    #[test]
    fn notes_the_first_byte_and_answers_a_stream() {
        let provider = FakeProvider::start("MARKER-42").unwrap();
        let body = br#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi MARKER-42"}]}"#;
        let mut stream = TcpStream::connect(provider.addr).unwrap();
        let sent = Instant::now();
        let head = format!(
            "POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        // The head first, the body a little later: the first byte is the head's.
        stream.write_all(head.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        stream.write_all(body).unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
        assert!(reply.contains("event: message_stop"), "{reply}");
        let got = requests_within_a_second(&provider);
        let request = &got[0];
        assert_eq!(request.request_line, "POST /v1/messages HTTP/1.1");
        assert_eq!(request.body_bytes, body.len());
        assert_eq!(request.messages, 1);
        assert!(request.has_marker);
        assert!(request.error.is_none(), "{:?}", request.error);
        assert!(request.first_byte >= sent);
        assert!(
            request.complete.duration_since(request.first_byte) >= Duration::from_millis(40),
            "the first byte is noted before the body arrives"
        );
    }

    #[test]
    fn a_request_without_its_body_is_reported() {
        let provider = FakeProvider::start("x").unwrap();
        let mut stream = TcpStream::connect(provider.addr).unwrap();
        stream
            .write_all(b"POST /v1/messages HTTP/1.1\r\ncontent-length: 100\r\n\r\n{}")
            .unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
        let got = requests_within_a_second(&provider);
        let error = got[0].error.as_deref().unwrap_or_default();
        assert!(error.contains("closed before"), "{error}");
    }
}
