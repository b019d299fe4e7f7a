//! What the Claude Code and Codex readers share: reading a transcript's lines
//! tolerantly (plain or zstd, complete lines only, bounded length), counting what
//! was skipped and why, and the converted session they hand to the import.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use cairn_core::jsonl::Header;
use cairn_core::store::ImportStream;
use cairn_core::{ContentBlock, Event, ImportOrigin, MediaBlock, Payload, Timestamp, Usage};
use cairn_llm::{ModelRef, PriceTable};
use ruzstd::decoding::StreamingDecoder;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::importer::{Importer, Survey};

/// The longest transcript line read; a longer one is skipped and reported.
pub const MAX_LINE_BYTES: usize = 32 << 20;

/// How much of the read part's end the fingerprint covers.
const FINGERPRINT_BYTES: usize = 4096;

/// Lines skipped, by reason (`"unknown type progress"`, `"not JSON"`, …).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Skipped(pub BTreeMap<String, u64>);

impl Skipped {
    pub fn add(&mut self, reason: impl Into<String>) {
        *self.0.entry(reason.into()).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Skipped) {
        for (reason, count) in &other.0 {
            *self.0.entry(reason.clone()).or_default() += count;
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// One complete line of a transcript: its 1-based number and its bytes.
pub struct Line {
    pub number: u64,
    pub bytes: Vec<u8>,
}

/// Reads a transcript's complete lines. A last line without its newline is being
/// written right now: it is left for the next import.
pub struct Lines {
    input: Box<dyn BufRead + Send>,
    shown: String,
    number: u64,
    /// Bytes of the decoded stream up to the end of the last complete line.
    consumed: u64,
    /// The end of the consumed part, for the fingerprint.
    tail: Vec<u8>,
    pub skipped: Skipped,
    /// Problems with `file:line:` in front, for the person running the import.
    pub problems: Vec<String>,
}

impl Lines {
    /// Opens `path`, decompressing `.zst` files.
    pub fn open(path: &Path) -> Result<Self, String> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|e| format!("{shown}: cannot open: {e}"))?;
        let input: Box<dyn BufRead + Send> = if is_zstd(path) {
            let decoder = StreamingDecoder::new(BufReader::new(file))
                .map_err(|e| format!("{shown}: not a zstd file: {e}"))?;
            Box::new(BufReader::with_capacity(1 << 20, Frames(Some(decoder))))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, file))
        };
        Ok(Lines {
            input,
            shown,
            number: 0,
            consumed: 0,
            tail: Vec::new(),
            skipped: Skipped::default(),
            problems: Vec::new(),
        })
    }

    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Counts a skipped line and says why, naming the file and line.
    pub fn problem(&mut self, line: u64, reason: &str, detail: impl std::fmt::Display) {
        self.skipped.add(reason);
        self.problems
            .push(format!("{}:{line}: {reason}: {detail}", self.shown));
    }

    /// Skips the first `bytes` of the stream (already imported), checking that they
    /// end the way they did; `false` when they changed.
    pub fn skip_consumed(
        &mut self,
        bytes: u64,
        lines: u64,
        fingerprint: &str,
    ) -> Result<bool, String> {
        let mut left = bytes;
        let mut tail = Vec::new();
        while left > 0 {
            let chunk = self
                .input
                .fill_buf()
                .map_err(|e| format!("{}: cannot read: {e}", self.shown))?;
            if chunk.is_empty() {
                return Ok(false);
            }
            let take = chunk.len().min(left as usize);
            remember_tail(&mut tail, &chunk[..take]);
            self.input.consume(take);
            left -= take as u64;
        }
        self.number = lines;
        self.consumed = bytes;
        self.tail = tail;
        Ok(self.fingerprint() == fingerprint)
    }

    /// The next complete line; `None` at the end (or at an unfinished last line).
    /// An over-long line is skipped and reported here; reading errors (a corrupt
    /// zstd stream) end the file with a problem reported.
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            let mut bytes = Vec::new();
            let mut too_long = false;
            let mut length = 0usize;
            loop {
                let chunk = match self.input.fill_buf() {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        let line = self.number + 1;
                        self.problem(
                            line,
                            "unreadable",
                            format!("the rest of the file cannot be read: {e}"),
                        );
                        return None;
                    }
                };
                if chunk.is_empty() {
                    // The unfinished last line waits for the next import.
                    if length > 0 {
                        self.skipped.add("unfinished last line (read next time)");
                    }
                    return None;
                }
                let (piece, done) = match memchr::memchr(b'\n', chunk) {
                    Some(end) => (&chunk[..=end], true),
                    None => (chunk, false),
                };
                let used = piece.len();
                length += used;
                if !too_long {
                    if bytes.len() + used > MAX_LINE_BYTES {
                        too_long = true;
                        bytes = Vec::new();
                    } else {
                        bytes.extend_from_slice(piece);
                    }
                }
                remember_tail(&mut self.tail, piece);
                self.input.consume(used);
                if done {
                    break;
                }
            }
            self.number += 1;
            self.consumed += length as u64;
            if too_long {
                let line = self.number;
                self.problem(
                    line,
                    "line too long",
                    format!("{length} bytes, more than the {MAX_LINE_BYTES} read"),
                );
                continue;
            }
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Line {
                number: self.number,
                bytes,
            });
        }
    }

    /// Parses a line as a JSON object, reporting it when it is not one.
    pub fn object(&mut self, line: &Line) -> Option<serde_json::Map<String, Value>> {
        match serde_json::from_slice::<Value>(&line.bytes) {
            Ok(Value::Object(map)) => Some(map),
            Ok(_) => {
                self.problem(
                    line.number,
                    "not a JSON object",
                    "the line is JSON but not an object",
                );
                None
            }
            Err(e) => {
                self.problem(line.number, "not JSON", e);
                None
            }
        }
    }

    pub fn consumed(&self) -> (u64, u64) {
        (self.consumed, self.number)
    }

    /// A check that the consumed part is still what it was: its length and the
    /// hash of its last bytes.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}:{}",
            self.consumed,
            hex::encode(Sha256::digest(
                &self.tail[self.tail.len().saturating_sub(FINGERPRINT_BYTES)..]
            ))
        )
    }
}

/// Keeps at least the last `FINGERPRINT_BYTES` of what was read. The window moves
/// down only once twice that piled up: moving it at every line copied 4 KB per line.
fn remember_tail(tail: &mut Vec<u8>, piece: &[u8]) {
    if piece.len() >= FINGERPRINT_BYTES {
        tail.clear();
        tail.extend_from_slice(&piece[piece.len() - FINGERPRINT_BYTES..]);
        return;
    }
    tail.extend_from_slice(piece);
    if tail.len() > 2 * FINGERPRINT_BYTES {
        tail.drain(..tail.len() - FINGERPRINT_BYTES);
    }
}

type Frame = StreamingDecoder<BufReader<File>, ruzstd::decoding::FrameDecoder>;

/// A zstd stream of one frame after another (a writer that flushed now and then).
struct Frames(Option<Frame>);

impl Read for Frames {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let Some(decoder) = self.0.as_mut() else {
                return Ok(0);
            };
            let read = decoder.read(buf)?;
            if read > 0 || buf.is_empty() {
                return Ok(read);
            }
            // This frame is done; another may follow.
            let Some(done) = self.0.take() else {
                return Ok(0);
            };
            let mut inner = done.into_inner();
            if inner.fill_buf()?.is_empty() {
                return Ok(0);
            }
            self.0 = Some(StreamingDecoder::new(inner).map_err(std::io::Error::other)?);
        }
    }
}

pub fn is_zstd(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "zst")
}

/// A transcript converted to cairn: the session's metadata and its events.
#[derive(Debug)]
pub struct Transcript {
    pub path: PathBuf,
    /// The tool it came from, as stored: `claude-code` or `codex`.
    pub source: &'static str,
    pub original_id: String,
    pub header: Header,
    /// The working directory the tool ran in, when the transcript says.
    pub cwd: Option<String>,
    /// Events dense from seq 1 (seq and time as in the transcript).
    pub events: Vec<Event>,
    pub skipped: Skipped,
    pub problems: Vec<String>,
    /// (bytes, lines) read, and the fingerprint of that part.
    pub consumed: (u64, u64),
    pub fingerprint: String,
    /// For a sub-agent transcript: the original id of its parent session.
    pub parent_original_id: Option<String>,
    /// Codex: the original id of the conversation this rollout was forked from
    /// (its file starts by replaying that conversation's history).
    pub forked_from: Option<String>,
    /// Claude Code: the branches of the conversation tree off the live one,
    /// parents before their own branches; each becomes a fork.
    pub branches: Vec<Branch>,
}

/// A branch of a conversation that the live one left (an edited message, a
/// retry): the events it does not share with the branch it leaves.
#[derive(Debug)]
pub struct Branch {
    /// Stable while the transcript grows: the uuid of the branch's first own line.
    pub id: String,
    /// The branch it leaves: `None` for the live one (the imported session),
    /// else an index into [`Transcript::branches`] (always a lower one).
    pub parent: Option<usize>,
    /// The parent's last event the branch shares.
    pub fork_seq: u64,
    /// Its own events, seqs from `fork_seq + 1`.
    pub events: Vec<Event>,
}

impl Transcript {
    pub fn origin(&self, imported_events: u64) -> ImportOrigin {
        ImportOrigin {
            source: self.source.to_owned(),
            original_id: self.original_id.clone(),
            consumed_bytes: self.consumed.0,
            consumed_lines: self.consumed.1,
            imported_events,
            fingerprint: self.fingerprint.clone(),
        }
    }
}

impl Importer for Transcript {
    fn source(&self) -> &str {
        self.path.to_str().unwrap_or("transcript")
    }

    fn header(&self) -> &Header {
        &self.header
    }

    fn survey(&mut self) -> cairn_core::Result<Survey> {
        Ok(Survey {
            events: self.events.len() as u64,
            attachments: 0,
            referenced: Vec::new(),
        })
    }

    fn into_events(self: Box<Self>) -> cairn_core::Result<ImportStream> {
        Ok(Box::new(self.events.into_iter().map(Ok)))
    }
}

/// Collects events with dense seqs, from `base + 1` (a branch's own events
/// follow the history it shares).
#[derive(Default)]
pub struct EventLog {
    pub events: Vec<Event>,
    pub base: u64,
}

impl EventLog {
    pub fn after(base: u64) -> Self {
        EventLog {
            events: Vec::new(),
            base,
        }
    }

    pub fn push(&mut self, ts: Timestamp, payload: Payload) -> u64 {
        let seq = self.head() + 1;
        self.events.push(Event { seq, ts, payload });
        seq
    }

    pub fn head(&self) -> u64 {
        self.base + self.events.len() as u64
    }

    /// The events collected so far, handed on; the seqs go on after them.
    pub fn take(&mut self) -> Vec<Event> {
        self.base += self.events.len() as u64;
        std::mem::take(&mut self.events)
    }
}

/// The `timestamp` of a line, if it has a valid one.
pub fn timestamp(value: Option<&Value>) -> Option<Timestamp> {
    value
        .and_then(Value::as_str)
        .and_then(|raw| raw.parse().ok())
}

/// An image given as base64 (a data URL's payload or a block's `data`), as a
/// media block carrying its bytes; `None` when it is not valid base64.
pub fn image(mime: &str, data: &str) -> Option<ContentBlock> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()?;
    Some(ContentBlock::Image(MediaBlock {
        sha256: hex::encode(Sha256::digest(&bytes)),
        mime: mime.to_owned(),
        data_base64: Some(data.to_owned()),
    }))
}

/// An image from a `data:MIME;base64,…` URL.
pub fn image_from_data_url(url: &str) -> Option<ContentBlock> {
    let rest = url.strip_prefix("data:")?;
    let (mime, data) = rest.split_once(";base64,")?;
    image(mime, data)
}

/// Cost of `usage` on `model` from cairn's price table; `None` when unpriced.
pub fn cost(prices: &PriceTable, model: Option<&ModelRef>, usage: &Usage) -> Option<f64> {
    model.and_then(|m| prices.cost(m, usage))
}

/// Reads a small JSON number field as u64 (0 when absent).
pub fn count(map: &Value, field: &str) -> u64 {
    map.get(field).and_then(Value::as_u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_hashes_the_last_4_kb_read_whatever_the_line_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        // Short lines, one longer than the window, short lines again: the window
        // is moved at different points but always ends at the last line read.
        let mut text = String::new();
        for n in 0..300 {
            text.push_str(&format!("{{\"n\":{n}}}\n"));
        }
        text.push_str(&format!("{{\"long\":\"{}\"}}\n", "x".repeat(5000)));
        for n in 0..50 {
            text.push_str(&format!("{{\"m\":{n}}}\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let bytes = text.as_bytes();
        let mut lines = Lines::open(&path).unwrap();
        let mut read = 0;
        while let Some(line) = lines.next_line() {
            read += line.bytes.len() + 1;
            let tail = &bytes[read.saturating_sub(FINGERPRINT_BYTES)..read];
            let expected = format!("{read}:{}", hex::encode(Sha256::digest(tail)));
            assert_eq!(lines.fingerprint(), expected, "after {read} bytes");
        }
        assert_eq!(read, bytes.len());
        // Skipping the consumed part gives the same fingerprint.
        let mut again = Lines::open(&path).unwrap();
        let fingerprint = lines.fingerprint();
        assert!(again.skip_consumed(read as u64, 351, &fingerprint).unwrap());
    }
}
