//! Where an imported session came from (another tool's transcript) and how much of
//! that transcript the store holds, so that running the import again is incremental:
//! an unchanged transcript is skipped, a grown one gets only its new part appended.

use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// One transcript of another tool, as far as it has been imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOrigin {
    /// The tool the transcript came from: `claude-code`, `codex`, …
    pub source: String,
    /// The transcript's own id in that tool (its session id).
    pub original_id: String,
    /// Bytes of the (decompressed) transcript read so far: the end of its last
    /// complete line.
    pub consumed_bytes: u64,
    /// Lines of the transcript read so far.
    pub consumed_lines: u64,
    /// Events the import has written so far (a resumed session may have more).
    pub imported_events: u64,
    /// The importer's check that the part read so far is unchanged; opaque to the store.
    pub fingerprint: String,
}

/// An [`ImportOrigin`] the store knows, with the session it was imported into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownImport {
    pub session: Ulid,
    pub origin: ImportOrigin,
}
