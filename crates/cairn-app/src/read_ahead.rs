//! Reading an import's input on a thread of its own, a bounded number of events
//! ahead of the store: parsing the next lines overlaps with writing the ones
//! before, and memory stays bounded by the queue.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use cairn_core::store::ImportStream;
use cairn_core::{Error, Event};

/// Events parsed ahead of the store at most (each is one line of the file).
const AHEAD: usize = 64;

/// An event, or `None`: the input ended (without it, a reader that died would
/// look like the end).
type Item = Option<cairn_core::Result<Event>>;

/// `events`, produced on another thread.
pub(crate) fn read_ahead<I>(events: I) -> ImportStream
where
    I: Iterator<Item = cairn_core::Result<Event>> + Send + 'static,
{
    let (tx, rx) = sync_channel(AHEAD);
    let spawned = std::thread::Builder::new()
        .name("import-read".into())
        .spawn(move || produce(events, &tx));
    match spawned {
        Ok(_) => Box::new(Queue { rx, done: false }),
        Err(e) => Box::new(std::iter::once(Err(Error::io(
            "cannot start the import's reading thread",
            e,
        )))),
    }
}

fn produce<I>(events: I, tx: &SyncSender<Item>)
where
    I: Iterator<Item = cairn_core::Result<Event>>,
{
    for event in events {
        let failed = event.is_err();
        // The store stopped reading (it failed): nothing more is wanted.
        if tx.send(Some(event)).is_err() || failed {
            return;
        }
    }
    let _ = tx.send(None);
}

struct Queue {
    rx: Receiver<Item>,
    done: bool,
}

impl Iterator for Queue {
    type Item = cairn_core::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.rx.recv() {
            Ok(Some(event)) => {
                self.done = event.is_err();
                Some(event)
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(_) => {
                self.done = true;
                Some(Err(Error::Storage(
                    "the import's reading thread stopped before the end of its input".into(),
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::{ContentBlock, Message, Payload, Role, Timestamp};

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
