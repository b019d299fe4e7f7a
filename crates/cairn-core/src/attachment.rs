//! Content-addressed media attachments.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::ToolResultContent;
use crate::{ContentBlock, Error, MediaBlock, Payload, Result};

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

/// The key of stored bytes: their sha256, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Bytes an event carried inline (`data_base64`), checked against their sha256,
/// for the store to keep once as an attachment.
#[derive(Debug, PartialEq)]
pub struct InlineMedia {
    pub mime: String,
    pub bytes: Vec<u8>,
}

/// The payload as a store keeps it: unchanged (borrowed) unless a media block carries
/// inline bytes, which are taken out (the event keeps only the reference) and
/// returned for the store to put into its attachments. Every backend calls this, so
/// the checks (valid base64, the bytes hash to the declared sha256) are the same.
pub fn take_inline_media(
    seq: u64,
    payload: &Payload,
) -> Result<(Cow<'_, Payload>, Vec<InlineMedia>)> {
    let Payload::Message(message) = payload else {
        return Ok((Cow::Borrowed(payload), Vec::new()));
    };
    if !message.content.iter().any(has_inline_media) {
        return Ok((Cow::Borrowed(payload), Vec::new()));
    }
    let mut owned = payload.clone();
    let mut found = Vec::new();
    if let Payload::Message(message) = &mut owned {
        for block in &mut message.content {
            take_block(seq, block, &mut found)?;
        }
    }
    Ok((Cow::Owned(owned), found))
}

fn has_inline_media(block: &ContentBlock) -> bool {
    match block {
        ContentBlock::Image(media) | ContentBlock::Video(media) => media.data_base64.is_some(),
        ContentBlock::ToolResult {
            content: ToolResultContent::Blocks(blocks),
            ..
        } => blocks.iter().any(has_inline_media),
        _ => false,
    }
}

fn take_block(seq: u64, block: &mut ContentBlock, found: &mut Vec<InlineMedia>) -> Result<()> {
    match block {
        ContentBlock::Image(media) => take_media(seq, "image", media, found),
        ContentBlock::Video(media) => take_media(seq, "video", media, found),
        ContentBlock::ToolResult {
            content: ToolResultContent::Blocks(blocks),
            ..
        } => {
            for inner in blocks {
                take_block(seq, inner, found)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn take_media(
    seq: u64,
    what: &str,
    media: &mut MediaBlock,
    found: &mut Vec<InlineMedia>,
) -> Result<()> {
    let Some(data) = media.data_base64.take() else {
        return Ok(());
    };
    let bytes = STANDARD.decode(data.as_bytes()).map_err(|e| {
        Error::invalid(format!(
            "event seq {seq}: {what} field \"data_base64\" is not valid base64: {e}"
        ))
    })?;
    let actual = sha256_hex(&bytes);
    if !actual.eq_ignore_ascii_case(&media.sha256) {
        return Err(Error::invalid(format!(
            "event seq {seq}: {what} data does not match its field \"sha256\" \
             (declared {}, data hashes to {actual})",
            media.sha256
        )));
    }
    found.push(InlineMedia {
        mime: media.mime.clone(),
        bytes,
    });
    Ok(())
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

/// How long an attachment stored ahead of the event that will refer to it (an
/// `/image` waiting for the prompt, a file snapshot before its tool result) is
/// kept without any reference before garbage collection may remove it.
pub const PENDING_GRACE: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Attachments no event refers to: how many and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentGarbage {
    pub count: u64,
    pub bytes: u64,
}

/// Adds to `out` every attachment key a stored event body (JSON) may refer to:
/// each JSON string that is exactly 64 lower-case hex digits. Media blocks carry it
/// as `sha256`, file snapshots as `before`/`after`, and newer kinds may name it
/// otherwise, so the scan does not depend on field names; a false match only
/// keeps an attachment, it never loses one.
pub fn referenced_keys(body: &str, out: &mut std::collections::HashSet<String>) {
    let bytes = body.as_bytes();
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'"') {
        let start = i + offset + 1;
        let end = start + 64;
        if end < bytes.len()
            && bytes[end] == b'"'
            && bytes[start..end]
                .iter()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            out.insert(body[start..end].to_owned());
            i = end + 1;
        } else {
            i = start;
        }
    }
}

#[cfg(test)]
mod reference_tests {
    use super::*;

    #[test]
    fn keys_are_found_under_any_field_and_nothing_else_is() {
        let a = "a".repeat(64);
        let b = "0123456789abcdef".repeat(4);
        let body = format!(
            r#"{{"content":[{{"type":"image","sha256":"{a}"}}],"file_snapshot":{{"before":"{b}"}},"text":"{}","x":"{}"}}"#,
            "A".repeat(64),
            "f".repeat(65)
        );
        let mut found = std::collections::HashSet::new();
        referenced_keys(&body, &mut found);
        assert_eq!(found, [a, b].into_iter().collect());
        referenced_keys("\"", &mut found);
        referenced_keys("", &mut found);
        assert_eq!(found.len(), 2);
    }
}
