//! Image and video blocks of a message, wherever they sit.

use base64::Engine as _;
use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, MediaBlock};
use sha2::{Digest, Sha256};

/// Every image or video block, including those inside tool results.
pub fn for_each_media(blocks: &mut [ContentBlock], f: &mut impl FnMut(&mut MediaBlock)) {
    for block in blocks {
        match block {
            ContentBlock::Image(m) | ContentBlock::Video(m) => f(m),
            ContentBlock::ToolResult {
                content: ToolResultContent::Blocks(inner),
                ..
            } => for_each_media(inner, f),
            _ => {}
        }
    }
}

/// Checks that `data` is base64 of bytes hashing to `sha256`.
pub fn check_inline(data: &str, sha256: &str) -> Result<(), String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| format!("media block with sha256 {sha256}: data_base64 is not base64: {e}"))?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != sha256 {
        return Err(format!(
            "media block: data_base64 has sha256 {actual}, but the block says {sha256:?} \
             (lower-case hex)"
        ));
    }
    Ok(())
}
