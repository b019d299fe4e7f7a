//! Reading an import's input on a thread of its own, a bounded number of events
//! ahead of the store: parsing the next lines overlaps with writing the ones
//! before, and memory stays bounded by the queue.

use cairn_core::Event;
use cairn_core::ahead::ahead;
use cairn_core::store::ImportStream;

/// Events parsed ahead of the store at most (each is one line of the file).
const AHEAD: usize = 64;

/// `events`, produced on another thread.
pub(crate) fn read_ahead<I>(events: I) -> ImportStream
where
    I: Iterator<Item = cairn_core::Result<Event>> + Send + 'static,
{
    Box::new(ahead(
        "import-read",
        "the import's reading thread",
        AHEAD,
        events,
    ))
}
