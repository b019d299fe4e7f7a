//! WAL checkpoints off the committing thread. By default SQLite checkpoints
//! inside the commit that takes the WAL past 1,000 pages: that commit copies the
//! pages into the store file and fsyncs both files (a few ms), so one save in
//! every few dozen answers late (the MCP benchmark's tail, BENCHMARKS.md issue
//! 14). Here the writer's commit only notices that the WAL is long and wakes a
//! thread with its own connection, which runs the same PASSIVE checkpoint while
//! the next transactions go on. Durability is unchanged: a commit is written to
//! the WAL (and synced as `synchronous` says) before it returns, as before; only
//! the thread that copies the WAL into the store file changes.

use std::os::raw::c_int;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::hooks::Wal;
use rusqlite::{Connection, OpenFlags};

/// WAL length (pages) that asks for a checkpoint: SQLite's own default.
pub(crate) const CHECKPOINT_AFTER_PAGES: c_int = 1000;

/// The checkpointing thread of one store, started on first need.
#[derive(Default)]
pub(crate) struct Checkpointer {
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Installs the hook on the writer connection. `journal_size_limit` is
    /// applied by the checkpointing connection too (it is the one that
    /// finishes checkpoints).
    pub(crate) fn install(
        self: &Arc<Self>,
        writer: &mut Connection,
        path: &Path,
        journal_size_limit: i64,
    ) -> rusqlite::Result<()> {
        let checkpointer = Arc::clone(self);
        let path = path.to_path_buf();
        let mut wake: Option<SyncSender<()>> = None;
        // Once per 1,000 new pages: a checkpoint runs beside the next commits,
        // so the WAL is still long when they end; waking it on each of them
        // kept the thread checkpointing (and syncing) without pause, and the
        // WAL never got back to its start (12 times the fsyncs, measured).
        let mut next_wake = CHECKPOINT_AFTER_PAGES;
        writer.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            if pages < next_wake {
                if pages < CHECKPOINT_AFTER_PAGES {
                    // The WAL started over after a complete checkpoint.
                    next_wake = CHECKPOINT_AFTER_PAGES;
                }
                return Ok(());
            }
            next_wake = pages.saturating_add(CHECKPOINT_AFTER_PAGES);
            if wake.is_none() {
                wake = checkpointer.start(&path, journal_size_limit);
            }
            match wake.as_ref().map(|w| w.try_send(())) {
                // Woken, or already about to run.
                Some(Ok(()) | Err(TrySendError::Full(()))) => Ok(()),
                // No thread (it could not start, or it ended): checkpoint here,
                // as SQLite would have.
                Some(Err(TrySendError::Disconnected(()))) | None => {
                    wake = None;
                    wal.checkpoint()
                }
            }
        }))
    }

    fn start(&self, path: &Path, journal_size_limit: i64) -> Option<SyncSender<()>> {
        let (wake, wakes) = sync_channel(1);
        let path = path.to_path_buf();
        let started = std::thread::Builder::new()
            .name("cairn-store-checkpoint".into())
            .spawn(move || run(&path, journal_size_limit, &wakes));
        match started {
            Ok(thread) => {
                let mut slot = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
                // A thread that ended (its connection could not open) is replaced.
                if let Some(old) = slot.replace(thread) {
                    let _ = old.join();
                }
                Some(wake)
            }
            Err(e) => {
                tracing::warn!("cannot start the store's checkpoint thread: {e}");
                None
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn is_running(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|thread| !thread.is_finished())
    }

    /// Waits for the thread to end; the caller has dropped the writer's hook
    /// (and so the thread's wake-up channel) first.
    pub(crate) fn join(&self) {
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

fn run(path: &Path, journal_size_limit: i64, wakes: &Receiver<()>) {
    let conn = match Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|conn| {
        conn.pragma_update(None, "journal_size_limit", journal_size_limit)?;
        Ok(conn)
    }) {
        Ok(conn) => conn,
        Err(e) => {
            // Dropping `wakes` makes the writer checkpoint by itself again.
            tracing::warn!("cannot open the store for checkpoints: {e}");
            return;
        }
    };
    // Ends when the writer connection (and its hook) is gone.
    while wakes.recv().is_ok() {
        // PASSIVE: copies what no reader still needs, never waits for a lock.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!("background WAL checkpoint: {e}");
        }
    }
}
