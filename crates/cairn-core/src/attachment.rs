//! Content-addressed media attachments.

use serde::{Deserialize, Serialize};

/// The media types cairn attaches (by their magic bytes, with `/image` and `/video`)
/// and can send to a model; anything else in a session file is refused on import.
pub const SUPPORTED_MIME: [&str; 6] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
];

/// Whether `sha256` has the shape of an attachment's hash: 64 lower-case hex digits.
pub fn is_sha256_hex(sha256: &str) -> bool {
    sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Identifies stored bytes by their sha256 (lower-case hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub sha256: String,
    pub mime: String,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub reference: AttachmentRef,
    pub bytes: Vec<u8>,
}
