//! Producing an iterator's items on a thread of its own, ahead of the consumer: an
//! import parses and prepares the next events while the store writes the ones
//! before. Items travel in batches bounded by their weight (about their bytes), so
//! memory stays bounded by the queue and the two threads hand over once per batch,
//! not once per item (an import of 40,000 events made 98,000 futex calls).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::{Error, Result};

/// How far ahead the producer may run: `depth` batches queued, each closed when its
/// items weigh `bytes` together (or hold `items`, whichever comes first).
#[derive(Clone, Copy, Debug)]
pub struct Batches {
    pub depth: usize,
    pub bytes: usize,
    pub items: usize,
}

/// A batch, an error, or `None`: the input ended (without it, a producer that died
/// would look like the end).
type Message<T> = Option<Result<Vec<T>>>;

/// The items of [`ahead`], in order; it ends after the first `Err`.
pub struct Ahead<T> {
    rx: Option<Receiver<Message<T>>>,
    /// The producer's thread, for the messages ("the import's reading thread").
    thread: &'static str,
    batch: std::vec::IntoIter<T>,
    failed: Option<Error>,
    done: bool,
}

/// `items`, produced on a thread named `name` at most `batches` ahead; `weight`
/// is an item's size for the batch bound. Dropping the result stops the producer at
/// its next batch.
pub fn ahead<T, I, W>(
    name: &str,
    thread: &'static str,
    batches: Batches,
    weight: W,
    items: I,
) -> Ahead<T>
where
    T: Send + 'static,
    I: Iterator<Item = Result<T>> + Send + 'static,
    W: Fn(&T) -> usize + Send + 'static,
{
    let (tx, rx) = sync_channel(batches.depth);
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || produce(items, &weight, batches, &tx));
    let (rx, failed) = match spawned {
        Ok(_) => (Some(rx), None),
        Err(e) => (None, Some(Error::io(format!("cannot start {thread}"), e))),
    };
    Ahead {
        rx,
        thread,
        batch: Vec::new().into_iter(),
        failed,
        done: false,
    }
}

fn produce<T, I, W>(items: I, weight: &W, batches: Batches, tx: &SyncSender<Message<T>>)
where
    I: Iterator<Item = Result<T>>,
    W: Fn(&T) -> usize,
{
    let mut batch = Vec::new();
    let mut bytes = 0;
    for item in items {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                // What came before the error is still the consumer's, in order.
                if !batch.is_empty() && tx.send(Some(Ok(batch))).is_err() {
                    return;
                }
                let _ = tx.send(Some(Err(e)));
                return;
            }
        };
        bytes += weight(&item);
        batch.push(item);
        if bytes >= batches.bytes || batch.len() >= batches.items {
            bytes = 0;
            // The consumer stopped reading (it failed): nothing more is wanted.
            if tx.send(Some(Ok(std::mem::take(&mut batch)))).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() && tx.send(Some(Ok(batch))).is_err() {
        return;
    }
    let _ = tx.send(None);
}

impl<T> Iterator for Ahead<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.batch.next() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            if let Some(e) = self.failed.take() {
                self.done = true;
                return Some(Err(e));
            }
            let received = self.rx.as_ref().map(Receiver::recv);
            match received {
                Some(Ok(Some(Ok(batch)))) => self.batch = batch.into_iter(),
                Some(Ok(Some(Err(e)))) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(None)) | None => {
                    self.done = true;
                    return None;
                }
                Some(Err(_)) => {
                    self.done = true;
                    return Some(Err(Error::Storage(format!(
                        "{} stopped before the end of its input",
                        self.thread
                    ))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One item per batch, as the queue was before batches.
    const SINGLE: Batches = Batches {
        depth: 4,
        bytes: 1,
        items: 1,
    };

    fn weight(_: &u32) -> usize {
        1
    }

    #[test]
    fn passes_every_item_in_order_and_stops_at_the_first_error() {
        for batches in [
            SINGLE,
            Batches {
                depth: 2,
                bytes: 7,
                items: 1000,
            },
        ] {
            let items: Vec<u32> =
                ahead("t", "the test's thread", batches, weight, (1..=200).map(Ok))
                    .map(|r| r.unwrap())
                    .collect();
            assert_eq!(items, (1..=200).collect::<Vec<_>>());
            let items: Vec<Result<u32>> = ahead(
                "t",
                "the test's thread",
                batches,
                weight,
                (1..=3)
                    .map(Ok)
                    .chain([Err(Error::invalid("line 4: bad"))])
                    .chain((5..=9).map(Ok)),
            )
            .collect();
            assert_eq!(items.len(), 4);
            assert!(items[..3].iter().all(Result::is_ok));
            assert!(
                items[3]
                    .as_ref()
                    .is_err_and(|e| e.to_string().contains("line 4"))
            );
        }
    }

    /// Batches close by weight or by count, so a queue of heavy items holds few
    /// of them and the consumer sees each batch whole.
    #[test]
    fn a_batch_closes_at_its_weight_or_its_count() {
        use std::sync::{Arc, Mutex};
        // What the producer had produced when the consumer took each item.
        let produced = Arc::new(Mutex::new(0u32));
        let counter = Arc::clone(&produced);
        let items = (1..=40u32).map(move |n| {
            *counter.lock().unwrap() = n;
            Ok(n)
        });
        let batches = Batches {
            depth: 1,
            bytes: 10,
            items: 1000,
        };
        // Items 1 to 10 weigh 10 each: one batch per item; the rest weigh 1.
        let heavy = |n: &u32| if *n <= 10 { 10 } else { 1 };
        let mut ahead_of_consumer = Vec::new();
        for item in ahead("t", "the test's thread", batches, heavy, items) {
            let n = item.unwrap();
            ahead_of_consumer.push(*produced.lock().unwrap() - n);
        }
        // A queue of one batch of at most 10 in weight, one batch being built
        // and one in the consumer's hands: never 30 items ahead.
        assert!(
            ahead_of_consumer.iter().all(|&ahead| ahead <= 30),
            "{ahead_of_consumer:?}"
        );
        let by_count = Batches {
            depth: 1,
            bytes: usize::MAX,
            items: 3,
        };
        let items: Vec<u32> = ahead("t", "the test's thread", by_count, weight, (1..=10).map(Ok))
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(items, (1..=10).collect::<Vec<_>>());
    }

    #[test]
    fn a_producer_that_dies_is_an_error_not_the_end() {
        let dying = (1..=3).map(|n| {
            if n == 3 {
                panic!("producer died");
            }
            Ok(n)
        });
        let items: Vec<Result<u32>> =
            ahead("t", "the test's thread", SINGLE, weight, dying).collect();
        assert_eq!(items.len(), 3);
        assert!(
            items[2]
                .as_ref()
                .is_err_and(|e| e.to_string().contains("the test's thread stopped"))
        );
    }
}
