//! Reading an import's input on a thread of its own, a bounded number of bytes
//! ahead of the store: parsing the next lines overlaps with writing the ones
//! before, and memory stays bounded by the queue.

use cairn_core::Event;
use cairn_core::ahead::{Batches, ahead};
use cairn_core::store::ImportStream;

/// Parsed ahead of the store at most: two batches of about 256 KB of lines (or 256
/// events), handed over whole (one hand-over per event cost a wake-up each).
const AHEAD: Batches = Batches {
    depth: 2,
    bytes: 256 << 10,
    items: 256,
};

/// `events`, each with the size of its line, produced on another thread.
pub(crate) fn read_ahead<I>(events: I) -> ImportStream
where
    I: Iterator<Item = cairn_core::Result<(Event, usize)>> + Send + 'static,
{
    let read = ahead(
        "import-read",
        "the import's reading thread",
        AHEAD,
        |(_, bytes): &(Event, usize)| *bytes,
        events,
    );
    Box::new(read.map(|item| item.map(|(event, _)| event)))
}
