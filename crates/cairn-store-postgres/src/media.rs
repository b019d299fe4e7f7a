//! Inline media in events. An imported (or appended) image or video block may carry
//! its bytes as `data_base64`; the store keeps the bytes once as an attachment and
//! the event keeps only the reference (export adds the data back).

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, Error, MediaBlock, Payload};
use deadpool_postgres::Transaction;

use crate::attachments;
use crate::fail::R;

/// The payload as it is stored: unchanged (borrowed) unless a media block carries
/// inline bytes, which then move into attachments.
pub(crate) async fn without_inline_media<'p>(
    tx: &Transaction<'_>,
    seq: u64,
    payload: &'p Payload,
) -> R<Cow<'p, Payload>> {
    let Payload::Message(message) = payload else {
        return Ok(Cow::Borrowed(payload));
    };
    if !message.content.iter().any(has_inline_media) {
        return Ok(Cow::Borrowed(payload));
    }
    let mut owned = payload.clone();
    let mut found = Vec::new();
    if let Payload::Message(message) = &mut owned {
        for block in &mut message.content {
            take_block(seq, block, &mut found)?;
        }
    }
    for (mime, bytes) in found {
        attachments::put(tx, &mime, &bytes).await?;
    }
    Ok(Cow::Owned(owned))
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

/// Takes the inline bytes out of `block` (and the blocks inside it), checked
/// against their declared sha256, into `found` as (mime, bytes).
fn take_block(seq: u64, block: &mut ContentBlock, found: &mut Vec<(String, Vec<u8>)>) -> R<()> {
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
    found: &mut Vec<(String, Vec<u8>)>,
) -> R<()> {
    let Some(data) = media.data_base64.take() else {
        return Ok(());
    };
    let bytes = STANDARD.decode(data.as_bytes()).map_err(|e| {
        Error::invalid(format!(
            "event seq {seq}: {what} field \"data_base64\" is not valid base64: {e}"
        ))
    })?;
    let actual = attachments::sha256_hex(&bytes);
    if !actual.eq_ignore_ascii_case(&media.sha256) {
        return Err(Error::invalid(format!(
            "event seq {seq}: {what} data does not match its field \"sha256\" \
             (declared {}, data hashes to {actual})",
            media.sha256
        ))
        .into());
    }
    found.push((media.mime.clone(), bytes));
    Ok(())
}
