//! Group commit: who runs which write. Writes that arrive while another thread
//! leads (holds the writer) wait in a queue; the next leader runs the queued
//! works in one transaction ([`crate::connections`] runs it, each work in its own
//! savepoint) and commits once. A save writes ~16 pages (its row, the indexes, a
//! full-text segment); a group writes the pages its members share once, so 32
//! MCP clients no longer queue behind 32 commits one after the other.
//!
//! A write that finds nobody leading leads and runs alone, exactly as without
//! groups (no savepoint, no allocation). When a leader is done it hands the lead
//! to the oldest queued write, whose own thread then runs the queue (at most
//! [`MAX_GROUP`] works, oldest first) as one group. Every leader runs one
//! transaction, so nobody waits on a leader that keeps serving others.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use cairn_core::{Error, Result};
use rusqlite::Transaction;

use crate::connections::lock;
use crate::fail::{Fail, R};

/// Works one group runs at most: ~110 µs of CPU each for a save, so a few ms.
/// Also how many writes `SqliteStore` lets wait for the writer at once.
pub(crate) const MAX_GROUP: usize = 32;

#[derive(Default)]
pub(crate) struct WriteQueue {
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    /// A thread holds the lead: it runs a write or a group, and hands the lead on.
    leading: bool,
    queued: VecDeque<Box<dyn Member>>,
}

/// What [`WriteQueue::join`] gives a write.
pub(crate) enum Turn<'a, F, T> {
    /// Nobody was leading: run the work alone now; the lead passes on when
    /// [`Lead`] is dropped.
    Lead(F, Lead<'a>),
    /// The work is queued; the ticket gives its result (or hands the lead).
    Wait(Arc<Ticket<T>>),
}

impl WriteQueue {
    pub(crate) fn join<T, F>(&self, work: F) -> Turn<'_, F, T>
    where
        F: FnMut(&Transaction<'_>) -> R<T> + Send + 'static,
        T: Send + 'static,
    {
        let mut state = lock(&self.state);
        if !state.leading {
            state.leading = true;
            return Turn::Lead(work, Lead(self));
        }
        let ticket = Arc::new(Ticket {
            answer: Mutex::new(Answer::Waiting),
            ready: Condvar::new(),
        });
        state.queued.push_back(Box::new(Queued {
            work,
            outcome: None,
            ticket: Arc::clone(&ticket),
            answered: false,
        }));
        Turn::Wait(ticket)
    }

    /// For the thread a [`Ticket`] handed the lead: the guard that hands it on.
    pub(crate) fn handed_lead(&self) -> Lead<'_> {
        Lead(self)
    }

    /// The works the leader runs as its group, oldest first.
    pub(crate) fn take_group(&self) -> Vec<Box<dyn Member>> {
        let mut state = lock(&self.state);
        let count = state.queued.len().min(MAX_GROUP);
        state.queued.drain(..count).collect()
    }

    /// Whether a thread leads, and how many writes wait.
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> (bool, usize) {
        let state = lock(&self.state);
        (state.leading, state.queued.len())
    }
}

/// Held by the thread that leads; dropping it (also on a panic) gives the lead to
/// the oldest queued write, or to nobody.
pub(crate) struct Lead<'a>(&'a WriteQueue);

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        match state.queued.front() {
            Some(next) => next.lead(),
            None => state.leading = false,
        }
    }
}

/// Where a queued write's caller waits for its result.
pub(crate) struct Ticket<T> {
    answer: Mutex<Answer<T>>,
    ready: Condvar,
}

enum Answer<T> {
    Waiting,
    /// The caller's thread leads now: it runs the queue as a group.
    Lead,
    Done(Result<T>),
}

impl<T> Ticket<T> {
    /// Waits for the write's result, running `lead` (a group) when handed the lead.
    pub(crate) fn wait(&self, mut lead: impl FnMut()) -> Result<T> {
        let mut answer = lock(&self.answer);
        loop {
            match std::mem::replace(&mut *answer, Answer::Waiting) {
                Answer::Waiting => {
                    answer = self
                        .ready
                        .wait(answer)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Answer::Lead => {
                    drop(answer);
                    lead();
                    answer = lock(&self.answer);
                }
                Answer::Done(result) => return result,
            }
        }
    }

    fn set(&self, answer: Answer<T>) {
        *lock(&self.answer) = answer;
        self.ready.notify_one();
    }
}

/// A queued write, its work's and result's types erased.
pub(crate) trait Member: Send {
    /// Runs the work in the group's transaction, keeping its value; a failure is
    /// the runner's to handle (undo this work alone, or retry the whole group).
    fn run(&mut self, tx: &Transaction<'_>) -> R<()>;
    /// This work's own failure, answered once the group is done.
    fn refuse(&mut self, fail: Fail);
    /// Gives the caller its result: the work's own when the group committed
    /// (`group` is `Ok`), else the group's error.
    fn answer(self: Box<Self>, path: &Path, group: std::result::Result<(), &Error>);
    /// Tells the waiting caller that its thread leads now.
    fn lead(&self);
}

struct Queued<T, F> {
    work: F,
    outcome: Option<R<T>>,
    ticket: Arc<Ticket<T>>,
    answered: bool,
}

impl<T, F> Member for Queued<T, F>
where
    F: FnMut(&Transaction<'_>) -> R<T> + Send,
    T: Send,
{
    fn run(&mut self, tx: &Transaction<'_>) -> R<()> {
        // A retried group runs every work again.
        self.outcome = None;
        let value = (self.work)(tx)?;
        self.outcome = Some(Ok(value));
        Ok(())
    }

    fn refuse(&mut self, fail: Fail) {
        self.outcome = Some(Err(fail));
    }

    fn answer(mut self: Box<Self>, path: &Path, group: std::result::Result<(), &Error>) {
        let result = match (group, self.outcome.take()) {
            (Err(e), _) => Err(copy_of(e)),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Ok(()), Some(Err(fail))) => Err(fail.into_error(path)),
            (Ok(()), None) => Err(Error::Storage(
                "a store write was left out of its group's transaction".into(),
            )),
        };
        self.answered = true;
        self.ticket.set(Answer::Done(result));
    }

    fn lead(&self) {
        self.ticket.set(Answer::Lead);
    }
}

impl<T, F> Drop for Queued<T, F> {
    fn drop(&mut self) {
        // A leader that failed before answering (it panicked outside the works)
        // must not leave the caller waiting forever.
        if !self.answered {
            self.ticket.set(Answer::Done(Err(Error::Storage(
                "a store write was dropped before its group committed".into(),
            ))));
        }
    }
}

/// The group's error for each of its callers. A group fails on SQLite (busy past
/// the retry budget, a full disk, a damaged file), so the kinds that matter keep
/// their variant.
fn copy_of(e: &Error) -> Error {
    match e {
        Error::StoreUnusable { path, message } => Error::StoreUnusable {
            path: path.clone(),
            message: message.clone(),
        },
        Error::DiskFull(detail) => Error::DiskFull(detail.clone()),
        Error::Storage(detail) => Error::Storage(detail.clone()),
        other => Error::Storage(other.to_string()),
    }
}

/// What a panicking work said, for its caller's error.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}
