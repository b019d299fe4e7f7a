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

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::{ContentBlock, Error, Message, Payload, Role, Timestamp};

    fn event(seq: u64) -> cairn_core::Result<Event> {
        Ok(Event {
            seq,
            ts: Timestamp::UNIX_EPOCH,
            payload: Payload::Message(Message::new(Role::User, vec![ContentBlock::text("x")])),
        })
    }

    #[test]
    fn passes_every_event_in_order_and_stops_at_the_first_error() {
        let seqs: Vec<u64> = read_ahead((1..=200).map(event))
            .map(|e| e.unwrap().seq)
            .collect();
        assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
        let items: Vec<_> = read_ahead(
            (1..=3)
                .map(event)
                .chain([Err(Error::invalid("line 4: bad"))])
                .chain((5..=9).map(event)),
        )
        .collect();
        assert_eq!(items.len(), 4);
        assert!(
            items[3]
                .as_ref()
                .is_err_and(|e| e.to_string().contains("line 4"))
        );
    }

    #[test]
    fn a_reader_that_dies_is_an_error_not_the_end() {
        let dying = (1..=3).map(|seq| {
            if seq == 3 {
                panic!("reader died");
            }
            event(seq)
        });
        let items: Vec<_> = read_ahead(dying).collect();
        assert_eq!(items.len(), 3);
        assert!(items[2].is_err());
    }
}
