//! How the stores keep event bodies small, without a database: a body of
//! [`LARGE`] bytes or more gives up its longest JSON string literal (a tool
//! output, a long message) when that is itself at least [`LARGE`]; the literal is
//! kept once per distinct text (keyed by its sha256), zstd-compressed, and the
//! body keeps an empty literal `""` at the literal's byte offset in its place.
//! Each store keeps the pieces in its own tables (the SQLite store's
//! `payloads.rs`, the PostgreSQL store's `payloads.rs`).

use std::cell::RefCell;
use std::ops::Range;

use sha2::{Digest, Sha256};

/// Bodies and literals from this size up are compressed / moved out. Measured
/// (BENCHMARKS.md, "payload compression"): below 1 KiB zstd saves little on
/// JSON message text and costs a frame header and a decode per row.
pub const LARGE: usize = 1024;

/// zstd level: the best compress speed / ratio trade on real source code and
/// message bodies among 1/3/6/9 (BENCHMARKS.md, "payload compression").
pub const LEVEL: i32 = 3;

/// A body with its large literal cut out.
pub struct Split {
    /// The body, with `""` where the literal was.
    pub skeleton: String,
    /// The literal cut out (quotes included), with the byte offset of its `""`.
    pub literal: Option<(String, u64)>,
}

/// `json` with its longest string literal cut out, when the body and the literal
/// are both at least [`LARGE`].
pub fn split(json: String) -> Split {
    if json.len() < LARGE {
        return Split {
            skeleton: json,
            literal: None,
        };
    }
    match longest_literal(json.as_bytes()) {
        Some(range) if range.len() >= LARGE => {
            let literal = json[range.clone()].to_owned();
            let mut skeleton = String::with_capacity(json.len() - range.len() + 2);
            skeleton.push_str(&json[..range.start]);
            skeleton.push_str("\"\"");
            skeleton.push_str(&json[range.end..]);
            Split {
                skeleton,
                literal: Some((literal, range.start as u64)),
            }
        }
        _ => Split {
            skeleton: json,
            literal: None,
        },
    }
}

/// The key a literal is stored under.
pub fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The body `skeleton` with `literal` put back at byte `at` (where [`split`] left
/// `""`); an error when `at` is not such a place.
pub fn splice(skeleton: &str, at: u64, literal: &str) -> Result<String, String> {
    let at = usize::try_from(at).map_err(|_| format!("payload offset {at} is out of range"))?;
    if skeleton.get(at..at.saturating_add(2)) != Some("\"\"") {
        return Err(format!("payload offset {at} is not an empty string"));
    }
    let mut out = String::with_capacity(skeleton.len() + literal.len());
    out.push_str(&skeleton[..at]);
    out.push_str(literal);
    out.push_str(&skeleton[at + 2..]);
    Ok(out)
}

thread_local! {
    /// One compression context per thread: making one per call allocates its
    /// tables again every time.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
}

/// `text` as a zstd frame (no dictionary), when that is smaller.
pub fn compress(text: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR
        .with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.is_none() {
                *cell = zstd::bulk::Compressor::new(LEVEL).ok();
            }
            cell.as_mut()?.compress(text).ok()
        })
        .filter(|frame| frame.len() < text.len())
}

thread_local! {
    /// One decompression context per thread, as for [`COMPRESSOR`]: a resume
    /// decodes hundreds of payloads.
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

/// A frame made by [`compress`], decompressed into one allocation of the size it
/// declares; a frame that declares none (a streaming writer's) is streamed.
pub fn decompress(frame: &[u8]) -> Result<Vec<u8>, String> {
    let damaged = |e: std::io::Error| format!("stored zstd frame is damaged: {e}");
    let Some(size) = declared_size(frame)? else {
        return zstd::stream::decode_all(frame).map_err(damaged);
    };
    DECOMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let decompressor = match &mut *cell {
            Some(decompressor) => decompressor,
            empty => empty.insert(zstd::bulk::Decompressor::new().map_err(damaged)?),
        };
        decompressor.decompress(frame, size).map_err(damaged)
    })
}

/// Largest expansion a valid zstd frame can declare: a 4-byte block (header and
/// one byte repeated) stands for at most 128 KiB. A damaged header claiming
/// more is refused before anything is allocated for it.
const MAX_EXPANSION: usize = 128 * 1024 / 4;

/// The size a frame declares it decompresses to (`None` when it declares none),
/// refused when the header is not a zstd frame's or declares more than any valid
/// frame of its length can hold.
pub fn declared_size(frame: &[u8]) -> Result<Option<usize>, String> {
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) => usize::try_from(size).unwrap_or(usize::MAX),
        Ok(None) => return Ok(None),
        Err(_) => return Err("stored zstd frame is damaged: not a zstd frame".into()),
    };
    if size > frame.len().saturating_mul(MAX_EXPANSION) {
        return Err(format!(
            "stored zstd frame is damaged: it declares {size} bytes in {}",
            frame.len()
        ));
    }
    Ok(Some(size))
}

/// The byte range (quotes included) of the longest string literal of a JSON text.
fn longest_literal(json: &[u8]) -> Option<Range<usize>> {
    let mut best: Option<Range<usize>> = None;
    let mut i = 0;
    while let Some(offset) = memchr::memchr(b'"', &json[i..]) {
        let start = i + offset;
        let mut end = start + 1;
        loop {
            match memchr::memchr2(b'"', b'\\', &json[end..]) {
                Some(found) if json[end + found] == b'\\' => end += found + 2,
                Some(found) => {
                    end += found + 1;
                    break;
                }
                None => return best, // not JSON; keep what was found
            }
            if end >= json.len() {
                return best;
            }
        }
        if best.as_ref().is_none_or(|b| end - start > b.len()) {
            best = Some(start..end);
        }
        i = end;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_decode_with_or_without_a_declared_size() {
        let text = "fn main() {}\n".repeat(500);
        let sized = compress(text.as_bytes()).expect("compressed");
        // A streamed frame (another writer) need not declare its size.
        let mut streamed = zstd::stream::Encoder::new(Vec::new(), LEVEL).unwrap();
        std::io::Write::write_all(&mut streamed, text.as_bytes()).unwrap();
        let streamed = streamed.finish().unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&streamed).unwrap(),
            None
        );
        // Twice the same: the thread's reused context decodes again.
        for frame in [&sized, &sized, &streamed] {
            assert_eq!(decompress(frame).unwrap(), text.as_bytes());
        }
        let mut damaged = sized.clone();
        damaged.truncate(12);
        assert!(decompress(&damaged).is_err());
        // A header declaring 1 TiB in 13 bytes is refused before any allocation.
        let mut forged = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
        forged.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let error = decompress(&forged).unwrap_err();
        assert!(
            error.contains("declares 1099511627776 bytes in 13"),
            "{error}"
        );
        assert!(
            decompress(b"garbage")
                .unwrap_err()
                .contains("not a zstd frame")
        );
    }

    #[test]
    fn the_longest_literal_is_found_past_escapes() {
        let json = br#"{"a":"x\"y","b":"\\","long":"0123456789\"\\"}"#;
        let range = longest_literal(json).unwrap();
        assert_eq!(&json[range], br#""0123456789\"\\""#);
        assert_eq!(longest_literal(b"{}"), None);
        assert_eq!(longest_literal(br#"{"open"#), None);
    }

    #[test]
    fn a_split_body_splices_back_to_itself() {
        let long = "x".repeat(LARGE);
        let json = format!(r#"{{"role":"tool","text":"{long}","n":1}}"#);
        let split = split(json.clone());
        let (literal, at) = split.literal.unwrap();
        assert_eq!(split.skeleton, r#"{"role":"tool","text":"","n":1}"#);
        assert_eq!(splice(&split.skeleton, at, &literal).unwrap(), json);
        assert!(splice(&split.skeleton, at + 1, &literal).is_err());
        let frame = compress(literal.as_bytes()).unwrap();
        assert_eq!(decompress(&frame).unwrap(), literal.as_bytes());
    }
}
