//! Event bodies on disk. A body (the event's JSON without seq/ts/kind) is kept:
//!
//! - below [`LARGE`] bytes: as it is, TEXT in `events.body`, or, once the store
//!   has its dictionary (`crate::dictionary`), a frame made with it;
//! - larger: its longest JSON string literal (a tool output, a long message),
//!   when that is itself at least [`LARGE`], moves to `payloads`, found by the
//!   first 64 bits of the literal's sha256 ([`hash_of`]; schema 18, issue 15:
//!   before, the whole sha256 and a unique index on it), so the same file read
//!   ten times, or the same output in two imports, is stored once. A row with
//!   the same 64 bits is reused only when its text is the literal (compared in
//!   full); two literals that share them are two rows. The body keeps an empty literal `""` at byte
//!   `events.payload_at` in its place and `events.payload` names the row. It is
//!   compressed with the store's payload dictionary when it has one
//!   (`crate::dictionary`), else on its own;
//! - what remains of the body, when still at least [`LARGE`], is compressed
//!   (with the dictionary when there is one, as a short remainder is).
//!
//! The storage class is the codec, in both tables: TEXT is plain JSON, a BLOB is
//! one zstd frame of it (a frame carries its magic number and, when made with a
//! dictionary, that dictionary's id and a checksum of the text).
//! No flag column can disagree with the bytes, and a row written before this
//! scheme (TEXT, no payload) reads as it always did. A literal that zstd does not
//! shrink stays TEXT.
//!
//! Readers splice the literal back in Rust ([`restore`]) or in SQL through
//! `cairn_event_body(body, payload_at, data)`, which the full-text index's view
//! uses, so what FTS5 recomputes for a delete is what was indexed.

use std::borrow::Cow;
use std::sync::Arc;

use cairn_core::body_codec;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql, params};

use crate::dictionary::Raw;
use crate::fail::R;
use crate::zstd_pool::Pool;

/// Bodies and literals from this size up are compressed / moved out
/// (`cairn_core::body_codec`, which both stores share).
pub(crate) const LARGE: usize = body_codec::LARGE;

/// zstd level of writes (`cairn_core::body_codec`).
const LEVEL: i32 = body_codec::LEVEL;

/// zstd level `cairn store compact` recompresses bodies and payloads at, with
/// the store's dictionaries (BENCHMARKS.md, "Store less: `store compact` at a
/// stronger zstd level"): on the 100 MB history's payloads 15.5 % fewer bytes than level 3
/// for 13 s of CPU, where 19 gives 15.9 % for 20 s and 9 gives 10.8 %;
/// decompression is as fast at every level, so a resume does not notice.
/// `zstd_level` on a row records the level compact last tried it at.
pub(crate) const COMPACT_LEVEL: i32 = 15;

/// zstd level `cairn store compact` recompresses payloads at: with the larger
/// dictionary a grown store trains (`crate::dictionary`), level 19 finds what
/// 15 does not (BENCHMARKS.md, "Store less: a larger payload dictionary, level
/// 19": on the 100 MB history's payloads 512 KiB at 19 is 7.9 % smaller than
/// 128 KiB at 15, at 15 only 3.1 %), for about three times the CPU of 15;
/// decompression is as fast.
pub(crate) const PAYLOAD_COMPACT_LEVEL: i32 = 19;

pub(crate) const BODY_FUNCTION: &str = "cairn_event_body";

/// A value for a TEXT-or-BLOB column.
pub(crate) enum Column {
    Text(String),
    Blob(Vec<u8>),
}

impl Column {
    fn as_value_ref(&self) -> ValueRef<'_> {
        match self {
            Column::Text(text) => ValueRef::Text(text.as_bytes()),
            Column::Blob(bytes) => ValueRef::Blob(bytes),
        }
    }
}

impl ToSql for Column {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(self.as_value_ref()))
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

/// A body split, not yet written: [`split`] needs no connection, so an import
/// runs it ahead of the writer; [`write`] compresses the skeleton (with the
/// store's dictionary, which only the writer knows) and stores it.
pub(crate) struct SplitBody {
    body: String,
    /// `body` compressed off the writer ([`SplitBody::encode_body`]) with the
    /// body dictionary of this id: the frame, or `None` when it was not smaller.
    framed: Option<(u32, Option<Vec<u8>>)>,
    literal: Option<Literal>,
    payload_at: Option<u64>,
}

/// The large literal of a [`SplitBody`], with its sha256; compressed on
/// [`Literal::encode`], or by [`write`] when it is new to the store.
pub(crate) struct Literal {
    sha256: [u8; 32],
    size: u64,
    data: LiteralData,
    /// The payload dictionary it was compressed with, for the writer to store
    /// (set on the first literal of an import that uses it).
    dictionary: Option<(u32, Raw)>,
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

    /// Compresses what stays in `events.body` now (an import's preparing
    /// thread) with the store's body dictionary `dictionary`; [`write`] keeps
    /// the frame when that is still the dictionary bodies are written with.
    pub(crate) fn encode_body(&mut self, dictionary: &(u32, Raw)) {
        let (id, raw) = dictionary;
        let frame = compress_with(raw, Texts::Bodies, self.body.as_bytes());
        self.framed = Some((*id, frame));
    }
}

impl Literal {
    pub(crate) fn sha256(&self) -> &[u8; 32] {
        &self.sha256
    }

    /// Compresses the literal now (off the writer), with payload dictionary
    /// `dictionary` when given (and smaller), else on its own; `announce`: the
    /// writer stores that dictionary with this literal.
    /// Whether the dictionary was used (a literal it does not shrink is not).
    pub(crate) fn encode(&mut self, dictionary: Option<&(u32, Raw)>, announce: bool) -> bool {
        let LiteralData::Plain(text) = &mut self.data else {
            return false;
        };
        let text = std::mem::take(text);
        let framed = dictionary.and_then(|(_, raw)| {
            compress_with(raw, Texts::Payloads, text.as_bytes()).map(Column::Blob)
        });
        let used = framed.is_some();
        if used && announce {
            self.dictionary = dictionary.cloned();
        }
        self.data = LiteralData::Encoded(framed.unwrap_or_else(|| encode(text)));
        used
    }
}

/// `json` split as described above: its large literal (still plain) cut out.
pub(crate) fn split(json: String) -> SplitBody {
    let split = body_codec::split(json);
    let (literal, payload_at) = match split.literal {
        Some((text, at)) => (
            Some(Literal {
                sha256: body_codec::sha256(&text),
                size: text.len() as u64,
                data: LiteralData::Plain(text),
                dictionary: None,
            }),
            Some(at),
        ),
        None => (None, None),
    };
    SplitBody {
        body: split.skeleton,
        framed: None,
        literal,
        payload_at,
    }
}

/// Compresses a split body's skeleton and stores its literal in `payloads` (once per
/// distinct literal).
pub(crate) fn write(conn: &Connection, split: SplitBody) -> R<StoredBody> {
    let payload = match split.literal {
        Some(literal) => Some(put(conn, literal)?),
        None => None,
    };
    Ok(StoredBody {
        body: encode_body(conn, split.body, split.framed)?,
        payload,
        payload_at: split.payload_at,
    })
}

/// `payloads.hash` of a literal with this sha256: its first 8 bytes, big-endian,
/// as a signed integer (8 bytes on disk, where the sha256 took 32 and its
/// unique index 32 more).
pub(crate) fn hash_of(sha256: &[u8; 32]) -> i64 {
    let mut first = [0; 8];
    first.copy_from_slice(&sha256[..8]);
    i64::from_be_bytes(first)
}

/// The id of the payload row holding `literal`, inserted when new.
fn put(conn: &Connection, literal: Literal) -> R<i64> {
    if let Some((id, raw)) = &literal.dictionary {
        crate::dictionary::keep_for_payloads(conn, *id, raw)?;
    }
    let hash = hash_of(&literal.sha256);
    if let Some(id) = stored_copy(conn, hash, &literal)? {
        return Ok(id);
    }
    let data = match literal.data {
        LiteralData::Plain(text) => encode_literal(conn, text)?,
        LiteralData::Encoded(column) => column,
    };
    conn.prepare_cached("INSERT INTO payloads (hash, size, data) VALUES (?1, ?2, ?3)")?
        .execute(params![hash, literal.size, data])?;
    Ok(conn.last_insert_rowid())
}

/// The row among those of `hash` and the literal's size whose text is the
/// literal's, if any. The same frame is the same text; else both are decoded
/// and compared (a row of the same text compressed otherwise, or two texts
/// that share 64 bits of sha256 and their size).
fn stored_copy(conn: &Connection, hash: i64, literal: &Literal) -> R<Option<i64>> {
    let mut statement =
        conn.prepare_cached("SELECT id, data FROM payloads WHERE hash = ?1 AND size = ?2")?;
    let mut rows = statement.query(params![hash, literal.size])?;
    let mut ours: Option<Cow<'_, str>> = None;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let data = row.get_ref(1)?;
        if let LiteralData::Encoded(column) = &literal.data
            && data == column.as_value_ref()
        {
            return Ok(Some(id));
        }
        let fail = |e: String| crate::fail::unreadable(format!("payload #{id}: {e}"));
        if ours.is_none() {
            ours = Some(match &literal.data {
                LiteralData::Plain(text) => Cow::Borrowed(text.as_str()),
                LiteralData::Encoded(column) => decode(conn, column.as_value_ref())
                    .map_err(|e| crate::fail::unreadable(format!("a new payload: {e}")))?,
            });
        }
        let stored = decode(conn, data).map_err(fail)?;
        if ours.as_deref() == Some(&*stored) {
            return Ok(Some(id));
        }
    }
    Ok(None)
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

/// What `events.body` keeps of a body (or what remains of it once its long
/// literal moved out): a frame made with the store's dictionary
/// (`crate::dictionary`) when it has one and that is smaller; else, from
/// [`LARGE`] up, a frame without; else the text. `framed`: what
/// [`SplitBody::encode_body`] made, used when made with that dictionary.
fn encode_body(
    conn: &Connection,
    text: String,
    framed: Option<(u32, Option<Vec<u8>>)>,
) -> R<Column> {
    if let Some((id, raw)) = crate::dictionary::for_writing(conn)? {
        let frame = match framed {
            Some((made_with, frame)) if made_with == id => frame,
            _ => compress_with(&raw, Texts::Bodies, text.as_bytes()),
        };
        if let Some(frame) = frame {
            return Ok(Column::Blob(frame));
        }
    }
    Ok(if text.len() >= LARGE {
        encode(text)
    } else {
        Column::Text(text)
    })
}

/// A literal compressed on the writer (an append's, or one `compact` moves out):
/// with the store's payload dictionary when it has one and that is smaller.
fn encode_literal(conn: &Connection, text: String) -> R<Column> {
    if let Some((_, raw)) = crate::dictionary::for_payloads(conn)?
        && let Some(frame) = compress_with(&raw, Texts::Payloads, text.as_bytes())
    {
        return Ok(Column::Blob(frame));
    }
    Ok(encode(text))
}

/// Rewrites, with the store's payload dictionary at [`PAYLOAD_COMPACT_LEVEL`], the
/// payloads the events of session `key` refer to that compact has not brought
/// to that level yet (`cairn store compact`), training the dictionary first
/// when the store holds enough payloads and has none; the ids of the payloads
/// rewritten. Shared payloads are converted once (by the first session).
pub(crate) fn payloads_with_dictionary(conn: &Connection, key: i64) -> R<Vec<i64>> {
    let Some(dictionary) = crate::dictionary::for_payloads_compact(conn)? else {
        return Ok(Vec::new());
    };
    recompress_rows(conn, key, &dictionary, Texts::Payloads)
}

/// The text of a stored payload's `data`.
pub(crate) fn text_of(conn: &Connection, data: ValueRef<'_>) -> Result<String, String> {
    decode(conn, data).map(Cow::into_owned)
}

/// A stored text (plain, or any frame) compressed with dictionary `raw` at
/// `level`; `None` when that is not smaller than what is stored.
fn recompress(
    conn: &Connection,
    raw: &Raw,
    level: i32,
    stored: ValueRef<'_>,
) -> Result<Option<Vec<u8>>, String> {
    let stored_len = match stored {
        ValueRef::Text(text) => text.len(),
        ValueRef::Blob(frame) => frame.len(),
        _ => return Ok(None),
    };
    let text = decode(conn, stored)?;
    Ok(compress_as(raw, Loading::Compact(level), text.as_bytes())
        .filter(|frame| frame.len() < stored_len))
}

/// Rewrites, with the store's body dictionary at [`COMPACT_LEVEL`], the bodies
/// of session `key` that compact has not brought to that level yet
/// ([`recompress`]); the ids of the events rewritten.
pub(crate) fn with_dictionary(conn: &Connection, key: i64) -> R<Vec<i64>> {
    let Some(dictionary) = crate::dictionary::for_compact(conn)? else {
        return Ok(Vec::new());
    };
    recompress_rows(conn, key, &dictionary, Texts::Bodies)
}

impl Texts {
    /// The level `store compact` brings these rows to.
    fn compact_level(self) -> i32 {
        match self {
            Texts::Bodies => COMPACT_LEVEL,
            Texts::Payloads => PAYLOAD_COMPACT_LEVEL,
        }
    }

    /// Rows of id, stored text, what to call it in an error, for [`recompress_rows`]
    /// (`store compact`); `?1` the session, `?2` the level they are wanted at.
    fn select(self) -> &'static str {
        match self {
            Texts::Bodies => {
                "SELECT id, body, 'event seq ' || seq FROM events WHERE session = ?1 \
                 AND (zstd_level IS NULL OR zstd_level < ?2)"
            }
            Texts::Payloads => {
                "SELECT id, data, 'payload #' || id FROM payloads WHERE id IN \
                 (SELECT payload FROM events WHERE session = ?1 AND payload IS NOT NULL) \
                 AND (zstd_level IS NULL OR zstd_level < ?2)"
            }
        }
    }

    /// Stores frame `?1` made at level `?2` in row `?3`.
    fn update(self) -> &'static str {
        match self {
            Texts::Bodies => "UPDATE events SET body = ?1, zstd_level = ?2 WHERE id = ?3",
            Texts::Payloads => "UPDATE payloads SET data = ?1, zstd_level = ?2 WHERE id = ?3",
        }
    }

    /// Records that row `?2` was tried at level `?1` (and kept as it was).
    fn tried(self) -> &'static str {
        match self {
            Texts::Bodies => "UPDATE events SET zstd_level = ?1 WHERE id = ?2",
            Texts::Payloads => "UPDATE payloads SET zstd_level = ?1 WHERE id = ?2",
        }
    }
}

/// Compresses with `dictionary` at [`Texts::compact_level`] the `texts` of session `key`
/// not tried at that level yet, stores each frame that is smaller than the row,
/// and records the level on every row tried, so the next compact skips them;
/// the ids of the rows rewritten.
fn recompress_rows(
    conn: &Connection,
    key: i64,
    (_, raw): &(u32, Raw),
    texts: Texts,
) -> R<Vec<i64>> {
    let level = texts.compact_level();
    let mut rewritten = Vec::new();
    let mut kept = Vec::new();
    {
        let mut select = conn.prepare_cached(texts.select())?;
        let mut found = select.query(params![key, level])?;
        while let Some(row) = found.next()? {
            let frame = recompress(conn, raw, level, row.get_ref(1)?).map_err(|e| {
                let what = row.get::<_, String>(2).unwrap_or_default();
                crate::fail::unreadable(format!("session #{key}, {what}: {e}"))
            })?;
            let id = row.get::<_, i64>(0)?;
            match frame {
                Some(frame) => rewritten.push((id, frame)),
                None => kept.push(id),
            }
        }
    }
    let mut update = conn.prepare_cached(texts.update())?;
    for (id, frame) in &rewritten {
        update.execute(params![frame, level, id])?;
    }
    let mut tried = conn.prepare_cached(texts.tried())?;
    for id in &kept {
        tried.execute(params![level, id])?;
    }
    Ok(rewritten.into_iter().map(|(id, _)| id).collect())
}

/// Dictionary contexts kept loaded for decompression: the body and the payload
/// dictionary for each of the reads that run at once (`MAX_IDLE_READERS`), so
/// concurrent reads do not drop each other's contexts and load them again.
const LOADED_DICTIONARIES: usize = 2 * crate::connections::MAX_IDLE_READERS;
/// Dictionary contexts kept loaded for compression: writes use the body and the
/// payload dictionary (an import's preparing thread beside the writer), and
/// `store compact` each of them at its level.
const LOADED_FOR_COMPRESSION: usize = 8;

/// Contexts loaded with a dictionary for compression, each as [`Loading`] says
/// (loading builds tables: once, not per body), shared by the process's threads.
static DICTIONARY_COMPRESSORS: Pool<(Raw, Loading), zstd::bulk::Compressor<'static>> =
    Pool::new(LOADED_FOR_COMPRESSION);
/// The same for decompression.
static DICTIONARY_DECOMPRESSORS: Pool<Raw, zstd::bulk::Decompressor<'static>> =
    Pool::new(LOADED_DICTIONARIES);

/// What a dictionary compresses: it says how much of it a writer loads, and which
/// rows `store compact` goes through.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Texts {
    /// `events.body`: most are a few hundred bytes, none of them a long literal.
    Bodies,
    /// `payloads.data`, long literals up to hundreds of KB.
    Payloads,
}

/// Match tables (log2 of their entries) over a dictionary when bodies and literals
/// are written. At level 3 zstd sizes them as if the input were unknown (2^16 and
/// 2^15 entries over the 32 KiB body dictionary, 2^17 and 2^16 over a payload
/// dictionary: 384 KiB and 768 KiB to clear and fill on a process's first append);
/// 2^14 each keep bodies 0.9 % larger and build in three quarters of the time with
/// half the page faults (BENCHMARKS.md, "The body dictionary's first append"), and
/// halve a payload dictionary's first frame for literals 2.4 % larger until
/// `store compact` rewrites them ("The first append: a payload dictionary's tail
/// and tables for writes"). Compact keeps zstd's own tables for its level.
const WRITE_HASH_LOG: u32 = 14;
const WRITE_CHAIN_LOG: u32 = 14;

/// Bytes of a payload dictionary's content a writer loads: its last ones. zstd
/// inserts every byte of the content it is given into its match tables, once per
/// process, before the first frame, so that work grows with the dictionary (512
/// KiB at most). A frame made with the content's tail is a frame of the whole
/// dictionary (same id and entropy tables; an offset reaches back from the
/// frame's start into the same bytes either way), and the trainer puts what pays
/// most at the end. The body dictionary (32 KiB) is loaded whole: its tail would
/// save a tenth of a millisecond for 1 % more bytes. `store compact` loads the
/// whole content, at its level.
const PAYLOAD_WRITE_CONTENT: usize = 128 * 1024;

/// How a dictionary is loaded into a compression context (and so which pooled
/// context a compression can reuse).
#[derive(Clone, Copy, PartialEq)]
enum Loading {
    /// For writes, at [`LEVEL`]: small match tables, and a payload dictionary's tail.
    Write(Texts),
    /// For `store compact`, at its level: whole, with zstd's own tables.
    Compact(i32),
}

/// `text` as a zstd frame made with dictionary `raw` (the frame names it) at the
/// level of writes, when smaller than the text.
pub(crate) fn compress_with(raw: &Raw, texts: Texts, text: &[u8]) -> Option<Vec<u8>> {
    compress_as(raw, Loading::Write(texts), text)
}

/// The same with `raw` loaded as `loading` says.
fn compress_as(raw: &Raw, loading: Loading, text: &[u8]) -> Option<Vec<u8>> {
    DICTIONARY_COMPRESSORS
        .with(
            |(r, how)| Arc::ptr_eq(r, raw) && *how == loading,
            || load_compressor(raw, loading).map(|c| ((raw.clone(), loading), c)),
            |compressor| compressor.compress(text).ok(),
        )
        .ok()
        .flatten()
        .filter(|frame| frame.len() < text.len())
}

/// A compression context with `raw` loaded as `loading` says.
fn load_compressor(
    raw: &Raw,
    loading: Loading,
) -> std::io::Result<zstd::bulk::Compressor<'static>> {
    use zstd::zstd_safe::CParameter;
    let mut compressor = match loading {
        Loading::Write(Texts::Payloads) => {
            zstd::bulk::Compressor::with_dictionary(LEVEL, &tail_of(raw, PAYLOAD_WRITE_CONTENT))?
        }
        Loading::Write(Texts::Bodies) => zstd::bulk::Compressor::with_dictionary(LEVEL, raw)?,
        Loading::Compact(level) => zstd::bulk::Compressor::with_dictionary(level, raw)?,
    };
    // 4 bytes a body: a damaged frame is an error, not other text.
    compressor.set_parameter(CParameter::ChecksumFlag(true))?;
    if matches!(loading, Loading::Write(_)) {
        // Set before the first frame, when zstd builds its tables.
        compressor.set_parameter(CParameter::HashLog(WRITE_HASH_LOG))?;
        compressor.set_parameter(CParameter::ChainLog(WRITE_CHAIN_LOG))?;
    }
    Ok(compressor)
}

/// Dictionary `raw` with only the last `keep` bytes of its content (its header,
/// id and entropy tables as they are); `raw` itself when its content is no
/// longer, or its header cannot be read.
fn tail_of(raw: &[u8], keep: usize) -> Cow<'_, [u8]> {
    // SAFETY: zstd reads at most `raw.len()` bytes from `raw`'s start, which the
    // slice holds for the call.
    let header = unsafe {
        zstd::zstd_safe::zstd_sys::ZDICT_getDictHeaderSize(raw.as_ptr().cast(), raw.len())
    };
    // SAFETY: a pure test of the value returned above.
    let failed = unsafe { zstd::zstd_safe::zstd_sys::ZDICT_isError(header) } != 0;
    if failed || header > raw.len() || raw.len() - header <= keep {
        return Cow::Borrowed(raw);
    }
    let mut tail = Vec::with_capacity(header + keep);
    tail.extend_from_slice(&raw[..header]);
    tail.extend_from_slice(&raw[raw.len() - keep..]);
    Cow::Owned(tail)
}

/// The dictionary id a frame names, if any.
fn frame_dictionary(frame: &[u8]) -> Option<u32> {
    zstd::zstd_safe::get_dict_id_from_frame(frame).map(|id| id.get())
}

/// A frame made with dictionary `id`, decompressed.
fn decode_with(conn: &Connection, id: u32, frame: &[u8]) -> Result<Vec<u8>, String> {
    let raw = crate::dictionary::for_reading(conn, id)?;
    // Frames made with a dictionary are this store's own: they always declare it.
    let size = body_codec::declared_size(frame)?.ok_or_else(|| {
        format!("stored zstd frame (dictionary {id}) is damaged: no content size")
    })?;
    DICTIONARY_DECOMPRESSORS.with(
        |r| Arc::ptr_eq(r, &raw),
        || {
            zstd::bulk::Decompressor::with_dictionary(&raw)
                .map(|d| (raw.clone(), d))
                .map_err(|e| format!("zstd dictionary {id} is damaged: {e}"))
        },
        |decompressor| {
            decompressor
                .decompress(frame, size)
                .map_err(|e| format!("stored zstd frame (dictionary {id}) is damaged: {e}"))
        },
    )?
}

/// `text` as a zstd frame, or as it is when that is not smaller.
fn encode(text: String) -> Column {
    match body_codec::compress(text.as_bytes()) {
        Some(frame) => Column::Blob(frame),
        None => Column::Text(text),
    }
}

/// A TEXT-or-BLOB column's JSON text.
fn decode<'a>(conn: &Connection, value: ValueRef<'a>) -> Result<Cow<'a, str>, String> {
    match value {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map(Cow::Borrowed)
            .map_err(|e| format!("stored text is not UTF-8: {e}")),
        ValueRef::Blob(frame) => {
            let bytes = match frame_dictionary(frame) {
                Some(id) => decode_with(conn, id, frame)?,
                None => body_codec::decompress(frame)?,
            };
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
    conn: &Connection,
    body: ValueRef<'_>,
    payload_at: Option<u64>,
    data: Option<ValueRef<'_>>,
) -> Result<String, String> {
    let skeleton = decode(conn, body)?;
    let Some(at) = payload_at else {
        return Ok(skeleton.into_owned());
    };
    let data = match data {
        Some(ValueRef::Null) | None => return Err("its payload row is missing".into()),
        Some(data) => data,
    };
    let literal = decode(conn, data)?;
    body_codec::splice(&skeleton, at, &literal)
}

/// Registers `cairn_event_body(body, payload_at, data)`; empty for a damaged row,
/// so a search never fails on one (its index text is empty too).
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function(BODY_FUNCTION, 3, flags, |ctx| {
        let at: Option<u64> = ctx.get(1)?;
        // SAFETY: the handle is used only during this call, on the thread running
        // it, to read the dictionary a frame names (a nested read SQLite allows).
        let conn = unsafe { ctx.get_connection() }?;
        Ok(restore(&conn, ctx.get_raw(0), at, Some(ctx.get_raw(2))).unwrap_or_default())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dictionary trained on `count` texts like a session's messages.
    fn trained(count: usize, size: usize) -> Vec<u8> {
        let samples: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    "{{\"role\":\"user\",\"text\":\"{} {}\"}}",
                    cairn_testkit::chat_text::step(i, 0),
                    cairn_testkit::chat_text::step(i * 3, 1)
                )
            })
            .collect();
        zstd::dict::from_samples(&samples, size).unwrap()
    }

    /// A writer's dictionary is the stored one's header and the end of its
    /// content; what it writes names the stored dictionary and decodes with the
    /// whole of it, as every reader loads it.
    #[test]
    fn frames_made_with_a_dictionarys_tail_decode_with_the_whole_of_it() {
        let whole = trained(4_000, 16 * 1024);
        let keep = 4 * 1024;
        let tail = tail_of(&whole, keep);
        assert!(matches!(tail, Cow::Owned(_)), "a shorter dictionary");
        assert_eq!(
            &tail[tail.len() - keep..],
            &whole[whole.len() - keep..],
            "the content's last bytes"
        );
        assert!(tail.len() > keep, "the header kept");
        assert_eq!(tail[..tail.len() - keep], whole[..tail.len() - keep]);
        assert_eq!(frame_dictionary_of(&tail), frame_dictionary_of(&whole));

        let mut writer = zstd::bulk::Compressor::with_dictionary(LEVEL, &tail).unwrap();
        let mut reader = zstd::bulk::Decompressor::with_dictionary(&whole).unwrap();
        for i in [5, 500, 4_999] {
            let text = format!(
                "{{\"role\":\"user\",\"text\":\"{}\"}}",
                cairn_testkit::chat_text::step(i, 0).repeat(40)
            );
            let frame = writer.compress(text.as_bytes()).unwrap();
            assert!(frame.len() < text.len() / 4, "{} bytes", frame.len());
            assert_eq!(frame_dictionary(&frame), frame_dictionary_of(&whole));
            let back = reader.decompress(&frame, text.len()).unwrap();
            assert_eq!(back, text.as_bytes());
        }
    }

    /// A dictionary no longer than what a writer keeps, or not one, is used as
    /// it is.
    #[test]
    fn a_short_dictionary_or_other_bytes_are_kept_whole() {
        let whole = trained(4_000, 8 * 1024);
        assert!(matches!(tail_of(&whole, 16 * 1024), Cow::Borrowed(_)));
        let other = vec![7u8; 4096];
        assert!(matches!(tail_of(&other, 1024), Cow::Borrowed(_)));
    }

    /// A store at the latest schema, in memory.
    fn store_in_memory() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        crate::register_sql_functions(&conn).unwrap();
        assert!(crate::migrations::apply_missing(&conn).is_ok());
        conn
    }

    /// A body whose long literal (`size` bytes of text) moves to `payloads`.
    fn body_with_literal(fill: char, size: usize) -> String {
        serde_json::json!({"role": "tool", "text": fill.to_string().repeat(size)}).to_string()
    }

    /// Stores `json`; its payload row and the body read back.
    fn stored(conn: &Connection, json: &str) -> (i64, String) {
        let Ok(stored) = store(conn, json.to_owned()) else {
            panic!("not stored")
        };
        let id = stored.payload.unwrap();
        let back = conn
            .query_row("SELECT data FROM payloads WHERE id = ?1", [id], |row| {
                let data = Some(row.get_ref(0)?);
                Ok(restore(
                    conn,
                    stored.body.as_value_ref(),
                    stored.payload_at,
                    data,
                ))
            })
            .unwrap()
            .unwrap();
        (id, back)
    }

    /// Payloads are found by 64 bits of their sha256, and a row is reused only
    /// for the same text: two literals of one size that share those bits (the
    /// stored row made to claim the other's) are two rows, each read back as
    /// written, and each found again by its own text.
    #[test]
    fn literals_sharing_the_payload_key_are_stored_apart_and_read_back_right() {
        let conn = store_in_memory();
        let (a, b) = (
            body_with_literal('a', LARGE + 10),
            body_with_literal('b', LARGE + 10),
        );
        let (row_a, back_a) = stored(&conn, &a);
        assert_eq!(back_a, a);
        let key_b = hash_of(split(b.clone()).literal.as_ref().unwrap().sha256());
        conn.execute(
            "UPDATE payloads SET hash = ?1 WHERE id = ?2",
            params![key_b, row_a],
        )
        .unwrap();

        let (row_b, back_b) = stored(&conn, &b);
        assert_ne!(row_b, row_a, "a row of other text is not reused");
        assert_eq!(back_b, b);
        let (again, back) = stored(&conn, &b);
        assert_eq!((again, back), (row_b, b.clone()), "the same text is");
        let rows: Vec<(i64, i64)> = conn
            .prepare("SELECT id, hash FROM payloads ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows, [(row_a, key_b), (row_b, key_b)]);
        // The first row still reads as its own text.
        let data = conn
            .query_row("SELECT data FROM payloads WHERE id = ?1", [row_a], |row| {
                Ok(text_of(&conn, row.get_ref(0)?))
            })
            .unwrap()
            .unwrap();
        assert!(data.contains(&"a".repeat(LARGE)) && !data.contains('b'));
    }

    /// The id in a dictionary's header.
    fn frame_dictionary_of(dictionary: &[u8]) -> Option<u32> {
        zstd::zstd_safe::get_dict_id_from_dict(dictionary).map(|id| id.get())
    }
}
