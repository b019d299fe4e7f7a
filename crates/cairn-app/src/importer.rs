//! The adapter every session source implements (atuin's `Importer` shape): a source
//! that knows its session's metadata and can be loaded into the store as a stream.
//! JSONL v1 is the first; Claude Code and Codex transcripts come next.

use cairn_core::jsonl::Header;
use cairn_core::store::ImportStream;

/// What a first, checking pass over a source found; it keeps no event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Survey {
    pub events: u64,
    /// Distinct attachments whose bytes the source carries.
    pub attachments: u64,
    /// Media referenced without bytes: sha256 and the first line naming it. They
    /// must already be in the store.
    pub referenced: Vec<(String, u64)>,
}

/// A session to import, read twice: once to survey it (what the store must already
/// hold), then once more as the stream the store writes in one transaction, which
/// a bad item rolls back (so a bad source names its first bad line and imports
/// nothing). Memory stays O(largest item).
pub trait Importer: Send {
    /// What messages call the source: a file's path as given, or `-`.
    fn source(&self) -> &str;

    /// The session's metadata, as the source gives it.
    fn header(&self) -> &Header;

    /// Reads the whole source for what the store must already hold (media
    /// referenced without their bytes); errors name the source and line.
    fn survey(&mut self) -> cairn_core::Result<Survey>;

    /// The events from the start, media bytes inline (`data_base64`), for
    /// `Store::import_stream`; errors name the source and line.
    fn into_events(self: Box<Self>) -> cairn_core::Result<ImportStream>;
}
