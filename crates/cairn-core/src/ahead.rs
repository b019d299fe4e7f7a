//! Producing an iterator's items on a thread of its own, a bounded number ahead
//! of the consumer: an import parses (and prepares) the next events while the
//! store writes the ones before, and memory stays bounded by the queue.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::{Error, Result};

/// An item, or `None`: the input ended (without it, a producer that died would
/// look like the end).
type Item<T> = Option<Result<T>>;

/// The items of [`ahead`], in order; it ends after the first `Err`.
pub struct Ahead<T> {
    rx: Option<Receiver<Item<T>>>,
    /// The producer's thread, for the messages ("the import's reading thread").
    thread: &'static str,
    failed: Option<Error>,
    done: bool,
}

/// `items`, produced on a thread named `name` at most `depth` items ahead.
/// Dropping the result stops the producer at its next item.
pub fn ahead<T, I>(name: &str, thread: &'static str, depth: usize, items: I) -> Ahead<T>
where
    T: Send + 'static,
    I: Iterator<Item = Result<T>> + Send + 'static,
{
    let (tx, rx) = sync_channel(depth);
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || produce(items, &tx));
    match spawned {
        Ok(_) => Ahead {
            rx: Some(rx),
            thread,
            failed: None,
            done: false,
        },
        Err(e) => Ahead {
            rx: None,
            thread,
            failed: Some(Error::io(format!("cannot start {thread}"), e)),
            done: false,
        },
    }
}

fn produce<T, I>(items: I, tx: &SyncSender<Item<T>>)
where
    I: Iterator<Item = Result<T>>,
{
    for item in items {
        let failed = item.is_err();
        // The consumer stopped reading (it failed): nothing more is wanted.
        if tx.send(Some(item)).is_err() || failed {
            return;
        }
    }
    let _ = tx.send(None);
}

impl<T> Iterator for Ahead<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(e) = self.failed.take() {
            self.done = true;
            return Some(Err(e));
        }
        let received = self.rx.as_ref().map(Receiver::recv);
        match received {
            Some(Ok(Some(item))) => {
                self.done = item.is_err();
                Some(item)
            }
            Some(Ok(None)) | None => {
                self.done = true;
                None
            }
            Some(Err(_)) => {
                self.done = true;
                Some(Err(Error::Storage(format!(
                    "{} stopped before the end of its input",
                    self.thread
                ))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_every_item_in_order_and_stops_at_the_first_error() {
        let items: Vec<u32> = ahead("t", "the test's thread", 4, (1..=200).map(Ok))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(items, (1..=200).collect::<Vec<_>>());
        let items: Vec<Result<u32>> = ahead(
            "t",
            "the test's thread",
            4,
            (1..=3)
                .map(Ok)
                .chain([Err(Error::invalid("line 4: bad"))])
                .chain((5..=9).map(Ok)),
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
    fn a_producer_that_dies_is_an_error_not_the_end() {
        let dying = (1..=3).map(|n| {
            if n == 3 {
                panic!("producer died");
            }
            Ok(n)
        });
        let items: Vec<Result<u32>> = ahead("t", "the test's thread", 4, dying).collect();
        assert_eq!(items.len(), 3);
        assert!(
            items[2]
                .as_ref()
                .is_err_and(|e| e.to_string().contains("the test's thread stopped"))
        );
    }
}
