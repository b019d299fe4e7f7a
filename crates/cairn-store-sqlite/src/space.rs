//! Where the store's bytes go, and giving freed pages back to the file system.
//!
//! New stores are created with `auto_vacuum = INCREMENTAL` (see `connections.rs`):
//! pages a deletion frees stay in the file as free pages until
//! [`reclaim`] moves the used pages down and truncates the file. A store created
//! before that keeps `auto_vacuum = NONE` until [`repack`] (`cairn store compact`)
//! rewrites it.

use std::path::Path;

use cairn_core::store::StoreSpace;
use rusqlite::Connection;

use crate::fail::R;

/// The part of the store a table or index (by its name and its table's) belongs to.
fn part_of(name: &str, table: &str) -> &'static str {
    if table.contains("_fts") || name.contains("_fts") {
        "search_index"
    } else if (table == "events" || table == "payloads") && name == table {
        // Bodies kept once in `payloads` are part of the events they belong to.
        "events"
    } else if table == "events" || table == "payloads" {
        "event_indexes"
    } else if table == "attachments" {
        "attachments"
    } else {
        "other"
    }
}

/// Bytes of each table and index (`dbstat`), grouped by part, and free pages.
pub(crate) fn space(conn: &Connection, store_file: &Path) -> R<StoreSpace> {
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let free_pages: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let rows = conn
        .prepare(
            "SELECT d.name, coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d \
             LEFT JOIN sqlite_schema m ON m.name = d.name \
             GROUP BY d.name ORDER BY 3 DESC, 1",
        )?
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut space = StoreSpace {
        total_bytes: file_bytes(store_file),
        free: to_u64(free_pages.saturating_mul(page_size)),
        ..StoreSpace::default()
    };
    for (name, table, bytes) in rows {
        let part = part_of(&name, &table);
        let bytes = to_u64(bytes);
        space.add(name, part, bytes);
    }
    Ok(space)
}

/// Gives free pages back (incremental vacuum) and checkpoints the WAL so the
/// file is truncated now; returns the bytes the file shrank by. Runs outside any
/// transaction (a checkpoint cannot run inside one).
pub(crate) fn reclaim(conn: &Connection, store_file: &Path) -> R<u64> {
    let before = file_bytes(store_file);
    // Each step of this pragma frees one page: it must be stepped to the end
    // (`execute_batch` would step it once).
    let mut vacuum = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut steps = vacuum.query([])?;
    while steps.next()?.is_some() {}
    // Busy readers only make the checkpoint partial; the next one finishes it.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(before.saturating_sub(file_bytes(store_file)))
}

/// Rewrites the file (`VACUUM`), switching a store made before incremental
/// vacuum to it (the mode changes only through a rewrite), then truncates the
/// WAL the rewrite went through.
pub(crate) fn repack(conn: &Connection) -> R<()> {
    // The full-text indexes as one segment each: the segments an import or
    // appends leave repeat their terms (10 % of the 100 MB history's index,
    // BENCHMARKS.md); the rewrite below then drops the pages they used.
    conn.execute_batch(
        "INSERT INTO event_fts (event_fts) VALUES ('optimize'); \
         INSERT INTO checkpoint_fts (checkpoint_fts) VALUES ('optimize');",
    )?;
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")?;
    truncate_wal(conn)
}

/// Attempts at emptying the WAL after a rewrite, 10 ms apart.
const TRUNCATE_ATTEMPTS: u32 = 200;

/// Copies the WAL into the store file and empties it. A rewrite as long as
/// `VACUUM` wakes the store's checkpointing thread, and while that thread copies
/// the same WAL SQLite answers this checkpoint "busy" at once (its busy handler
/// is not asked): the WAL then stayed as long as the store and the file measured
/// larger than before, so `store compact` said it gave back nothing. Tried again
/// for up to 2 s; a reader that keeps an old snapshot longer only delays the
/// truncation to the next checkpoint, as before.
fn truncate_wal(conn: &Connection) -> R<()> {
    for _ in 0..TRUNCATE_ATTEMPTS {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        if busy == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(())
}

/// The store file and its WAL, as the file system counts them.
pub(crate) fn file_bytes(store_file: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut path = store_file.as_os_str().to_owned();
            path.push(suffix);
            std::fs::metadata(path).map_or(0, |m| m.len())
        })
        .sum()
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::part_of;

    #[test]
    fn tables_and_indexes_fall_into_their_parts() {
        assert_eq!(part_of("events", "events"), "events");
        assert_eq!(part_of("events_by_session_seq", "events"), "event_indexes");
        assert_eq!(part_of("payloads_by_hash", "payloads"), "event_indexes");
        assert_eq!(part_of("event_fts_data", "event_fts_data"), "search_index");
        assert_eq!(
            part_of("checkpoint_fts_idx", "checkpoint_fts_idx"),
            "search_index"
        );
        assert_eq!(
            part_of("sqlite_autoindex_attachments_1", "attachments"),
            "attachments"
        );
        assert_eq!(part_of("sessions", "sessions"), "other");
        assert_eq!(part_of("sqlite_schema", "sqlite_schema"), "other");
    }
}
