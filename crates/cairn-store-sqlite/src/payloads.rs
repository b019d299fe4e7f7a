//! Event bodies on disk. A body (the event's JSON without seq/ts/kind) is kept:
//!
//! - below [`LARGE`] bytes: as it is, TEXT in `events.body`;
//! - larger: its longest JSON string literal (a tool output, a long message),
//!   when that is itself at least [`LARGE`], moves to `payloads`, keyed by the
//!   sha256 of the literal, so the same file read ten times, or the same output in
//!   two imports, is stored once. The body keeps an empty literal `""` at byte
//!   `events.payload_at` in its place and `events.payload` names the row;
//! - what remains of the body, when still at least [`LARGE`], is compressed.
//!
//! The storage class is the codec, in both tables: TEXT is plain JSON, a BLOB is
//! one zstd frame of it (zstd frames carry their own magic number and checksum).
//! No flag column can disagree with the bytes, and a row written before this
//! scheme (TEXT, no payload) reads as it always did. A literal that zstd does not
//! shrink stays TEXT.
//!
//! Readers splice the literal back in Rust ([`restore`]) or in SQL through
//! `cairn_event_body(body, payload_at, data)`, which the full-text index's view
//! uses, so what FTS5 recomputes for a delete is what was indexed.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use sha2::{Digest, Sha256};

use crate::fail::R;

/// Bodies and literals from this size up are compressed / moved out. Measured
/// (BENCHMARKS.md, "payload compression"): below 1 KiB zstd saves little on
/// JSON message text and costs a frame header and a decode per row.
pub(crate) const LARGE: usize = 1024;

/// zstd level: the best compress speed / ratio trade on real source code and
/// message bodies among 1/3/6/9 (BENCHMARKS.md, "payload compression").
const LEVEL: i32 = 3;

pub(crate) const BODY_FUNCTION: &str = "cairn_event_body";

/// A value for a TEXT-or-BLOB column.
pub(crate) enum Column {
    Text(String),
    Blob(Vec<u8>),
}

impl ToSql for Column {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Column::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Column::Blob(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
        })
    }
}

/// What `events` keeps of one body.
pub(crate) struct StoredBody {
    pub body: Column,
    pub payload: Option<i64>,
    pub payload_at: Option<u64>,
}

/// Splits and compresses `json` as described above, storing its large literal in
/// `payloads` (once per distinct literal).
pub(crate) fn store(conn: &Connection, json: String) -> R<StoredBody> {
    write(conn, split(json))
}

/// A body split and its skeleton compressed, not yet written: [`split`] needs no
/// connection, so an import runs it ahead of the writer; [`write`] stores it.
pub(crate) struct SplitBody {
    body: Column,
    literal: Option<Literal>,
    payload_at: Option<u64>,
}

/// The large literal of a [`SplitBody`], keyed by its sha256; compressed on
/// [`Literal::encode`], or by [`write`] when it is new to the store.
pub(crate) struct Literal {
    sha256: [u8; 32],
    size: u64,
    data: LiteralData,
}

enum LiteralData {
    Plain(String),
    Encoded(Column),
}

impl SplitBody {
    /// The literal it moves to `payloads`, if any.
    pub(crate) fn literal_mut(&mut self) -> Option<&mut Literal> {
        self.literal.as_mut()
    }
}

impl Literal {
    pub(crate) fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// Compresses the literal now (off the writer), as [`write`] would.
    pub(crate) fn encode(&mut self) {
        if let LiteralData::Plain(text) = &mut self.data {
            self.data = LiteralData::Encoded(encode(std::mem::take(text)));
        }
    }
}

/// `json` split as described above: its large literal (still plain) cut out, and
/// what remains compressed when large.
pub(crate) fn split(json: String) -> SplitBody {
    if json.len() < LARGE {
        return SplitBody {
            body: Column::Text(json),
            literal: None,
            payload_at: None,
        };
    }
    let (skeleton, literal, payload_at) = match longest_literal(json.as_bytes()) {
        Some(range) if range.len() >= LARGE => {
            let text = &json[range.clone()];
            let literal = Literal {
                sha256: Sha256::digest(text.as_bytes()).into(),
                size: text.len() as u64,
                data: LiteralData::Plain(text.to_owned()),
            };
            let mut skeleton = String::with_capacity(json.len() - range.len() + 2);
            skeleton.push_str(&json[..range.start]);
            skeleton.push_str("\"\"");
            skeleton.push_str(&json[range.end..]);
            (skeleton, Some(literal), Some(range.start as u64))
        }
        _ => (json, None, None),
    };
    let body = if skeleton.len() >= LARGE {
        encode(skeleton)
    } else {
        Column::Text(skeleton)
    };
    SplitBody {
        body,
        literal,
        payload_at,
    }
}

/// Stores a split body's literal in `payloads` (once per distinct literal).
pub(crate) fn write(conn: &Connection, split: SplitBody) -> R<StoredBody> {
    let payload = match split.literal {
        Some(literal) => Some(put(conn, literal)?),
        None => None,
    };
    Ok(StoredBody {
        body: split.body,
        payload,
        payload_at: split.payload_at,
    })
}

/// The id of the payload row holding `literal`, inserted when new.
fn put(conn: &Connection, literal: Literal) -> R<i64> {
    let existing = conn
        .prepare_cached("SELECT id FROM payloads WHERE sha256 = ?1")?
        .query_row([literal.sha256.as_slice()], |row| row.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let data = match literal.data {
        LiteralData::Plain(text) => encode(text),
        LiteralData::Encoded(column) => column,
    };
    conn.prepare_cached("INSERT INTO payloads (sha256, size, data) VALUES (?1, ?2, ?3)")?
        .execute(params![literal.sha256.as_slice(), literal.size, data])?;
    Ok(conn.last_insert_rowid())
}

/// Deletes the payloads of `ids` that no event refers to any more.
pub(crate) fn release(conn: &Connection, ids: &[i64]) -> R<()> {
    let mut delete = conn.prepare_cached(
        "DELETE FROM payloads WHERE id = ?1 \
         AND NOT EXISTS (SELECT 1 FROM events WHERE payload = ?1)",
    )?;
    for id in ids {
        delete.execute([id])?;
    }
    Ok(())
}

/// The distinct payloads the events of `session` refer to.
pub(crate) fn of_session(conn: &Connection, session_key: i64) -> R<Vec<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT DISTINCT payload FROM events WHERE session = ?1 AND payload IS NOT NULL",
        )?
        .query_map([session_key], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Deletes every payload no event refers to (a sweep for `gc`); how many.
pub(crate) fn sweep(conn: &Connection) -> R<usize> {
    Ok(conn.execute(
        "DELETE FROM payloads WHERE NOT EXISTS (SELECT 1 FROM events WHERE payload = payloads.id)",
        [],
    )?)
}

thread_local! {
    /// One compression context per thread: making one per call allocates its
    /// tables again every time.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
}

/// `text` as a zstd frame, or as it is when that is not smaller.
fn encode(text: String) -> Column {
    let compressed = COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = zstd::bulk::Compressor::new(LEVEL).ok();
        }
        cell.as_mut()?.compress(text.as_bytes()).ok()
    });
    match compressed {
        Some(bytes) if bytes.len() < text.len() => Column::Blob(bytes),
        _ => Column::Text(text),
    }
}

/// A TEXT-or-BLOB column's JSON text.
fn decode(value: ValueRef<'_>) -> Result<Cow<'_, str>, String> {
    match value {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|e| format!("stored text is not UTF-8: {e}")),
        ValueRef::Blob(frame) => {
            let bytes = zstd::stream::decode_all(frame)
                .map_err(|e| format!("stored zstd frame is damaged: {e}"))?;
            String::from_utf8(bytes)
                .map(Cow::Owned)
                .map_err(|e| format!("decompressed text is not UTF-8: {e}"))
        }
        other => Err(format!("stored body has type {:?}", other.data_type())),
    }
}

/// The JSON body of a row: `body` with the payload literal `data` spliced back at
/// `payload_at` (both absent for a row that has none).
pub(crate) fn restore(
    body: ValueRef<'_>,
    payload_at: Option<u64>,
    data: Option<ValueRef<'_>>,
) -> Result<String, String> {
    let skeleton = decode(body)?;
    let Some(at) = payload_at else {
        return Ok(skeleton.into_owned());
    };
    let data = match data {
        Some(ValueRef::Null) | None => return Err("its payload row is missing".into()),
        Some(data) => data,
    };
    let literal = decode(data)?;
    let at = usize::try_from(at).map_err(|_| format!("payload offset {at} is out of range"))?;
    if skeleton.get(at..at + 2) != Some("\"\"") {
        return Err(format!("payload offset {at} is not an empty string"));
    }
    let mut out = String::with_capacity(skeleton.len() + literal.len());
    out.push_str(&skeleton[..at]);
    out.push_str(&literal);
    out.push_str(&skeleton[at + 2..]);
    Ok(out)
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

/// Registers `cairn_event_body(body, payload_at, data)`; empty for a damaged row,
/// so a search never fails on one (its index text is empty too).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function(BODY_FUNCTION, 3, flags, |ctx| {
        let at: Option<u64> = ctx.get(1)?;
        Ok(restore(ctx.get_raw(0), at, Some(ctx.get_raw(2))).unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_literal_is_found_past_escapes() {
        let json = br#"{"a":"x\"y","b":"\\","long":"0123456789\"\\"}"#;
        let range = longest_literal(json).unwrap();
        assert_eq!(&json[range], br#""0123456789\"\\""#);
        assert_eq!(longest_literal(b"{}"), None);
        assert_eq!(longest_literal(br#"{"open"#), None);
    }
}
