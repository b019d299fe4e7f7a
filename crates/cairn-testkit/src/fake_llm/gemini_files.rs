//! The fake's Gemini Files API: the resumable upload (`POST /upload/v1beta/files` with
//! `X-Goog-Upload-*` headers, then the bytes to the `x-goog-upload-url` it names) and
//! `GET /v1beta/files/{id}`, which says `PROCESSING` for the first polls, then
//! `ACTIVE`, as generativelanguage.googleapis.com does.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::{AppState, ErrorReply, Wire, error_response, plain};

/// A file received through the fake Gemini Files API.
#[derive(Clone, Debug, PartialEq)]
pub struct UploadedFile {
    /// `files/{id}`.
    pub name: String,
    pub display_name: String,
    /// From `X-Goog-Upload-Header-Content-Type`.
    pub mime: String,
    /// The bytes as they arrived.
    pub bytes: Vec<u8>,
    /// How many times its state was asked for.
    pub polls: u32,
}

pub(super) struct PendingUpload {
    pub(super) id: u64,
    pub(super) display_name: String,
    pub(super) mime: String,
    pub(super) length: usize,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn gemini_error(status: u16, message: &str) -> Response {
    error_response(
        Wire::Gemini,
        &ErrorReply {
            status,
            message: message.to_owned(),
            ..ErrorReply::default()
        },
    )
}

/// `POST /upload/v1beta/files` with `X-Goog-Upload-Command: start`.
pub(super) fn start_upload(state: &AppState, headers: &HeaderMap, body: &Value) -> Response {
    if header(headers, "x-goog-upload-protocol") != Some("resumable")
        || header(headers, "x-goog-upload-command") != Some("start")
    {
        return gemini_error(400, "fake LLM: expected a resumable upload start");
    }
    let Some(length) = header(headers, "x-goog-upload-header-content-length")
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return gemini_error(400, "X-Goog-Upload-Header-Content-Length is missing");
    };
    let Some(mime) = header(headers, "x-goog-upload-header-content-type") else {
        return gemini_error(400, "X-Goog-Upload-Header-Content-Type is missing");
    };
    let display_name = body
        .pointer("/file/displayName")
        .or_else(|| body.pointer("/file/display_name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut shared = state.shared.lock().unwrap_or_else(|p| p.into_inner());
    let id = shared.uploads.len() as u64 + shared.files.len() as u64 + 1;
    shared.uploads.push(PendingUpload {
        id,
        display_name,
        mime: mime.to_owned(),
        length,
    });
    let host = header(headers, "host").unwrap_or("127.0.0.1");
    Response::builder()
        .status(StatusCode::OK)
        .header(
            "x-goog-upload-url",
            format!("http://{host}/upload/v1beta/files?upload_id={id}&upload_protocol=resumable"),
        )
        .header("x-goog-upload-status", "active")
        .body(Body::empty())
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "fake LLM".into()))
}

/// The bytes, sent with `X-Goog-Upload-Command: upload, finalize`.
pub(super) fn finish_upload(
    state: &AppState,
    headers: &HeaderMap,
    id: u64,
    bytes: &[u8],
) -> Response {
    if header(headers, "x-goog-upload-command") != Some("upload, finalize")
        || header(headers, "x-goog-upload-offset") != Some("0")
    {
        return gemini_error(400, "fake LLM: expected `upload, finalize` at offset 0");
    }
    let mut shared = state.shared.lock().unwrap_or_else(|p| p.into_inner());
    let Some(at) = shared.uploads.iter().position(|u| u.id == id) else {
        return gemini_error(404, "no such upload");
    };
    let pending = shared.uploads.remove(at);
    if pending.length != bytes.len() {
        return gemini_error(
            400,
            &format!(
                "declared {} bytes, received {}",
                pending.length,
                bytes.len()
            ),
        );
    }
    let file = UploadedFile {
        name: format!("files/fake{id}"),
        display_name: pending.display_name,
        mime: pending.mime,
        bytes: bytes.to_vec(),
        polls: 0,
    };
    let processing = shared.processing_polls > 0;
    let json = file_json(&file, processing);
    shared.files.push(file);
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json; charset=UTF-8")
        .header("x-goog-upload-status", "final")
        .body(Body::from(serde_json::json!({ "file": json }).to_string()))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "fake LLM".into()))
}

/// `GET /v1beta/files/{id}`: `PROCESSING` for the first polls, then `ACTIVE`.
pub(super) fn file_state(state: &AppState, name: &str) -> Response {
    let mut shared = state.shared.lock().unwrap_or_else(|p| p.into_inner());
    let processing_polls = shared.processing_polls;
    let Some(file) = shared.files.iter_mut().find(|f| f.name == name) else {
        return gemini_error(
            403,
            &format!("You do not have permission to access the File {name} or it may not exist."),
        );
    };
    file.polls += 1;
    let processing = file.polls < processing_polls;
    let json = file_json(file, processing);
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json; charset=UTF-8")
        .body(Body::from(json.to_string()))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "fake LLM".into()))
}

fn file_json(file: &UploadedFile, processing: bool) -> Value {
    let id = file.name.trim_start_matches("files/");
    serde_json::json!({
        "name": file.name,
        "displayName": file.display_name,
        "mimeType": file.mime,
        "sizeBytes": file.bytes.len().to_string(),
        "createTime": "2026-01-01T00:00:00.000000Z",
        "updateTime": "2026-01-01T00:00:00.000000Z",
        "expirationTime": "2026-01-03T00:00:00.000000Z",
        "uri": format!("https://generativelanguage.googleapis.com/v1beta/files/{id}"),
        "state": if processing { "PROCESSING" } else { "ACTIVE" },
        "source": "UPLOADED",
    })
}
