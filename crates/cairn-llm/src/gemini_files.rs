//! Images and videos too large to go inline, through Gemini's Files API.
//!
//! Gemini takes media inline (`inlineData`, base64) while the whole request stays
//! under 20 MB; anything larger must be uploaded first and referenced as
//! `fileData.fileUri` (ai.google.dev/gemini-api/docs/vision, /video-understanding:
//! "use the File API when the total request size is larger than 20 MB"). Google raised
//! the inline ceiling to 100 MB for current models in 2026; cairn keeps 20 MB, which
//! every model takes, and which spares resending a big video with every turn.
//!
//! Upload is the documented resumable protocol: `POST {base}/upload/v1beta/files` with
//! `X-Goog-Upload-Protocol: resumable`, `X-Goog-Upload-Command: start` and the size and
//! type in `X-Goog-Upload-Header-*`; the answer's `x-goog-upload-url` then receives the
//! bytes with `X-Goog-Upload-Command: upload, finalize` and `X-Goog-Upload-Offset: 0`.
//! A video is usable once `GET {base}/v1beta/files/{id}` says `state: ACTIVE`; cairn
//! polls with growing pauses, bounded by the first-byte timeout. Uploaded files live
//! 48 hours; the URI is reused (by sha256, per endpoint and key) for 47.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, MediaBlock};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::{Value, json};

use crate::client::Endpoint;
use crate::gemini::{GeminiProvider, request_body};
use crate::http::{self, Call};
use crate::{ChatRequest, ClientOptions, ErrorKind, LlmError, ModelRef};

/// The largest request sent with media inline (Google's documented 20 MB).
pub(crate) const INLINE_REQUEST_LIMIT: usize = 20_000_000;
/// How long an uploaded file's URI is reused (Google deletes it after 48 hours).
const REUSE_FOR: Duration = Duration::from_secs(47 * 3600);
const FIRST_POLL: Duration = Duration::from_millis(250);
const LONGEST_POLL: Duration = Duration::from_secs(5);

/// URIs of files already uploaded, shared by every request of one client.
#[derive(Clone, Default)]
pub(crate) struct UploadCache(Arc<Mutex<HashMap<u64, (String, Instant)>>>);

impl UploadCache {
    fn slot(endpoint: &Endpoint, sha256: &str) -> u64 {
        // Files belong to the key's project: the key is part of the identity (hashed,
        // so it is not kept twice).
        let mut h = DefaultHasher::new();
        (&endpoint.base_url, &endpoint.api_key, sha256).hash(&mut h);
        h.finish()
    }

    fn get(&self, endpoint: &Endpoint, sha256: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&UploadCache::slot(endpoint, sha256))
            .filter(|(_, at)| at.elapsed() < REUSE_FOR)
            .map(|(uri, _)| uri.clone())
    }

    fn put(&self, endpoint: &Endpoint, sha256: &str, uri: String) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(UploadCache::slot(endpoint, sha256), (uri, Instant::now()));
    }
}

/// One attachment of the request, with its inline (base64) size.
struct Media<'a> {
    block: &'a MediaBlock,
    inline_bytes: usize,
}

/// Decide which media go through the Files API (the largest, until the request fits
/// [`INLINE_REQUEST_LIMIT`]), upload those, and return their sha256 → `fileUri`.
pub(crate) async fn place_media(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    options: &ClientOptions,
    uploads: &UploadCache,
    model: &ModelRef,
    request: &ChatRequest,
) -> Result<BTreeMap<String, String>, LlmError> {
    let mut media = collect(request);
    if media.is_empty() {
        return Ok(BTreeMap::new());
    }
    // The request's size without any inline bytes: every medium as a file reference.
    let placeholder = "x".repeat(120);
    let all_files: BTreeMap<String, String> = media
        .iter()
        .map(|m| (m.block.sha256.clone(), placeholder.clone()))
        .collect();
    let rest = request_body(&model.model, request, &all_files)
        .map(|b| b.to_string().len())
        .unwrap_or(0);
    media.sort_by_key(|m| m.inline_bytes);
    let mut size = rest;
    let mut to_upload = Vec::new();
    for m in media {
        if size + m.inline_bytes <= INLINE_REQUEST_LIMIT {
            size += m.inline_bytes;
        } else {
            to_upload.push(m.block);
        }
    }
    let mut files = BTreeMap::new();
    for block in to_upload {
        let uri = match uploads.get(endpoint, &block.sha256) {
            Some(uri) => uri,
            None => {
                let bytes = bytes_of(block, request)?;
                let uri = upload(http, endpoint, options, block, bytes).await?;
                uploads.put(endpoint, &block.sha256, uri.clone());
                uri
            }
        };
        files.insert(block.sha256.clone(), uri);
    }
    Ok(files)
}

/// Every distinct image and video of the request whose bytes are at hand.
fn collect(request: &ChatRequest) -> Vec<Media<'_>> {
    let mut out: Vec<Media<'_>> = Vec::new();
    for message in &request.messages {
        for block in &message.content {
            match block {
                ContentBlock::Image(m) | ContentBlock::Video(m) => add(request, m, &mut out),
                ContentBlock::ToolResult {
                    content: ToolResultContent::Blocks(blocks),
                    ..
                } => {
                    for b in blocks {
                        if let ContentBlock::Image(m) = b {
                            add(request, m, &mut out);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn add<'a>(request: &'a ChatRequest, block: &'a MediaBlock, out: &mut Vec<Media<'a>>) {
    if out.iter().any(|m| m.block.sha256 == block.sha256) {
        return;
    }
    let inline_bytes = match &block.data_base64 {
        Some(data) => data.len(),
        None => match request.media.get(&block.sha256) {
            Some(bytes) => bytes.len().div_ceil(3) * 4,
            // Missing bytes are reported by name when the body is built.
            None => return,
        },
    };
    out.push(Media {
        block,
        inline_bytes,
    });
}

fn bytes_of(block: &MediaBlock, request: &ChatRequest) -> Result<Vec<u8>, LlmError> {
    if let Some(bytes) = request.media.get(&block.sha256) {
        return Ok(bytes.clone());
    }
    let data = block.data_base64.as_deref().unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| {
            LlmError::new(
                ErrorKind::BadRequest,
                "gemini",
                format!(
                    "attachment {} ({}) holds invalid base64: {e}",
                    block.sha256, block.mime
                ),
            )
        })
}

/// Upload one file and wait until it is ACTIVE; its `uri`.
async fn upload(
    http: &reqwest::Client,
    endpoint: &Endpoint,
    options: &ClientOptions,
    block: &MediaBlock,
    bytes: Vec<u8>,
) -> Result<String, LlmError> {
    let what = format!(
        "uploading {} {} ({:.1} MB) to the Gemini Files API",
        block.mime,
        block.sha256,
        bytes.len() as f64 / 1e6
    );
    let wait = options.timeouts.first_byte;
    let start_url = format!("{}/upload/v1beta/files", endpoint.base_url);
    let mut headers = GeminiProvider::key_headers(endpoint)?;
    let header = |v: String| {
        HeaderValue::from_str(&v).map_err(|_| {
            LlmError::new(
                ErrorKind::BadRequest,
                "gemini",
                format!("{what} failed: {v:?} cannot be sent as a header"),
            )
        })
    };
    headers.insert(
        "x-goog-upload-protocol",
        HeaderValue::from_static("resumable"),
    );
    headers.insert("x-goog-upload-command", HeaderValue::from_static("start"));
    headers.insert(
        "x-goog-upload-header-content-length",
        header(bytes.len().to_string())?,
    );
    headers.insert(
        "x-goog-upload-header-content-type",
        header(block.mime.clone())?,
    );
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let name: String = block.sha256.chars().take(16).collect();
    let started = send(
        endpoint,
        options,
        &start_url,
        &what,
        http.post(&start_url)
            .headers(headers)
            .body(json!({"file": {"displayName": format!("cairn-{name}")}}).to_string()),
        wait,
    )
    .await?;
    let upload_url = started
        .headers()
        .get("x-goog-upload-url")
        .and_then(|v| v.to_str().ok())
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(str::to_owned)
        .ok_or_else(|| {
            LlmError::new(
                ErrorKind::MalformedStream,
                "gemini",
                format!("{what} failed: the answer to the upload start named no upload URL"),
            )
        })?;
    // The upload URL carries its own session token: the key is not sent to it.
    let mut headers = HeaderMap::new();
    headers.insert("x-goog-upload-offset", HeaderValue::from_static("0"));
    headers.insert(
        "x-goog-upload-command",
        HeaderValue::from_static("upload, finalize"),
    );
    let finished = send(
        endpoint,
        options,
        &start_url,
        &what,
        http.post(&upload_url).headers(headers).body(bytes),
        wait,
    )
    .await?;
    let mut file = json_of(finished, &what, wait).await?;
    let file_name = file
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_default();
    // Wait for processing (videos take a while), with growing pauses.
    let deadline = Instant::now() + wait;
    let mut pause = FIRST_POLL;
    loop {
        let state = file
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("ACTIVE");
        match state {
            "ACTIVE" => break,
            "FAILED" => {
                let why = file
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given");
                return Err(LlmError::new(
                    ErrorKind::BadRequest,
                    "gemini",
                    format!("{what} failed: Gemini could not process the file: {why}"),
                ));
            }
            _ => {}
        }
        // `files/{id}`: the id goes into a URL path that carries the key.
        let valid = file_name.strip_prefix("files/").is_some_and(|id| {
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
        if !valid {
            return Err(LlmError::new(
                ErrorKind::MalformedStream,
                "gemini",
                format!("{what} failed: the uploaded file has no valid name ({file_name:?})"),
            ));
        }
        if Instant::now() + pause > deadline {
            return Err(LlmError::new(
                ErrorKind::Timeout,
                "gemini",
                format!(
                    "{what}: the file was still {state} after {} s; try again later",
                    wait.as_secs()
                ),
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_POLL);
        let url = format!("{}/v1beta/{file_name}", endpoint.base_url);
        let polled = send(
            endpoint,
            options,
            &url,
            &what,
            http.get(&url)
                .headers(GeminiProvider::key_headers(endpoint)?),
            wait,
        )
        .await?;
        file = json_of(polled, &what, wait).await?;
    }
    file.get("uri")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            LlmError::new(
                ErrorKind::MalformedStream,
                "gemini",
                format!("{what} failed: the uploaded file has no uri"),
            )
        })
}

/// Send one Files API request; a non-2xx answer becomes the provider's error in words.
async fn send(
    endpoint: &Endpoint,
    options: &ClientOptions,
    url: &str,
    what: &str,
    request: reqwest::RequestBuilder,
    wait: Duration,
) -> Result<reqwest::Response, LlmError> {
    let response = match tokio::time::timeout(wait, request.send()).await {
        Err(_) => {
            return Err(LlmError::new(
                ErrorKind::Timeout,
                "gemini",
                format!("{what}: no answer in {} s", wait.as_secs()),
            ));
        }
        Ok(Err(e)) => {
            return Err(LlmError::new(
                ErrorKind::Network,
                "gemini",
                format!("{what} failed: {}", e.without_url()),
            ));
        }
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = tokio::time::timeout(wait, response.text())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let call = Call {
        provider: "gemini".to_owned(),
        model: String::new(),
        url: url.to_owned(),
        headers: HeaderMap::new(),
        body: bytes::Bytes::new(),
        key_hint: endpoint.key_hint.clone(),
        secret: endpoint.api_key.clone(),
        request_id_header: "x-goog-request-id",
        options: options.clone(),
        new_decoder: crate::gemini::decoder,
    };
    let mut error = http::status_error(&call, status, &headers, &body);
    error.message = format!("{what} failed: {}", error.message);
    Err(error)
}

/// The `File` in an answer (`{"file": {...}}` from an upload, the object itself from
/// `files.get`).
async fn json_of(
    response: reqwest::Response,
    what: &str,
    wait: Duration,
) -> Result<Value, LlmError> {
    let text = tokio::time::timeout(wait, response.text())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        LlmError::new(
            ErrorKind::MalformedStream,
            "gemini",
            format!("{what} failed: the Files API answered something that is not JSON ({e})"),
        )
    })?;
    Ok(match value.get("file") {
        Some(file) if file.is_object() => file.clone(),
        _ => value,
    })
}
