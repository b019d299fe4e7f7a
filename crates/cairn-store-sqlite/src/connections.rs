//! Opening the store file and running transactions on it: one writer connection
//! behind a mutex (SQLite has one writer at a time anyway) and a few reader
//! connections, which WAL lets run beside the writer. Writes that arrive while
//! another runs are committed together (group commit, `write_groups.rs`). Every
//! transaction is retried as a whole with backoff when another process holds a
//! lock, so "database is locked" never reaches a user.
//!
//! The connection that checks and migrates the file on open becomes the first
//! reader; the writer is opened on the first write. A command that only reads
//! (`sessions context`, a resume's first look) opens, and reads the schema of,
//! one connection instead of two.

use std::fs::{DirBuilder, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use cairn_core::{Error, Result};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::fail::{Fail, R, sql_error};
use crate::migrations::{LATEST_VERSION, REBUILT_TABLES_VERSION, apply_missing, user_version};
use crate::options::Synchronous;
use crate::wal_checkpoints::Checkpointer;
use crate::write_groups::{Member, Turn, WriteQueue, panic_message};

/// How long SQLite itself waits for a lock before reporting busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole transaction keeps being retried while the store is busy.
const RETRY_BUDGET: Duration = Duration::from_secs(120);
const FIRST_BACKOFF: Duration = Duration::from_millis(2);
const MAX_BACKOFF: Duration = Duration::from_millis(250);
/// Reader connections kept for reuse; also how many reads run at once (`SqliteStore`
/// queues the rest), so a burst of reads reuses these instead of opening new ones.
pub(crate) const MAX_IDLE_READERS: usize = 4;
/// Truncate the WAL back to this size after checkpoints (a big import grows it).
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

pub(crate) struct Connections {
    path: PathBuf,
    synchronous: Synchronous,
    /// Opened on first use ([`Connections::writer`]).
    writer: Mutex<Option<Connection>>,
    /// Who runs the next write, and the writes waiting to be run as a group.
    writes: WriteQueue,
    readers: Mutex<Vec<Connection>>,
    checkpointer: Arc<Checkpointer>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock rolled its transaction back on unwind; the
    // connection itself is still sound.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Connections {
    pub(crate) fn open(path: &Path, synchronous: Synchronous) -> Result<Self> {
        create_private_file(path)?;
        let first = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        prepare_store(path, &first, synchronous)?;
        let reader = into_reader(path, first)?;
        Ok(Connections {
            path: path.to_path_buf(),
            synchronous,
            writer: Mutex::new(None),
            writes: WriteQueue::default(),
            readers: Mutex::new(vec![reader]),
            checkpointer: Arc::new(Checkpointer::default()),
        })
    }

    /// The writer connection, opened (with its per-connection settings and the
    /// checkpoint hook) on first use.
    fn writer(&self) -> Result<MutexGuard<'_, Option<Connection>>> {
        let mut slot = lock(&self.writer);
        if slot.is_none() {
            let mut writer = open_connection(&self.path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            configure_writer(&self.path, &writer, self.synchronous)?;
            // Commits leave WAL checkpoints to a thread of their own.
            self.checkpointer
                .install(&mut writer, &self.path, JOURNAL_SIZE_LIMIT)
                .map_err(|e| sql_error(&self.path, e))?;
            *slot = Some(writer);
        }
        Ok(slot)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` in a `BEGIN IMMEDIATE` transaction, retried while busy: its own
    /// when no other write runs, else the one of the next group (see
    /// `write_groups.rs`). `Ok` comes only once a commit holding the work succeeded.
    pub(crate) fn write<T, F>(&self, work: F) -> Result<T>
    where
        F: FnMut(&Transaction<'_>) -> R<T> + Send + 'static,
        T: Send + 'static,
    {
        match self.writes.join(work) {
            Turn::Lead(work, lead) => {
                let result = self.write_alone(work);
                drop(lead);
                result
            }
            Turn::Wait(ticket) => ticket.wait(|| self.lead_group()),
        }
    }

    fn write_alone<T>(&self, mut work: impl FnMut(&Transaction<'_>) -> R<T>) -> Result<T> {
        let mut slot = self.writer()?;
        let conn = opened(&mut slot, &self.path)?;
        with_retry(&self.path, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    /// Runs the queued writes as one group, on the thread that was handed the lead.
    fn lead_group(&self) {
        let lead = self.writes.handed_lead();
        let mut group = self.writes.take_group();
        let outcome = self.writer().and_then(|mut slot| {
            let conn = opened(&mut slot, &self.path)?;
            run_group(conn, &self.path, &mut group)
        });
        // The next leader may start while this thread wakes the callers.
        drop(lead);
        for member in group {
            member.answer(&self.path, outcome.as_ref().map(|_| ()));
        }
    }

    /// Runs `work` on the writer connection outside any transaction (for pragmas
    /// that cannot run inside one, like a WAL checkpoint), retried while busy.
    pub(crate) fn on_writer<T>(&self, mut work: impl FnMut(&Connection) -> R<T>) -> Result<T> {
        let mut slot = self.writer()?;
        let conn = opened(&mut slot, &self.path)?;
        with_retry(&self.path, || work(conn))
    }

    /// SQLite's `data_version` as the writer connection sees it: it changes when
    /// another connection (another process) committed.
    pub(crate) fn data_version(&self) -> Result<i64> {
        let mut slot = self.writer()?;
        opened(&mut slot, &self.path)?
            .query_row("PRAGMA data_version", [], |row| row.get(0))
            .map_err(|e| sql_error(&self.path, e))
    }

    /// Runs `work` in one read transaction (a consistent snapshot), retried while busy.
    pub(crate) fn read<T>(&self, mut work: impl FnMut(&Transaction<'_>) -> R<T>) -> Result<T> {
        let idle = lock(&self.readers).pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => into_reader(
                &self.path,
                open_connection(&self.path, OpenFlags::SQLITE_OPEN_READ_WRITE)?,
            )?,
        };
        let result = with_retry(&self.path, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let value = work(&tx)?;
            tx.commit()?;
            Ok(value)
        });
        let mut idle = lock(&self.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        // The checkpoint thread ends (and closes its connection) before the
        // writer closes, so the last connection to close is still this
        // process's writer or a reader, which checkpoints and removes the WAL
        // as SQLite always does.
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(writer) = writer {
            let _ = writer.wal_hook(
                None::<fn(&mut rusqlite::hooks::Wal, std::os::raw::c_int) -> rusqlite::Result<()>>,
            );
        }
        self.checkpointer.join();
    }
}

/// The connection in a slot [`Connections::writer`] filled.
fn opened<'a>(slot: &'a mut Option<Connection>, path: &Path) -> Result<&'a mut Connection> {
    slot.as_mut().ok_or_else(|| Error::StoreUnusable {
        path: path.to_path_buf(),
        message: "its writer connection is not open".into(),
    })
}

/// A connection that can only read (SQLite refuses its writes).
fn into_reader(path: &Path, conn: Connection) -> Result<Connection> {
    conn.execute_batch("PRAGMA query_only = ON")
        .map_err(|e| sql_error(path, e))?;
    Ok(conn)
}

/// Runs `group` in one transaction, each work in its own savepoint: a work that
/// fails or panics is undone alone and only its caller gets the error. Busy (or a
/// failure that ended the transaction) runs the whole group again or fails it.
fn run_group(conn: &mut Connection, path: &Path, group: &mut [Box<dyn Member>]) -> Result<()> {
    with_retry(path, || {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for member in group.iter_mut() {
            tx.prepare_cached("SAVEPOINT group_member")?.execute([])?;
            let fail = match catch_unwind(AssertUnwindSafe(|| member.run(&tx))) {
                Ok(Ok(())) => {
                    tx.prepare_cached("RELEASE group_member")?.execute([])?;
                    continue;
                }
                Ok(Err(fail)) if fail.is_busy() || tx.is_autocommit() => return Err(fail),
                Ok(Err(fail)) => fail,
                Err(panic) => Fail::Domain(Error::Storage(format!(
                    "a store write panicked: {}",
                    panic_message(panic.as_ref())
                ))),
            };
            tx.execute_batch("ROLLBACK TO group_member; RELEASE group_member")?;
            member.refuse(fail);
        }
        tx.commit()?;
        Ok(())
    })
}

fn with_retry<T>(path: &Path, mut attempt: impl FnMut() -> R<T>) -> Result<T> {
    let deadline = Instant::now() + RETRY_BUDGET;
    let mut backoff = FIRST_BACKOFF;
    loop {
        match attempt() {
            Err(fail) if fail.is_busy() && Instant::now() < deadline => {
                std::thread::sleep(backoff + jitter(backoff));
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            other => return other.map_err(|fail| fail.into_error(path)),
        }
    }
}

/// Up to `scale` of extra wait, so processes that collided do not retry in step.
fn jitter(scale: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seed = u64::from(nanos ^ std::process::id().rotate_left(16));
    let max = scale.as_micros().max(1) as u64;
    Duration::from_micros(seed % max)
}

/// Creates the store's directory (0700) and file (0600) before SQLite opens it;
/// SQLite gives the -wal and -shm files the same mode as the database file.
fn create_private_file(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                Error::io(
                    format!("cannot create store directory {}", dir.display()),
                    e,
                )
            })?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(
            format!("cannot create store file {}", path.display()),
            e,
        )),
    }
}

fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| sql_error(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| sql_error(path, e))?;
    // Plans must not depend on bound values: with STAT4 compiled in, SQLite otherwise
    // re-prepares a cached statement whenever a new value is bound (measured: 99 of
    // 100 checkpoint reads, about 12% of the MCP server's CPU). Our queries are
    // equality and range lookups on indexes; no plan gains from the values.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(|e| sql_error(path, e))?;
    crate::register_sql_functions(&conn).map_err(|e| sql_error(path, e))?;
    Ok(conn)
}

/// Checks the file is ours (and not newer than this code), switches it to WAL and
/// brings its schema up to date. Cheap when nothing is to be done: two pragmas.
fn prepare_store(path: &Path, conn: &Connection, synchronous: Synchronous) -> Result<()> {
    // Reading the header first: a file that is not a database fails here, before
    // anything could write to it. Version and tables are read in one snapshot: read
    // apart, another process finishing its migration in between would make a fresh
    // cairn store look foreign.
    let (version, foreign_tables) = with_retry(path, || {
        let tx = Transaction::new_unchecked(conn, TransactionBehavior::Deferred)?;
        let version = user_version(&tx)?;
        let tables = table_count(&tx)?;
        tx.commit()?;
        Ok((version, tables))
    })?;
    if version > LATEST_VERSION {
        return Err(newer_schema(path, version));
    }
    if version == 0 && foreign_tables > 0 {
        return Err(foreign_store(path));
    }
    if version == 0 {
        // Only takes effect before the first table: a new store gives the pages a
        // deletion frees back to the file system (`space::reclaim`).
        with_retry(path, || {
            Ok(conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL")?)
        })?;
    }
    let mode: String = with_retry(path, || {
        Ok(conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?)
    })?;
    if !mode.eq_ignore_ascii_case("wal") {
        with_retry(path, || {
            Ok(conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
                row.get::<_, String>(0)
            })?)
        })?;
    }
    if version < LATEST_VERSION {
        // An existing store whose tables and message index the missing steps
        // rebuild (steps 17 and 18).
        let rebuilds = version > 0 && version < REBUILT_TABLES_VERSION;
        if rebuilds {
            // About 2 s per 100 MB of history (BENCHMARKS.md), once: say why this
            // open is slow.
            tracing::info!(
                "upgrading the store {} from schema {version} to {LATEST_VERSION} \
                 (once; about 2 s per 100 MB of history)",
                path.display()
            );
        }
        // Migrations write (and sort, for new indexes) as the writer would.
        configure_writer(path, conn, synchronous)?;
        with_retry(path, || {
            // IMMEDIATE: two processes migrating a new store at once serialize, and
            // the second finds the steps applied.
            let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
            let version = user_version(&tx)?;
            if version > LATEST_VERSION {
                return Ok(Err(newer_schema(path, version)));
            }
            if version == 0 && table_count(&tx)? > 0 {
                return Ok(Err(foreign_store(path)));
            }
            apply_missing(&tx)?;
            tx.commit()?;
            Ok(Ok(()))
        })??;
        if rebuilds {
            // The rebuilt tables left the old ones' pages free (about half the
            // file): given back now, on a store with incremental vacuum, rather
            // than at the next `cairn store compact`. A busy store keeps them
            // until then; nothing is lost.
            if let Err(e) = crate::space::reclaim(conn, path) {
                tracing::debug!("space after the migration: {}", e.into_error(path));
            }
        }
    }
    Ok(())
}

/// The writer's own settings (each is per connection).
fn configure_writer(path: &Path, conn: &Connection, synchronous: Synchronous) -> Result<()> {
    let sync = match synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {sync}; PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}; \
         PRAGMA temp_store = MEMORY;"
    ))
    .map_err(|e| sql_error(path, e))
}

fn table_count(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
        [],
        |row| row.get(0),
    )
}

fn newer_schema(path: &Path, version: i64) -> Error {
    Error::StoreUnusable {
        path: path.to_path_buf(),
        message: format!(
            "its schema version is {version}, newer than this cairn knows \
             ({LATEST_VERSION}); upgrade cairn to use it"
        ),
    }
}

fn foreign_store(path: &Path) -> Error {
    Error::StoreUnusable {
        path: path.to_path_buf(),
        message: "it is a SQLite database that cairn did not create (it has tables \
                  but no cairn schema version); cairn leaves it untouched"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use rusqlite::StatementStatus;

    use super::*;

    #[test]
    fn cached_statements_are_not_prepared_again_for_new_values() {
        let dir = tempfile::tempdir().unwrap();
        let connections = Connections::open(&dir.path().join("cairn.db"), Synchronous::Normal)
            .map_err(|e| e.to_string())
            .unwrap();
        let mut slot = connections.writer().map_err(|e| e.to_string()).unwrap();
        let conn = slot.as_mut().unwrap();
        let sql = "SELECT checkpoint_id FROM checkpoints WHERE session_id = ?1 \
                   ORDER BY round_no DESC LIMIT 1";
        for i in 0..100 {
            let mut statement = conn.prepare_cached(sql).unwrap();
            let _ = statement.query_row([format!("session-{i}")], |row| row.get::<_, String>(0));
        }
        let statement = conn.prepare_cached(sql).unwrap();
        assert_eq!(statement.get_status(StatementStatus::RePrepare), 0);
    }

    #[test]
    fn reads_use_the_connection_that_opened_the_store_and_the_writer_waits_for_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cairn.db");
        // A store with a table, made by an earlier process.
        drop(Connections::open(&path, Synchronous::Full).map_err(|e| e.to_string()));
        let connections = Connections::open(&path, Synchronous::Full)
            .map_err(|e| e.to_string())
            .unwrap();
        let version = |conn: &Connection| {
            conn.query_row("PRAGMA user_version", [], |row| row.get::<_, i64>(0))
                .unwrap()
        };
        let read = connections
            .read(|tx| Ok(version(tx)))
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(read, LATEST_VERSION);
        assert_eq!(
            lock(&connections.readers).len(),
            1,
            "a second reader opened"
        );
        assert!(
            lock(&connections.writer).is_none(),
            "a read opened the writer"
        );
        // The reader cannot write, even outside `read`'s transactions.
        let refused = connections
            .read(|tx| Ok(tx.execute_batch("CREATE TABLE scratch (x)").is_err()))
            .map_err(|e| e.to_string())
            .unwrap();
        assert!(refused, "the first connection accepted a write");
        connections
            .write(|tx| Ok(tx.execute_batch("CREATE TABLE scratch (x)")?))
            .map_err(|e| e.to_string())
            .unwrap();
        // The writer has the settings it was opened with.
        let synchronous = connections
            .on_writer(|conn| {
                Ok(conn.query_row("PRAGMA synchronous", [], |row| row.get::<_, i64>(0))?)
            })
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(synchronous, 2_i64, "synchronous = FULL on the writer");
    }

    #[test]
    fn commits_leave_wal_checkpoints_to_their_own_thread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cairn.db");
        let connections = Connections::open(&path, Synchronous::Normal)
            .map_err(|e| e.to_string())
            .unwrap();
        let write = |sql: &str| {
            let sql = sql.to_owned();
            connections
                .write(move |tx| Ok(tx.execute_batch(&sql)?))
                .map_err(|e| e.to_string())
                .unwrap();
        };
        write("CREATE TABLE scratch (b BLOB)");
        let file_before = std::fs::metadata(&path).unwrap().len();
        // 1,500 pages of commits: past the 1,000 that ask for a checkpoint.
        for _ in 0..60 {
            write("INSERT INTO scratch VALUES (zeroblob(100000))");
        }
        assert!(
            connections.checkpointer.is_running(),
            "no checkpoint thread after 1,500 pages of commits"
        );
        // It copies the pages into the store file beside the writer.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::metadata(&path).unwrap().len() < file_before + 3_000_000 {
            assert!(
                Instant::now() < deadline,
                "the WAL was not checkpointed into the store file"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // Closing the store still checkpoints and removes the WAL.
        drop(connections);
        assert!(!dir.path().join("cairn.db-wal").exists());
    }

    /// A store with a `scratch (n)` table whose writer counts its commits.
    fn counting_commits(dir: &Path) -> (Arc<Connections>, Arc<AtomicUsize>) {
        let connections = Connections::open(&dir.join("cairn.db"), Synchronous::Normal)
            .map_err(|e| e.to_string())
            .unwrap();
        connections
            .write(|tx| Ok(tx.execute_batch("CREATE TABLE scratch (n INTEGER)")?))
            .map_err(|e| e.to_string())
            .unwrap();
        let commits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&commits);
        let mut slot = connections.writer().map_err(|e| e.to_string()).unwrap();
        slot.as_mut()
            .unwrap()
            .commit_hook(Some(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                false
            }))
            .unwrap();
        drop(slot);
        (Arc::new(connections), commits)
    }

    fn insert(tx: &Transaction<'_>, n: i64) -> R<()> {
        tx.execute("INSERT INTO scratch VALUES (?1)", [n])?;
        Ok(())
    }

    fn stored(connections: &Connections) -> Vec<i64> {
        connections
            .read(|tx| {
                let mut rows = tx.prepare("SELECT n FROM scratch ORDER BY n")?;
                let values = rows
                    .query_map([], |row| row.get(0))?
                    .collect::<rusqlite::Result<Vec<i64>>>()?;
                Ok(values)
            })
            .map_err(|e| e.to_string())
            .unwrap()
    }

    /// Holds the lead with a write of `0` until the returned sender says go, so
    /// the writes started meanwhile queue for one group.
    fn hold_the_writer(
        connections: &Arc<Connections>,
    ) -> (
        std::sync::mpsc::Sender<()>,
        std::thread::JoinHandle<Result<()>>,
    ) {
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let held = Arc::clone(connections);
        let leader = std::thread::spawn(move || {
            held.write(move |tx| {
                let _ = wait.recv();
                insert(tx, 0)
            })
        });
        wait_for(connections, 0);
        (go, leader)
    }

    /// Waits until a thread leads and `queued` writes wait.
    fn wait_for(connections: &Connections, queued: usize) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while connections.writes.waiting() != (true, queued) {
            assert!(Instant::now() < deadline, "{queued} writes never queued");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Starts a write of `work` on a thread of its own once the earlier ones queued.
    fn queue<T: Send + 'static>(
        connections: &Arc<Connections>,
        queued_before: usize,
        work: impl FnMut(&Transaction<'_>) -> R<T> + Send + 'static,
    ) -> std::thread::JoinHandle<Result<T>> {
        let writer = Arc::clone(connections);
        let handle = std::thread::spawn(move || writer.write(work));
        wait_for(connections, queued_before + 1);
        handle
    }

    #[test]
    fn writes_that_wait_for_the_writer_commit_together_in_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let (connections, commits) = counting_commits(dir.path());
        // Alone, each write is its own transaction.
        for n in 1..=3 {
            connections
                .write(move |tx| insert(tx, n))
                .map_err(|e| e.to_string())
                .unwrap();
        }
        assert_eq!(commits.load(Ordering::SeqCst), 3);

        let (go, leader) = hold_the_writer(&connections);
        let waiting: Vec<_> = (0..16_i64)
            .map(|i| {
                queue(&connections, i as usize, move |tx| {
                    // What the earlier writes of the group left: they ran first.
                    let before: i64 =
                        tx.query_row("SELECT count(*) FROM scratch", [], |row| row.get(0))?;
                    insert(tx, 100 + i)?;
                    Ok((i, before))
                })
            })
            .collect();
        go.send(()).unwrap();
        leader.join().unwrap().map_err(|e| e.to_string()).unwrap();
        for (i, handle) in waiting.into_iter().enumerate() {
            let (answered, before) = handle.join().unwrap().map_err(|e| e.to_string()).unwrap();
            assert_eq!(answered, i as i64, "a caller got another write's result");
            // Three rows, the leader's, then the group's earlier members.
            assert_eq!(before, 4 + i as i64, "write {i} ran out of arrival order");
        }
        // The held write, then one group for the 16 that waited.
        assert_eq!(commits.load(Ordering::SeqCst), 3 + 2);
        assert_eq!(stored(&connections).len(), 4 + 16);
        assert_eq!(connections.writes.waiting(), (false, 0));
    }

    #[test]
    fn a_failing_or_panicking_write_is_undone_alone_and_only_its_caller_hears() {
        let dir = tempfile::tempdir().unwrap();
        let (connections, commits) = counting_commits(dir.path());
        let (go, leader) = hold_the_writer(&connections);
        let first = queue(&connections, 0, |tx| insert(tx, 1));
        let refused = queue(&connections, 1, |tx| -> R<()> {
            insert(tx, 2)?;
            Err(Fail::Domain(Error::InvalidInput(
                "write 2 is refused".into(),
            )))
        });
        let panics = queue(&connections, 2, |tx| -> R<()> {
            insert(tx, 3)?;
            panic!("write 3 panics")
        });
        let last = queue(&connections, 3, |tx| insert(tx, 4));
        go.send(()).unwrap();
        leader.join().unwrap().map_err(|e| e.to_string()).unwrap();
        first.join().unwrap().map_err(|e| e.to_string()).unwrap();
        match refused.join().unwrap() {
            Err(Error::InvalidInput(message)) => assert_eq!(message, "write 2 is refused"),
            other => panic!("the refused write answered {other:?}"),
        }
        match panics.join().unwrap() {
            Err(Error::Storage(message)) => {
                assert!(message.contains("write 3 panics"), "{message}")
            }
            other => panic!("the panicking write answered {other:?}"),
        }
        last.join().unwrap().map_err(|e| e.to_string()).unwrap();
        assert_eq!(stored(&connections), [0, 1, 4]);
        assert_eq!(commits.load(Ordering::SeqCst), 2);
        // The writer still takes writes, alone and in groups.
        connections
            .write(|tx| insert(tx, 5))
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(stored(&connections), [0, 1, 4, 5]);
    }

    #[test]
    fn a_busy_store_runs_the_whole_group_again() {
        let dir = tempfile::tempdir().unwrap();
        let (connections, commits) = counting_commits(dir.path());
        let (go, leader) = hold_the_writer(&connections);
        let first = queue(&connections, 0, |tx| insert(tx, 1));
        // Busy the first time it runs, as when another process took the lock.
        let mut runs = 0;
        let busy_once = queue(&connections, 1, move |tx| {
            runs += 1;
            insert(tx, 2)?;
            if runs == 1 {
                let busy = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY);
                return Err(Fail::Sql(rusqlite::Error::SqliteFailure(busy, None)));
            }
            Ok(runs)
        });
        go.send(()).unwrap();
        leader.join().unwrap().map_err(|e| e.to_string()).unwrap();
        first.join().unwrap().map_err(|e| e.to_string()).unwrap();
        let runs = busy_once
            .join()
            .unwrap()
            .map_err(|e| e.to_string())
            .unwrap();
        assert_eq!(runs, 2);
        // The first attempt was rolled back whole: every row once, one commit.
        assert_eq!(stored(&connections), [0, 1, 2]);
        assert_eq!(commits.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_lone_write_that_panics_hands_the_writer_on() {
        let dir = tempfile::tempdir().unwrap();
        let (connections, _) = counting_commits(dir.path());
        let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| {
            connections.write(|_| -> R<()> { panic!("a lone write panics") })
        }));
        assert!(panicked.is_err());
        // The next write leads instead of queueing behind a leader that is gone.
        let (done, answer) = std::sync::mpsc::channel();
        let writer = Arc::clone(&connections);
        std::thread::spawn(move || {
            let _ = done.send(writer.write(|tx| insert(tx, 1)).map_err(|e| e.to_string()));
        });
        let answered = answer.recv_timeout(Duration::from_secs(20));
        assert!(matches!(answered, Ok(Ok(()))), "{answered:?}");
        assert_eq!(stored(&connections), [1]);
    }

    #[test]
    fn a_group_that_cannot_commit_fails_every_caller_and_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (connections, _) = counting_commits(dir.path());
        // The commit fails: a deferred foreign key left violated by one work is
        // only checked when the group commits.
        connections
            .write(|tx| {
                tx.execute_batch(
                    "PRAGMA foreign_keys = ON; \
                     CREATE TABLE parent (id INTEGER PRIMARY KEY); \
                     CREATE TABLE child (parent INTEGER REFERENCES parent (id) \
                     DEFERRABLE INITIALLY DEFERRED);",
                )?;
                Ok(())
            })
            .map_err(|e| e.to_string())
            .unwrap();
        let (go, leader) = hold_the_writer(&connections);
        let fine = queue(&connections, 0, |tx| insert(tx, 1));
        let dangling = queue(&connections, 1, |tx| {
            tx.execute("INSERT INTO child VALUES (42)", [])?;
            Ok(())
        });
        go.send(()).unwrap();
        leader.join().unwrap().map_err(|e| e.to_string()).unwrap();
        for handle in [fine, dangling] {
            match handle.join().unwrap() {
                Err(Error::Storage(message)) => {
                    assert!(message.contains("FOREIGN KEY"), "{message}")
                }
                other => panic!("a write of the failed group answered {other:?}"),
            }
        }
        assert_eq!(stored(&connections), [0]);
    }
}
