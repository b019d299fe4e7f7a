//! An event made ready for the writer: everything of its insert that needs no
//! connection (inline media taken out, the body serialised, split and compressed,
//! the full-text index's text). An import prepares its events on a thread of its
//! own, ahead of the writer, so the writer's thread only runs the SQL: the import's
//! speed is bound by that one thread (BENCHMARKS.md, "Import speed").

use std::borrow::Cow;
use std::collections::HashSet;

use cairn_core::ahead::{Ahead, Batches, ahead};
use cairn_core::attachment::{InlineMedia, take_inline_media};
use cairn_core::event::encode_payload;
use cairn_core::{Error, Event, Payload, Timestamp};

use crate::dictionary::Raw;
use crate::payloads::{self, Literal, SplitBody};
use crate::search_text::{index_words, stored_event_text};

/// How far the preparing thread runs ahead of the writer: two batches queued, each
/// of about 256 KB of bodies and index text or 256 events (a prepared event holds
/// its payload, its index text and its compressed body: a few times the event's
/// size). One hand-over per batch: per event, the two threads woke each other up
/// for every one of a 100 MB session's 41,000 events. Batches of 1 MB put the
/// debug build's `import_memory` test 2 MB over its limit.
const AHEAD: Batches = Batches {
    depth: 2,
    bytes: 256 << 10,
    items: 256,
};

pub(crate) struct PreparedEvent<'p> {
    pub seq: u64,
    pub ts: Timestamp,
    /// The payload as stored: its inline media are in `media`.
    pub payload: Cow<'p, Payload>,
    pub media: Vec<InlineMedia>,
    /// The size of the JSON body, before splitting and compression.
    pub bytes: u64,
    /// What the full-text index gets: the words of the searchable text, each
    /// once (maybe empty: the row is indexed all the same).
    pub text: String,
    pub body: SplitBody,
}

impl PreparedEvent<'_> {
    /// About the memory it holds, for the queue's bound: the payload (as big as its
    /// body) and the index text; the compressed body is smaller than either.
    fn weight(&self) -> usize {
        self.bytes as usize + self.text.len()
    }
}

/// Prepares the event at `seq`.
pub(crate) fn prepare(
    seq: u64,
    ts: Timestamp,
    payload: Cow<'_, Payload>,
) -> cairn_core::Result<PreparedEvent<'_>> {
    let (taken, media) = {
        let (stored, media) = take_inline_media(seq, &payload)?;
        let taken = match stored {
            Cow::Owned(stored) => Some(stored),
            Cow::Borrowed(_) => None,
        };
        (taken, media)
    };
    let payload = taken.map_or(payload, Cow::Owned);
    let body = serde_json::to_string(&encode_payload(&payload))
        .map_err(|e| Error::invalid(format!("event seq {seq}: cannot encode: {e}")))?;
    // What the index's content view computes from the stored body when FTS5 reads
    // it back (snippets, deletes). A typed payload decodes from its body to itself
    // (the log is lossless), so its own text is that, without parsing the body
    // again; an untyped one may decode to a typed one, so it goes the long way.
    let text = match payload.as_ref() {
        Payload::Other { .. } => stored_event_text(payload.kind(), &body),
        typed => typed.searchable_text(),
    };
    debug_assert_eq!(text, stored_event_text(payload.kind(), &body));
    let text = index_words(text);
    Ok(PreparedEvent {
        seq,
        ts,
        payload,
        media,
        bytes: body.len() as u64,
        text,
        body: payloads::split(body),
    })
}

/// The events of an import, checked dense from seq 1 and prepared on a thread of
/// their own ahead of the writer. A literal seen earlier in the same import is
/// left uncompressed: the writer finds it stored already and drops it. The
/// others are compressed by a [`LiteralCoder`] with the store's payload
/// dictionary (`dictionary`), if any.
pub(crate) fn prepare_ahead<I>(
    events: I,
    dictionary: Option<(u32, Raw)>,
    mut bodies: BodyDictionary,
) -> Ahead<PreparedEvent<'static>>
where
    I: Iterator<Item = cairn_core::Result<Event>> + Send + 'static,
{
    let mut seen = HashSet::new();
    let mut coder = LiteralCoder {
        dictionary,
        announced: false,
    };
    let prepared = (1..).zip(events).map(move |(expected, event)| {
        let event = event?;
        cairn_core::accounting::check_next_seq(event.seq, expected)?;
        let mut prepared = prepare(event.seq, event.ts, Cow::Owned(event.payload))?;
        if let Some(literal) = prepared.body.literal_mut()
            && seen.insert(*literal.sha256())
        {
            coder.encode(literal);
        }
        if let Some(dictionary) = bodies.get() {
            prepared.body.encode_body(dictionary);
        }
        Ok(prepared)
    });
    ahead(
        "import-prepare",
        "the import's preparing thread",
        AHEAD,
        PreparedEvent::weight,
        prepared,
    )
}

/// The body dictionary an import's preparing thread compresses bodies with:
/// the store's, once this process knows it. A new store gets one from its
/// writer during the import (`dictionary`, at 2,000 events); the bodies
/// prepared before are compressed by the writer, as an append's are. Zstd was
/// a ninth of the writer's CPU in a 100 MB import (BENCHMARKS.md).
pub(crate) struct BodyDictionary {
    file: Option<String>,
    known: Option<(u32, Raw)>,
}

impl BodyDictionary {
    pub(crate) fn of(conn: &rusqlite::Connection) -> BodyDictionary {
        BodyDictionary {
            file: crate::dictionary::store_file(conn),
            known: None,
        }
    }

    fn get(&mut self) -> Option<&(u32, Raw)> {
        if self.known.is_none() {
            self.known = crate::dictionary::known_for_bodies(self.file.as_deref()?);
        }
        self.known.as_ref()
    }
}

/// How an import's preparing thread compresses new literals: with the store's
/// payload dictionary when it has one (the first literal made with it carries
/// it to the writer, which checks it is stored: `payloads::write`), else each
/// on its own. An import does not train one: training on 4 MiB of literals
/// cost the 100 MB import a fifth more CPU and 15 MB more memory
/// (BENCHMARKS.md); `cairn store compact` does.
struct LiteralCoder {
    dictionary: Option<(u32, Raw)>,
    /// Whether a literal has carried the dictionary to the writer yet.
    announced: bool,
}

impl LiteralCoder {
    fn encode(&mut self, literal: &mut Literal) {
        let announce = !self.announced;
        if literal.encode(self.dictionary.as_ref(), announce) && announce {
            self.announced = true;
        }
    }
}
