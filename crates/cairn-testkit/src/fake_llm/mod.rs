//! A scripted fake LLM provider: an HTTP server on 127.0.0.1 that speaks the three
//! wire formats cairn uses, exactly as the real services write them:
//!
//! - OpenAI chat completions: `POST /v1/chat/completions` (base URL
//!   [`FakeLlm::openai_base_url`]); SSE `data: {…}` chunks, `data: [DONE]`, usage in a
//!   last chunk with empty `choices` when `stream_options.include_usage` is set.
//! - Anthropic Messages: `POST /v1/messages` (base URL
//!   [`FakeLlm::anthropic_base_url`]); `event: message_start` … `ping` …
//!   `content_block_*` … `message_delta`, `message_stop`.
//! - Gemini: `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` (base URL
//!   [`FakeLlm::gemini_base_url`]); SSE `data: {GenerateContentResponse}` chunks and
//!   no end marker. Its Files API too: the resumable upload
//!   (`POST /upload/v1beta/files`, `X-Goog-Upload-*` headers, then the bytes to the
//!   `x-goog-upload-url` it names) and `GET /v1beta/files/{id}`, which says
//!   `PROCESSING` for the first [`FakeLlm::set_processing_polls`] polls, then
//!   `ACTIVE`. Uploaded bytes are kept ([`FakeLlm::uploaded_files`]).
//!
//! All answer non-streamed JSON when the request does not ask for a stream.
//! Each request takes the next scripted [`Turn`]; when none is left the server answers
//! HTTP 500 "no scripted turn left". Every request is recorded ([`FakeLlm::requests`])
//! with its JSON body and its headers, secret values (`authorization`, `x-api-key`,
//! `x-goog-api-key`, `api-key`) replaced by `<redacted>`.
//!
//! The server runs on its own thread and runtime, so it serves sync tests (driving the
//! real binary) and async tests alike; dropping the [`FakeLlm`] stops it.

mod anthropic_wire;
mod gemini_files;
mod gemini_wire;
mod openai_wire;
mod script;
mod transcript;

pub use gemini_files::UploadedFile;
pub use script::{ErrorReply, FakeUsage, Fault, Part, Reply, Turn};
pub use transcript::{contains_in_order, transcript};

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

/// One request the fake received.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The query string (`alt=sse`), empty when there was none.
    pub query: String,
    /// Lower-case header names; secret values are `<redacted>`.
    pub headers: BTreeMap<String, String>,
    /// The JSON body (`Value::Null` when it was not JSON).
    pub body: Value,
    /// When it arrived, counted from the server's start.
    pub received_at: Duration,
    /// Whether the API key matched [`FakeLlm::require_api_key`]; `None` when no key
    /// is required.
    pub key_accepted: Option<bool>,
}

impl RecordedRequest {
    /// `openai`, `anthropic` or `gemini`, from the path.
    pub fn wire(&self) -> &'static str {
        if self.path.ends_with("/messages") {
            "anthropic"
        } else if self.path.contains("generateContent")
            || self.path.contains("GenerateContent")
            || self.path.contains("/files")
        {
            "gemini"
        } else {
            "openai"
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

#[derive(Default)]
struct Shared {
    turns: VecDeque<Turn>,
    requests: Vec<RecordedRequest>,
    required_key: Option<String>,
    served: u64,
    /// Started uploads (by upload id) and finished files.
    uploads: Vec<gemini_files::PendingUpload>,
    files: Vec<UploadedFile>,
    processing_polls: u32,
}

struct AppState {
    shared: Mutex<Shared>,
    started: Instant,
}

/// A running fake provider. Dropping it stops the server.
pub struct FakeLlm {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeLlm {
    /// Start on 127.0.0.1 (a free port) with these turns queued.
    pub fn start(turns: impl IntoIterator<Item = Turn>) -> std::io::Result<FakeLlm> {
        let state = Arc::new(AppState {
            shared: Mutex::new(Shared {
                turns: turns.into_iter().collect(),
                processing_polls: 1,
                ..Shared::default()
            }),
            started: Instant::now(),
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        // Videos go through the Files API: far above axum's 2 MB default.
        let app = axum::Router::new()
            .fallback(handle)
            .layer(axum::extract::DefaultBodyLimit::max(256 * 1024 * 1024))
            .with_state(state.clone());
        let thread = std::thread::Builder::new()
            .name("fake-llm".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                        return;
                    };
                    // No graceful shutdown: a stalled scripted stream must not hold
                    // the test up; the runtime drops open connections below.
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stop_rx => {}
                    }
                });
                // Streams still open (a stalled answer) must not keep the test waiting.
                runtime.shutdown_timeout(Duration::from_millis(100));
            })?;
        Ok(FakeLlm {
            addr,
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What to set as `OPENAI_BASE_URL` / `base_url` of an OpenAI client.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// What to set as `ANTHROPIC_BASE_URL` / `base_url` of an Anthropic client.
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// What to set as `GEMINI_BASE_URL` / `base_url` of a Gemini client.
    pub fn gemini_base_url(&self) -> String {
        self.url()
    }

    /// Files uploaded through the Gemini Files API, oldest first.
    pub fn uploaded_files(&self) -> Vec<UploadedFile> {
        self.lock().files.clone()
    }

    /// How many `GET /v1beta/files/{id}` answers say `PROCESSING` before `ACTIVE`
    /// (default 1).
    pub fn set_processing_polls(&self, polls: u32) {
        self.lock().processing_polls = polls;
    }

    /// Queue another turn.
    pub fn push(&self, turn: impl Into<Turn>) {
        self.lock().turns.push_back(turn.into());
    }

    /// Answer 401 (in the provider's format) unless requests carry this key
    /// (`Authorization: Bearer KEY`, `x-api-key: KEY` or `x-goog-api-key: KEY`).
    pub fn require_api_key(&self, key: impl Into<String>) {
        self.lock().required_key = Some(key.into());
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Turns not yet served.
    pub fn remaining(&self) -> usize {
        self.lock().turns.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.state.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "api-key",
    "proxy-authorization",
];

fn presented_key(headers: &HeaderMap) -> Option<String> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    value("x-api-key")
        .or_else(|| value("x-goog-api-key"))
        .map(str::to_owned)
        .or_else(|| {
            value("authorization")
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::to_owned)
        })
}

async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // The bytes of an upload go to the URL the start answer named; its upload id is
    // the credential (Google's REST guide sends no key there).
    if path == "/upload/v1beta/files"
        && let Some(id) = query_value(&uri, "upload_id")
    {
        record(&state, &method, &uri, &headers, Value::Null, Needs::Nothing);
        return gemini_files::finish_upload(&state, &headers, id, &body);
    }
    let route = if path.ends_with("/messages") {
        Route::Chat(Wire::Anthropic, None)
    } else if path.ends_with("/chat/completions") {
        Route::Chat(Wire::OpenAi, None)
    } else if let Some((model, action)) = path
        .strip_prefix("/v1beta/models/")
        .and_then(|rest| rest.split_once(':'))
    {
        match action {
            "streamGenerateContent" => Route::Chat(Wire::Gemini, Some((model.to_owned(), true))),
            "generateContent" => Route::Chat(Wire::Gemini, Some((model.to_owned(), false))),
            _ => Route::Unknown,
        }
    } else if path == "/upload/v1beta/files" && method == Method::POST {
        Route::UploadStart
    } else if path.starts_with("/v1beta/files/") && method == Method::GET {
        Route::FileState(path.trim_start_matches("/v1beta/").to_owned())
    } else {
        Route::Unknown
    };
    if matches!(route, Route::Unknown) {
        return plain(
            StatusCode::NOT_FOUND,
            format!("fake LLM: no endpoint {method} {path}"),
        );
    }
    let is_chat = matches!(route, Route::Chat(..));
    let needs = if is_chat {
        Needs::KeyAndTurn
    } else {
        Needs::Key
    };
    let Some((turn, number)) = record(&state, &method, &uri, &headers, json.clone(), needs) else {
        let wire = match &route {
            Route::Chat(wire, _) => *wire,
            _ => Wire::Gemini,
        };
        return error_response(wire, &refused_key(wire));
    };
    match route {
        Route::UploadStart => gemini_files::start_upload(&state, &headers, &json),
        Route::FileState(name) => gemini_files::file_state(&state, &name),
        Route::Chat(wire, gemini) => {
            let Some(turn) = turn else {
                let error = ErrorReply {
                    status: 500,
                    message: "fake LLM: no scripted turn left".into(),
                    ..ErrorReply::default()
                };
                return error_response(wire, &error);
            };
            match turn {
                Turn::Error(error) => error_response(wire, &error),
                Turn::Reply(reply) => {
                    let (model, streamed) = match gemini {
                        Some((model, streamed)) => (model, streamed),
                        None => (
                            json.get("model")
                                .and_then(Value::as_str)
                                .unwrap_or("fake-model")
                                .to_owned(),
                            json.get("stream").and_then(Value::as_bool).unwrap_or(false),
                        ),
                    };
                    reply_response(wire, &reply, &model, streamed, &json, number).await
                }
            }
        }
        Route::Unknown => plain(StatusCode::NOT_FOUND, "fake LLM: no endpoint".into()),
    }
}

enum Route {
    /// A model request; for Gemini the model and whether it streams come from the path.
    Chat(Wire, Option<(String, bool)>),
    UploadStart,
    FileState(String),
    Unknown,
}

/// The 401 each service answers a wrong key with (Gemini: 400 `API_KEY_INVALID`).
fn refused_key(wire: Wire) -> ErrorReply {
    match wire {
        Wire::Gemini => ErrorReply {
            status: 400,
            message: "API key not valid. Please pass a valid API key.".into(),
            code: Some("API_KEY_INVALID".into()),
            ..ErrorReply::default()
        },
        _ => ErrorReply {
            status: 401,
            message: "invalid x-api-key / Incorrect API key provided".into(),
            ..ErrorReply::default()
        },
    }
}

/// What a request needs besides being recorded.
#[derive(Clone, Copy, PartialEq)]
enum Needs {
    /// The bytes of an upload: its upload id is the credential.
    Nothing,
    Key,
    /// A model request: the key and the next scripted turn.
    KeyAndTurn,
}

/// Record a request. `None` when the key was refused; otherwise, for a model request,
/// the next scripted turn and its number.
fn record(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Value,
    needs: Needs,
) -> Option<(Option<Turn>, u64)> {
    let mut shared = state.shared.lock().unwrap_or_else(|p| p.into_inner());
    let key_accepted = shared
        .required_key
        .as_ref()
        .filter(|_| needs != Needs::Nothing)
        .map(|required| presented_key(headers).as_deref() == Some(required.as_str()));
    let recorded = RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                let name = name.as_str().to_ascii_lowercase();
                let value = if SECRET_HEADERS.contains(&name.as_str()) {
                    "<redacted>".to_owned()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                (name, value)
            })
            .collect(),
        body,
        received_at: state.started.elapsed(),
        key_accepted,
    };
    shared.requests.push(recorded);
    if key_accepted == Some(false) {
        return None;
    }
    if needs != Needs::KeyAndTurn {
        return Some((None, 0));
    }
    shared.served += 1;
    let number = shared.served;
    Some((shared.turns.pop_front(), number))
}

fn query_value(uri: &Uri, name: &str) -> Option<u64> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.parse().ok()).flatten()
    })
}

#[derive(Clone, Copy)]
enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
}

fn plain(status: StatusCode, text: String) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response
}

fn error_response(wire: Wire, error: &ErrorReply) -> Response {
    let body = match wire {
        Wire::OpenAi => openai_wire::error_body(error),
        Wire::Anthropic => anthropic_wire::error_body(error),
        Wire::Gemini => gemini_wire::error_body(error),
    };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json");
    // Gemini says how long to wait in the body (RetryInfo), not in a header.
    if let Some(after) = error
        .retry_after
        .as_ref()
        .filter(|_| !matches!(wire, Wire::Gemini))
    {
        builder = builder.header("retry-after", after.as_str());
    }
    if let Some(ms) = error.retry_after_ms {
        builder = builder.header("retry-after-ms", ms.to_string());
    }
    for (name, value) in &error.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| {
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "fake LLM: bad error turn".into(),
            )
        })
}

/// One step of a streamed body.
enum Step {
    Send(String),
    Sleep(Duration),
    Cut,
}

async fn reply_response(
    wire: Wire,
    reply: &Reply,
    model: &str,
    streamed: bool,
    request: &Value,
    number: u64,
) -> Response {
    if reply.headers_delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(reply.headers_delay_ms)).await;
    }
    let id = match wire {
        Wire::OpenAi => format!("chatcmpl-fake{number}"),
        Wire::Anthropic => format!("msg_fake{number}"),
        Wire::Gemini => format!("gemini-fake{number}"),
    };
    let id_header = match wire {
        Wire::OpenAi => "x-request-id",
        Wire::Anthropic => "request-id",
        Wire::Gemini => "x-goog-request-id",
    };
    let mut builder = Response::builder().status(StatusCode::OK);
    if let Some(request_id) = &reply.request_id {
        builder = builder.header(id_header, request_id.as_str());
    }
    if !streamed {
        let body = match wire {
            Wire::OpenAi => openai_wire::complete(reply, &id, model),
            Wire::Anthropic => anthropic_wire::complete(reply, &id, model),
            Wire::Gemini => gemini_wire::complete(reply, &id, model),
        };
        return builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap_or_else(|_| {
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "fake LLM: bad reply".into(),
                )
            });
    }
    let frames = match wire {
        Wire::OpenAi => {
            let include_usage = request
                .pointer("/stream_options/include_usage")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            openai_wire::stream_frames(reply, &id, model, include_usage)
        }
        Wire::Anthropic => anthropic_wire::stream_frames(reply, &id, model),
        Wire::Gemini => gemini_wire::stream_frames(reply, &id, model),
    };
    let mut steps = Vec::new();
    for (sent, frame) in frames.into_iter().enumerate() {
        match &reply.fault {
            Some(Fault::Malformed { after_events }) if *after_events == sent => {
                steps.push(Step::Send(match wire {
                    Wire::OpenAi => openai_wire::malformed_frame(&id),
                    Wire::Anthropic => anthropic_wire::malformed_frame(),
                    Wire::Gemini => gemini_wire::malformed_frame(),
                }));
                break;
            }
            Some(Fault::Cut { after_events }) if *after_events == sent => {
                // Let the frames already written reach the client before the cut.
                steps.push(Step::Sleep(Duration::from_millis(50)));
                steps.push(Step::Cut);
                break;
            }
            Some(Fault::Stall { after_events, ms }) if *after_events == sent => {
                steps.push(Step::Sleep(Duration::from_millis(*ms)));
            }
            _ => {}
        }
        if sent > 0 && reply.chunk_delay_ms > 0 {
            steps.push(Step::Sleep(Duration::from_millis(reply.chunk_delay_ms)));
        }
        steps.push(Step::Send(frame));
    }
    let body = futures::stream::unfold(steps.into_iter(), |mut steps| async move {
        loop {
            match steps.next()? {
                Step::Sleep(pause) => tokio::time::sleep(pause).await,
                Step::Send(frame) => return Some((Ok(Bytes::from(frame)), steps)),
                Step::Cut => {
                    let cut =
                        std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fake LLM: cut");
                    return Some((Err(cut), steps));
                }
            }
        }
    });
    builder
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| {
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "fake LLM: bad reply".into(),
            )
        })
}

/// `n` numbered words (`note0 note1 …`): filler that makes a reply or a context
/// large by a known amount, different word by word.
pub fn notes(n: usize) -> String {
    (0..n)
        .map(|i| format!("note{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}
