//! Content-addressed media attachments.

use serde::{Deserialize, Serialize};

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
