//! Reading the next transcript of an import while the store writes the one before.
//! Each transcript is read whole (its live branch is known only at its end) before
//! its writing starts, so read and write took turns and the reading was on the
//! import's critical path (BENCHMARKS.md, "Claude Code transcripts read one ahead").
//!
//! The next one is read on the calling thread, not a thread of its own, and only
//! once the store has taken two thirds of the current one's events: glibc hands a
//! freed block back to the arena it came from, so the next transcript then reuses
//! what the written events free, instead of both being held at once (a read on a
//! thread of its own, started with the write, took 23 MB more of peak memory).

use cairn_core::{Event, ImportOrigin, NewSession, Session, Store};
use tokio::sync::oneshot;

/// `store.import_stream_from(new, events, origin)`, running `read_next` (when
/// given) on this thread meanwhile; what it read is `None` when the import stopped
/// before the store took two thirds of the events.
pub(crate) async fn import_then_read<T>(
    store: &dyn Store,
    new: NewSession,
    events: Vec<Event>,
    origin: ImportOrigin,
    read_next: Option<impl FnOnce() -> T>,
) -> (cairn_core::Result<Session>, Option<T>) {
    let Some(read_next) = read_next else {
        let events = Box::new(events.into_iter().map(Ok));
        return (store.import_stream_from(new, events, origin).await, None);
    };
    let (start, started) = oneshot::channel();
    let events = StartAt {
        left: events.len() * 2 / 3,
        events: events.into_iter(),
        start: Some(start),
    };
    let import = store.import_stream_from(new, Box::new(events), origin);
    // Blocking this thread while it reads holds up no store call: the import is
    // written on the store's own threads, and polled again once the read is done.
    let next = async move { started.await.ok().map(|()| read_next()) };
    tokio::join!(import, next)
}

/// `events`, sending on `start` once `left` of them have been taken (at once
/// when there are none); dropped before that, `start` is dropped unsent.
struct StartAt {
    events: std::vec::IntoIter<Event>,
    left: usize,
    start: Option<oneshot::Sender<()>>,
}

impl Iterator for StartAt {
    type Item = cairn_core::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            if let Some(start) = self.start.take() {
                // The receiver is gone only when the import is over.
                let _ = start.send(());
            }
        } else {
            self.left -= 1;
        }
        self.events.next().map(Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::{Payload, Timestamp};

    fn events(n: u64) -> Vec<Event> {
        (1..=n)
            .map(|seq| Event {
                seq,
                ts: Timestamp::now(),
                payload: Payload::Other {
                    kind: "note".into(),
                    fields: serde_json::Map::new(),
                },
            })
            .collect()
    }

    #[test]
    fn the_signal_comes_once_two_thirds_are_taken() {
        let (start, mut started) = oneshot::channel();
        let mut iter = StartAt {
            left: 6 * 2 / 3,
            events: events(6).into_iter(),
            start: Some(start),
        };
        for _ in 0..4 {
            assert!(iter.next().is_some());
            assert!(started.try_recv().is_err());
        }
        assert!(iter.next().is_some());
        assert_eq!(started.try_recv(), Ok(()));
    }

    #[test]
    fn no_events_signal_at_the_first_look_and_a_stopped_import_never() {
        let (start, mut started) = oneshot::channel();
        let mut empty = StartAt {
            left: 0,
            events: Vec::new().into_iter(),
            start: Some(start),
        };
        assert!(empty.next().is_none());
        assert_eq!(started.try_recv(), Ok(()));

        let (start, mut started) = oneshot::channel();
        let mut stopped = StartAt {
            left: 2,
            events: events(3).into_iter(),
            start: Some(start),
        };
        assert!(stopped.next().is_some());
        drop(stopped);
        assert_eq!(
            started.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        );
    }
}
