//! The request loop shared by both wire formats: send, retry transient failures,
//! enforce the timeouts, read the event stream, classify what went wrong.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use futures::{Stream, StreamExt};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::assemble::Turn;
use crate::retry::retry_after;
use crate::sse::{SseEvent, SseParser};
use crate::{ChatStream, ClientOptions, ErrorKind, LlmError, StreamEvent, TimeoutPhase};

/// What went wrong inside a stream, before the driver adds provider, partial output
/// and attempt count.
#[derive(Debug)]
pub(crate) struct StreamFault {
    pub kind: ErrorKind,
    pub message: String,
}

impl StreamFault {
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        StreamFault {
            kind: ErrorKind::MalformedStream,
            message: message.into(),
        }
    }
}

/// Turns one wire format's events into the answer.
pub(crate) trait StreamDecoder: Send {
    /// Handle one server-sent event.
    fn on_event(&mut self, event: &SseEvent, turn: &mut Turn) -> Result<(), StreamFault>;
    /// The format's end marker was seen (`[DONE]`, `message_stop`).
    fn saw_end(&self) -> bool;
}

/// Everything needed to send one request and read its answer.
pub(crate) struct Call {
    /// `openai`, `anthropic`, …
    pub provider: String,
    /// `provider:model`, as requested.
    pub model: String,
    pub url: String,
    /// Already holds the auth header; never logged.
    pub headers: HeaderMap,
    /// The JSON body, serialised once (see [`json_body`]); every attempt sends it.
    pub body: bytes::Bytes,
    /// Names the variables to check when the key is refused.
    pub key_hint: String,
    /// The key, so it can be scrubbed from any text the provider sends back.
    pub secret: Option<String>,
    /// Response header carrying the provider's request id.
    pub request_id_header: &'static str,
    pub options: ClientOptions,
    pub new_decoder: fn() -> Box<dyn StreamDecoder>,
}

/// `value` serialised as the body of a [`Call`], and dropped: a resumed session's
/// request is megabytes, and a `Value` of it costs several times its text (issue
/// 14: the request used to live as a `Value` for the whole call, beside its bytes).
pub(crate) fn json_body(provider: &str, value: Value) -> Result<bytes::Bytes, LlmError> {
    serde_json::to_vec(&value)
        .map(bytes::Bytes::from)
        .map_err(|e| {
            LlmError::new(
                ErrorKind::BadRequest,
                provider,
                format!("cannot encode the request: {e}"),
            )
        })
}

/// Start the call; the returned stream drives it (no task is spawned, so dropping
/// the stream cancels the request at once).
pub(crate) fn start(http: reqwest::Client, call: Call) -> ChatStream {
    let (tx, rx) = mpsc::channel(64);
    let driver = Box::pin(async move { drive(http, call, tx).await });
    ChatStream::new(Driven {
        driver: Some(driver),
        rx,
    })
}

type Item = Result<StreamEvent, LlmError>;

/// A receiver that also polls the future feeding it.
struct Driven {
    driver: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    rx: mpsc::Receiver<Item>,
}

impl Stream for Driven {
    type Item = Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        if let Some(driver) = self.driver.as_mut()
            && driver.as_mut().poll(cx).is_ready()
        {
            self.driver = None;
        }
        self.rx.poll_recv(cx)
    }
}

/// A failed attempt.
struct Failure {
    error: LlmError,
    /// No output reached the caller, so sending again repeats nothing.
    before_output: bool,
}

async fn drive(http: reqwest::Client, call: Call, tx: mpsc::Sender<Item>) {
    tracing::debug!(provider = %call.provider, model = %call.model, url = %call.url, "model request");
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let failure = match attempt_once(&http, &call, &tx).await {
            Ok(()) => return,
            Err(failure) => failure,
        };
        let mut error = failure.error;
        if failure.before_output
            && error.kind.is_transient()
            && !error.do_not_retry
            && let Some(delay) = call.options.retry.delay_after(attempt, error.retry_after)
        {
            tracing::debug!(
                attempt,
                ?delay,
                kind = error.kind.as_str(),
                "retrying model request"
            );
            let event = StreamEvent::Retrying {
                attempt,
                delay,
                reason: error.message.clone(),
            };
            if tx.send(Ok(event)).await.is_err() {
                return;
            }
            tokio::time::sleep(delay).await;
            continue;
        }
        error.attempts = attempt;
        if attempt > 1 {
            error.message = format!("{} (gave up after {attempt} attempts)", error.message);
        }
        let _ = tx.send(Err(error)).await;
        return;
    }
}

/// One HTTP attempt. `Ok` means the answer finished and was sent (or the caller left).
async fn attempt_once(
    http: &reqwest::Client,
    call: &Call,
    tx: &mpsc::Sender<Item>,
) -> Result<(), Failure> {
    let timeouts = &call.options.timeouts;
    let fail_early = |error: LlmError| Failure {
        error,
        before_output: true,
    };
    let request = http
        .post(&call.url)
        .headers(call.headers.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(call.body.clone())
        .send();
    let response = match tokio::time::timeout(timeouts.first_byte, request).await {
        Err(_) => {
            return Err(fail_early(timeout_error(
                call,
                TimeoutPhase::FirstByte,
                timeouts.first_byte,
            )));
        }
        Ok(Err(e)) => return Err(fail_early(request_error(call, &e))),
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    let request_id = response
        .headers()
        .get(call.request_id_header)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if !status.is_success() {
        let headers = response.headers().clone();
        let body = error_body(response, timeouts.idle).await;
        let mut error = status_error(call, status, &headers, &body);
        error.request_id = request_id;
        return Err(fail_early(error));
    }
    // A 200 that is not an event stream (an HTML page or JSON from a wrong base URL,
    // a proxy) would otherwise look like an empty answer.
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !content_type.is_empty() && !content_type.starts_with("text/event-stream") {
        let body = error_body(response, timeouts.idle).await;
        let (detail, _) = provider_message(&body);
        let mut error = LlmError::new(
            ErrorKind::MalformedStream,
            &call.provider,
            scrub(
                call,
                format!(
                    "{} answered {} with {content_type} instead of an event stream (is the \
                     base URL right?): {detail}",
                    call.provider, call.url
                ),
            ),
        );
        error.request_id = request_id;
        return Err(fail_early(error));
    }

    let mut turn = Turn::new(&call.model);
    turn.set_request_id(request_id.clone());
    if tx
        .send(Ok(StreamEvent::Started {
            request_id: request_id.clone(),
        }))
        .await
        .is_err()
    {
        return Ok(());
    }
    let mut decoder = (call.new_decoder)();
    let mut parser = SseParser::new();
    let mut body = response.bytes_stream();
    let fail = |turn: &Turn, kind: ErrorKind, message: String| {
        let mut error = LlmError::new(kind, &call.provider, scrub(call, message));
        error.request_id = request_id.clone();
        error.partial = Some(Box::new(turn.partial()));
        Failure {
            error,
            before_output: !turn.produced_output(),
        }
    };
    let mut received_bytes = false;
    while !decoder.saw_end() {
        // Until the first bytes of the body, the model may still be thinking (some
        // servers send headers at once): the first-byte wait applies, then the idle one.
        let (wait, phase) = if received_bytes {
            (timeouts.idle, TimeoutPhase::Idle)
        } else {
            (timeouts.first_byte, TimeoutPhase::FirstByte)
        };
        let chunk = match tokio::time::timeout(wait, body.next()).await {
            Err(_) => {
                let timeout = timeout_error(call, phase, wait);
                return Err(fail(&turn, timeout.kind, timeout.message));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(fail(
                    &turn,
                    ErrorKind::Network,
                    format!(
                        "the connection to {} was cut in the middle of the answer ({})",
                        call.provider,
                        error_chain(&e)
                    ),
                ));
            }
            Ok(Some(Ok(chunk))) => {
                received_bytes = true;
                chunk
            }
        };
        let events = parser.push(&chunk).map_err(|e| {
            fail(
                &turn,
                ErrorKind::MalformedStream,
                format!("{} sent a malformed stream: {e}", call.provider),
            )
        })?;
        for event in events {
            if let Err(fault) = decoder.on_event(&event, &mut turn) {
                let message = match fault.kind {
                    ErrorKind::MalformedStream => {
                        format!(
                            "{} sent a malformed stream: {}",
                            call.provider, fault.message
                        )
                    }
                    _ => fault.message,
                };
                return Err(fail(&turn, fault.kind, message));
            }
            if decoder.saw_end() {
                break;
            }
        }
        for event in turn.drain_events().collect::<Vec<_>>() {
            if tx.send(Ok(event)).await.is_err() {
                return Ok(());
            }
        }
    }
    // The end marker is the proof the answer is whole; without it, a stop reason
    // is accepted (some compatible servers close without `[DONE]`).
    if !decoder.saw_end() && (turn.stop_reason().is_none() || parser.has_pending()) {
        return Err(fail(
            &turn,
            ErrorKind::Network,
            format!(
                "the connection to {} closed before the answer was complete",
                call.provider
            ),
        ));
    }
    turn.finish_all_tools();
    let mut events: Vec<StreamEvent> = turn.drain_events().collect();
    events.push(StreamEvent::Finished(turn.into_response()));
    for event in events {
        if tx.send(Ok(event)).await.is_err() {
            break;
        }
    }
    Ok(())
}

fn timeout_error(call: &Call, phase: TimeoutPhase, after: Duration) -> LlmError {
    LlmError::new(
        ErrorKind::Timeout,
        &call.provider,
        format!(
            "{} did not answer in time: no data for {} s while {phase}",
            call.provider,
            after.as_secs_f64()
        ),
    )
}

/// The error and its causes, joined (reqwest's top-level message alone is vague).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

fn is_connection_refused(error: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        source = cause.source();
    }
    false
}

fn request_error(call: &Call, error: &reqwest::Error) -> LlmError {
    let base = call.url.as_str();
    if error.is_timeout() {
        return timeout_error(call, TimeoutPhase::Connect, call.options.timeouts.connect);
    }
    if is_connection_refused(error) {
        // Not transient in practice: nothing listens there (a local server that is
        // not running, a wrong base URL), so it is not retried.
        let mut e = LlmError::new(
            ErrorKind::Network,
            &call.provider,
            format!(
                "cannot connect to {} at {base}: connection refused — is the server running \
                 and the base URL right?",
                call.provider
            ),
        );
        e.do_not_retry = true;
        return e;
    }
    LlmError::new(
        ErrorKind::Network,
        &call.provider,
        format!(
            "cannot reach {} at {base}: {}",
            call.provider,
            error_chain(error)
        ),
    )
}

/// The provider's own words from an error body: `error.message` in both formats.
fn provider_message(body: &str) -> (String, Option<String>) {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let message = error
        .and_then(|e| {
            e.get("message")
                .and_then(Value::as_str)
                .or_else(|| e.as_str())
        })
        .or_else(|| {
            parsed
                .as_ref()
                .and_then(|v| v.get("message"))
                .and_then(Value::as_str)
        })
        .map(str::to_owned)
        .unwrap_or_else(|| body.trim().to_owned());
    // OpenAI `code`, Anthropic `type`, Gemini `status` (`RESOURCE_EXHAUSTED`, …).
    let code = error.and_then(|e| {
        e.get("code")
            .and_then(Value::as_str)
            .or_else(|| e.get("type").and_then(Value::as_str))
            .or_else(|| e.get("status").and_then(Value::as_str))
            .map(str::to_owned)
    });
    let mut message: String = message.chars().take(600).collect();
    if message.is_empty() {
        message = "no details given".to_owned();
    }
    (message, code)
}

fn looks_like_context_overflow(message: &str, code: Option<&str>) -> bool {
    let m = message.to_ascii_lowercase();
    code == Some("context_length_exceeded")
        || m.contains("context length")
        || m.contains("context_length")
        || m.contains("context window")
        || m.contains("prompt is too long")
        || m.contains("too many tokens")
        || m.contains("maximum context")
        // Gemini: "The input token count (N) exceeds the maximum number of tokens
        // allowed (M)."
        || (m.contains("input token count") && m.contains("exceeds"))
}

/// Gemini's wait hint: `error.details[]` of type `google.rpc.RetryInfo` with
/// `retryDelay` such as `"37s"` (it sends no `retry-after` header).
fn google_retry_delay(body: &str) -> Option<Duration> {
    let parsed: Value = serde_json::from_str(body).ok()?;
    parsed
        .pointer("/error/details")?
        .as_array()?
        .iter()
        .filter_map(|d| d.get("retryDelay").and_then(Value::as_str))
        .find_map(|delay| {
            let seconds: f64 = delay.strip_suffix('s')?.trim().parse().ok()?;
            (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
        })
}

/// Gemini refuses a bad key with HTTP 400 `INVALID_ARGUMENT`, reason `API_KEY_INVALID`.
fn google_key_refused(body: &str) -> bool {
    let Ok(parsed) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    parsed
        .pointer("/error/details")
        .and_then(Value::as_array)
        .is_some_and(|details| {
            details
                .iter()
                .any(|d| d.get("reason").and_then(Value::as_str) == Some("API_KEY_INVALID"))
        })
}

/// Remove the key (whole, or echoed back cut short) and URL credentials from text
/// that came back from the provider (invariant 7).
fn scrub(call: &Call, text: String) -> String {
    let secrets: Vec<&str> = call.secret.as_deref().into_iter().collect();
    cairn_core::scrub::scrub(&text, &secrets)
}

pub(crate) fn status_error(
    call: &Call,
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
) -> LlmError {
    let (detail, code) = provider_message(body);
    let detail = scrub(call, detail);
    let provider = &call.provider;
    let n = status.as_u16();
    let wait = retry_after(headers, SystemTime::now()).or_else(|| google_retry_delay(body));
    let (kind, message) = match n {
        401 | 403 => (
            ErrorKind::Auth,
            format!(
                "{provider} refused the API key (HTTP {n}): {detail}. Check {}",
                call.key_hint
            ),
        ),
        400 if google_key_refused(body) => (
            ErrorKind::Auth,
            format!(
                "{provider} refused the API key (HTTP {n}): {detail}. Check {}",
                call.key_hint
            ),
        ),
        429 if code.as_deref() == Some("insufficient_quota") => (
            ErrorKind::RateLimit,
            format!("{provider} says the account has no quota left (HTTP 429): {detail}"),
        ),
        429 => (
            ErrorKind::RateLimit,
            format!("{provider} is rate limiting requests (HTTP 429): {detail}"),
        ),
        404 => (
            ErrorKind::BadRequest,
            format!(
                "{provider} does not know the model or the endpoint (HTTP 404, model {}, \
                 URL {}): {detail}",
                call.model, call.url
            ),
        ),
        400 | 413 | 422 if n == 413 || looks_like_context_overflow(&detail, code.as_deref()) => (
            ErrorKind::ContextTooLong,
            format!(
                "the conversation is too long for {} (HTTP {n}): {detail}. Compact or \
                 shorten the context and try again",
                call.model
            ),
        ),
        408 | 409 => (
            ErrorKind::Server,
            format!("{provider} could not take the request now (HTTP {n}): {detail}"),
        ),
        500..=599 => (
            ErrorKind::Server,
            format!("{provider} had a server error (HTTP {n}): {detail}"),
        ),
        _ => (
            ErrorKind::BadRequest,
            format!("{provider} rejected the request (HTTP {n}): {detail}"),
        ),
    };
    let mut error = LlmError::new(kind, provider, message).with_status(n);
    error.retry_after = wait;
    // OpenAI's documented override of the retry decision; an empty quota does not
    // refill in seconds.
    error.do_not_retry = headers.get("x-should-retry").and_then(|v| v.to_str().ok())
        == Some("false")
        || code.as_deref() == Some("insufficient_quota");
    error
}

/// The start of an error or non-stream body, for the message: at most
/// `ERROR_BODY_LIMIT` bytes within `wait` (a misconfigured server may send a page of
/// any size, or trickle).
async fn error_body(response: reqwest::Response, wait: Duration) -> String {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    let read = async {
        while let Some(Ok(chunk)) = stream.next().await {
            let room = ERROR_BODY_LIMIT - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() == ERROR_BODY_LIMIT {
                break;
            }
        }
    };
    // A slow body still gives what arrived in time.
    let _ = tokio::time::timeout(wait, read).await;
    String::from_utf8_lossy(&body).into_owned()
}

const ERROR_BODY_LIMIT: usize = 64 * 1024;
