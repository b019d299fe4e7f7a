//! The embedded SQLite store behind [`cairn_core::Store`].
//!
//! One file (WAL mode) holds sessions, the event log, the full-text index,
//! knowledge, attachments, checkpoints, the agent pool and leases. Several cairn
//! processes may use it at once: writes take `BEGIN IMMEDIATE` and whole
//! transactions are retried while another process holds the lock. Blocking SQLite
//! work runs on tokio's blocking pool, so any runtime flavour can call it, or on
//! the calling thread when the caller asked for that
//! (`cairn_core::store_calls::on_calling_thread`).

mod agent_pool;
mod attachments;
mod authors;
mod changes;
mod checkpoints;
mod connections;
mod copies;
mod dictionary;
mod event_codes;
mod events;
mod fail;
mod import_origins;
mod lean_rows;
mod leases;
mod lineage;
pub mod migrations;
mod options;
mod payloads;
mod phrases;
mod prepared;
mod progress_import;
mod project_keys;
mod project_knowledge;
mod search;
mod search_text;
mod sessions;
mod space;
mod store_impl;
mod time;
mod wal_checkpoints;
mod write_groups;
mod zstd_pool;

use std::path::Path;
use std::sync::Arc;

use cairn_core::{Error, Result, Store, StoreChange};
use rusqlite::{Connection, Transaction};
use tokio::sync::Semaphore;

use crate::changes::Changes;
use crate::connections::Connections;
use crate::fail::R;

pub use crate::changes::WATCH_INTERVAL;
pub use crate::options::{SqliteOptions, Synchronous};

/// The SQLite store. Cheap to clone; clones share the connections, the change
/// feed and the limits on calls in flight.
#[derive(Clone)]
pub struct SqliteStore {
    connections: Arc<Connections>,
    changes: Arc<Changes>,
    /// Calls beyond these wait as tasks, not as blocking threads: 200 readers at
    /// once (a daemon's watchers) otherwise took 200 threads and opened 200
    /// connections, and the allocator kept what they had used.
    reads_in_flight: Arc<Semaphore>,
    writes_in_flight: Arc<Semaphore>,
}

/// Registers on `conn` the SQL functions the store's schema names (in views,
/// triggers and the full-text indexes' content), which every connection of the
/// store has; a program that opens the file with plain SQLite needs them before it
/// changes the schema (tests that take a store back to an older version do).
pub fn register_sql_functions(conn: &Connection) -> rusqlite::Result<()> {
    search_text::register(conn)?;
    payloads::register(conn)
}

/// Opens (creating it, private to the user, when absent) the store at `path`.
pub fn open_store(path: &Path, synchronous: Synchronous) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(SqliteStore::open(path, synchronous)?))
}

impl SqliteStore {
    /// Opens the store at `path`, creating its directory (0700) and file (0600) when
    /// absent and applying pending migrations. A file that is not a cairn store, or
    /// one written by a newer cairn, gives `StoreUnusable` and is left untouched.
    pub fn open(path: &Path, synchronous: Synchronous) -> Result<Self> {
        Ok(SqliteStore {
            connections: Arc::new(Connections::open(path, synchronous)?),
            changes: Arc::new(Changes::new()),
            reads_in_flight: Arc::new(Semaphore::new(connections::MAX_IDLE_READERS)),
            // One write runs and the rest wait to be committed with the next
            // group; more would only wait for a later one.
            writes_in_flight: Arc::new(Semaphore::new(write_groups::MAX_GROUP)),
        })
    }

    pub fn path(&self) -> &Path {
        self.connections.path()
    }

    /// A full check (slow on a big store; never run on open): SQLite's
    /// `integrity_check` and the full-text index checked against the events.
    /// `StoreUnusable` describes the first problems found.
    pub async fn check_integrity(&self) -> Result<()> {
        let path = self.path().to_path_buf();
        // The FTS check is an INSERT command (it changes nothing), so it runs on
        // the writer connection.
        let problems = self
            .write(|tx| {
                let mut problems: Vec<String> = tx
                    .prepare("PRAGMA integrity_check")?
                    .query_map([], |row| row.get::<_, String>(0))?
                    .collect::<rusqlite::Result<Vec<_>>>()?
                    .into_iter()
                    .filter(|line| line != "ok")
                    .collect();
                if let Err(e) = tx.execute(
                    "INSERT INTO event_fts (event_fts, rank) VALUES ('integrity-check', 1)",
                    [],
                ) {
                    problems.push(format!("full-text index: {e}"));
                }
                Ok(problems)
            })
            .await?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::StoreUnusable {
                path,
                message: format!("integrity check failed: {}", problems.join("; ")),
            })
        }
    }

    fn announce(&self, change: StoreChange) {
        self.changes.announce(change);
    }

    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<StoreChange> {
        self.changes.subscribe(&self.connections)
    }

    async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&Transaction<'_>) -> R<T> + Send + 'static,
    {
        if cairn_core::store_calls::wants_calling_thread() {
            return self.connections.read(work);
        }
        self.on_blocking_thread(&self.reads_in_flight, move |c| c.read(work))
            .await
    }

    async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&Transaction<'_>) -> R<T> + Send + 'static,
    {
        if cairn_core::store_calls::wants_calling_thread() {
            return self.connections.write(work);
        }
        self.on_blocking_thread(&self.writes_in_flight, move |c| c.write(work))
            .await
    }

    /// Runs `work` on the writer connection outside any transaction (vacuum and
    /// checkpoints cannot run inside one), on a blocking thread, with the store
    /// file's path.
    async fn outside_transaction<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connection, &Path) -> R<T> + Send + 'static,
    {
        self.on_blocking_thread(&self.writes_in_flight, move |c| {
            let path = c.path().to_path_buf();
            c.on_writer(|conn| work(conn, &path))
        })
        .await
    }

    /// Runs `work` on a blocking thread once `limit` gives it a turn; the turn ends
    /// when the work does, even if the caller stopped waiting for it.
    async fn on_blocking_thread<T>(
        &self,
        limit: &Arc<Semaphore>,
        work: impl FnOnce(&Connections) -> Result<T> + Send + 'static,
    ) -> Result<T>
    where
        T: Send + 'static,
    {
        let connections = Arc::clone(&self.connections);
        let turn = Arc::clone(limit)
            .acquire_owned()
            .await
            .map_err(|e| Error::Storage(format!("store task failed: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            work(&connections)
        })
        .await
        .map_err(|e| Error::Storage(format!("store task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use std::thread::{ThreadId, current};

    use cairn_core::store_calls::on_calling_thread;

    use super::*;

    #[tokio::test]
    async fn transactions_run_on_the_calling_thread_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("store.db"), Synchronous::Normal).unwrap();
        let here = current().id();
        let thread = |_: &Transaction<'_>| -> R<ThreadId> { Ok(current().id()) };
        assert_ne!(store.read(thread).await.unwrap(), here);
        assert_ne!(store.write(thread).await.unwrap(), here);
        assert_eq!(on_calling_thread(store.read(thread)).await.unwrap(), here);
        assert_eq!(on_calling_thread(store.write(thread)).await.unwrap(), here);
    }

    /// A burst of calls waits for turns instead of taking a blocking thread (and, for
    /// reads, a connection) each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_calls_runs_a_bounded_few_at_a_time() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("store.db"), Synchronous::Normal).unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let call = |running: Arc<AtomicUsize>, most: Arc<AtomicUsize>| {
            move |_: &Transaction<'_>| -> R<()> {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(5));
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        };
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..48 {
            let store = store.clone();
            let work = call(running.clone(), most.clone());
            calls.spawn(async move {
                if i % 4 == 0 {
                    store.write(work).await
                } else {
                    store.read(work).await
                }
            });
        }
        while let Some(done) = calls.join_next().await {
            done.unwrap().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        // At most every reader and the writer at once (and so no reader connection
        // beyond those kept for reuse is ever opened).
        assert!(
            most <= connections::MAX_IDLE_READERS + 1,
            "{most} calls ran at once"
        );
        assert!(most >= 2, "reads no longer run side by side: {most}");
    }
}
