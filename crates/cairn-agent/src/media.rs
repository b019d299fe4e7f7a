//! Images and videos attached with `/image` and `/video`: recognised by their magic
//! bytes (never by the file name), size-limited, stored content-addressed.

use cairn_core::MediaBlock;

pub const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;
pub const MAX_VIDEO_BYTES: u64 = 100 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
}

impl MediaKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
        }
    }

    pub fn max_bytes(&self) -> u64 {
        match self {
            MediaKind::Image => MAX_IMAGE_BYTES,
            MediaKind::Video => MAX_VIDEO_BYTES,
        }
    }

    pub fn accepted(&self) -> &'static str {
        match self {
            MediaKind::Image => "png, jpeg, gif, webp",
            MediaKind::Video => "mp4, webm",
        }
    }
}

/// The mime type of `bytes`, from their magic numbers.
pub fn sniff(bytes: &[u8]) -> Option<(MediaKind, &'static str)> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some((MediaKind::Image, "image/png"));
    }
    if starts(b"\xff\xd8\xff") {
        return Some((MediaKind::Image, "image/jpeg"));
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some((MediaKind::Image, "image/gif"));
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some((MediaKind::Image, "image/webp"));
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Some((MediaKind::Video, "video/mp4"));
    }
    if starts(b"\x1a\x45\xdf\xa3") {
        let head = &bytes[..bytes.len().min(4096)];
        if head.windows(4).any(|w| w == b"webm") {
            return Some((MediaKind::Video, "video/webm"));
        }
    }
    None
}

/// Check a file's bytes for `/image` or `/video`; the error says what is accepted.
pub fn check(path: &str, wanted: MediaKind, bytes: &[u8]) -> Result<&'static str, String> {
    let size = bytes.len() as u64;
    if size > wanted.max_bytes() {
        return Err(format!(
            "{path}: {size} bytes is larger than the {} limit of {} MiB",
            wanted.as_str(),
            wanted.max_bytes() / (1024 * 1024)
        ));
    }
    match sniff(bytes) {
        Some((kind, mime)) if kind == wanted => Ok(mime),
        Some((kind, mime)) => Err(format!(
            "{path} is {} ({mime}); use /{} for it",
            if kind == MediaKind::Image {
                "an image"
            } else {
                "a video"
            },
            kind.as_str()
        )),
        None => Err(format!(
            "{path}: not a recognised {} (accepted: {})",
            wanted.as_str(),
            wanted.accepted()
        )),
    }
}

/// A pending attachment, stored and waiting for the next message.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub kind: MediaKind,
    pub block: MediaBlock,
    pub path: String,
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_by_magic_bytes() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\nrest").map(|s| s.1),
            Some("image/png")
        );
        assert_eq!(sniff(b"\xff\xd8\xff\xe0").map(|s| s.1), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a..").map(|s| s.1), Some("image/gif"));
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 ").map(|s| s.1),
            Some("image/webp")
        );
        assert_eq!(sniff(b"\0\0\0\x18ftypmp42").map(|s| s.1), Some("video/mp4"));
        assert_eq!(
            sniff(b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm").map(|s| s.1),
            Some("video/webm")
        );
        assert_eq!(sniff(b"plain text"), None);
        assert!(
            check("a.txt", MediaKind::Image, b"hello")
                .unwrap_err()
                .contains("png, jpeg")
        );
        assert!(
            check("a.mp4", MediaKind::Image, b"\0\0\0\x18ftypmp42")
                .unwrap_err()
                .contains("/video")
        );
    }
}
