//! `GET /api/attachments/{sha256}`: the bytes of an image or video a session's
//! messages carry, for the dashboard to show inline. Served with the media type the
//! store recorded when it is one cairn attaches (anything else as an opaque
//! download), `nosniff`, and a sandboxing CSP, so the bytes can never run as a page.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use cairn_core::attachment::{SUPPORTED_MIME, is_sha256_hex};

use crate::Shared;
use crate::error::ApiError;

#[utoipa::path(get, path = "/api/attachments/{sha256}",
    params(("sha256" = String, Path, description = "the attachment's sha256, 64 lower-case hex digits")),
    responses(
        (status = 200, description = "the bytes, with their media type", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn attachment(
    State(state): State<Shared>,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    if !is_sha256_hex(&sha256) {
        return Err(ApiError::bad_request(
            "sha256: an attachment is named by 64 lower-case hex digits",
        ));
    }
    let found = state.store.attachment(&sha256).await?;
    let mime = SUPPORTED_MIME
        .iter()
        .find(|m| **m == found.reference.mime)
        .copied()
        .unwrap_or("application/octet-stream");
    let mut response = found.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    // Content-addressed: the bytes behind a hash never change.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    Ok(response)
}
