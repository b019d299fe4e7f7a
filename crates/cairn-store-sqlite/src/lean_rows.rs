//! Migration step 18 (issue 15), the part SQL cannot do alone: `events` and
//! `payloads` rebuilt with leaner columns, every row kept with its id (the
//! full-text index's rowids are event ids; `events.payload` names payload ids).
//!
//! - `events.ts`: nanoseconds since the epoch (`time::lean_event_time`; a text
//!   that would not read back byte for byte stays text); `kind` and `role`:
//!   their codes (`event_codes`). These columns have no declared type, so no
//!   affinity turns an integer into text or back. `request_id` goes (nothing
//!   reads it: `insert_event`).
//! - `payloads.hash`: the first 64 bits of `sha256` (`payloads::hash_of`), with
//!   an index that is not unique, instead of the 32-byte key and its unique index.
//! - `events_by_time` on `time::event_time_order`, not `julianday(ts)`.
//!
//! SQLite cannot change a column's type in place: each table is rebuilt by its
//! documented procedure (new table, copy, drop, rename, then its indexes and
//! the views that named it), inside the migration's transaction. Running it
//! again (a test rewinding the version) rebuilds only the time index.

use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;

use crate::fail::R;

/// The functions the copies call, registered for the step only; each gives the
/// new value, or NULL where the old one stays (`coalesce`).
const TIME: &str = "cairn_lean_time";
const KIND: &str = "cairn_lean_kind";
const ROLE: &str = "cairn_lean_role";
const HASH: &str = "cairn_lean_hash";

/// The content view of the message index, as step 9 made it (it names both
/// tables, so it goes while they are rebuilt).
const SEARCH_VIEW: &str = "
CREATE VIEW event_search_text AS
    SELECT e.id AS id, e.session AS session,
           cairn_search_text(e.kind, cairn_event_body(e.body, e.payload_at, p.data)) AS text,
           cairn_project_token(s.project_key) AS scope
    FROM events e JOIN sessions s ON s.id = e.session LEFT JOIN payloads p ON p.id = e.payload;
";

const LEAN_EVENTS: &str = "
CREATE TABLE events_lean (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind NOT NULL,
    role,
    bytes INTEGER NOT NULL,
    ts NOT NULL,
    body TEXT NOT NULL,
    author TEXT,
    payload INTEGER,
    payload_at INTEGER,
    zstd_level INTEGER
);
INSERT INTO events_lean (id, session, seq, kind, role, bytes, ts, body, author, payload,
                         payload_at, zstd_level)
    SELECT id, session, seq, coalesce(cairn_lean_kind(kind), kind),
           coalesce(cairn_lean_role(role), role), bytes, coalesce(cairn_lean_time(ts), ts),
           body, author, payload, payload_at, zstd_level
    FROM events ORDER BY id;
DROP TABLE events;
ALTER TABLE events_lean RENAME TO events;
CREATE UNIQUE INDEX events_by_session_seq ON events (session, seq);
CREATE INDEX events_by_payload ON events (payload) WHERE payload IS NOT NULL;
";

const LEAN_PAYLOADS: &str = "
CREATE TABLE payloads_lean (
    id INTEGER PRIMARY KEY,
    hash INTEGER NOT NULL,
    size INTEGER NOT NULL,
    data BLOB NOT NULL,
    zstd_level INTEGER
);
INSERT INTO payloads_lean (id, hash, size, data, zstd_level)
    SELECT id, cairn_lean_hash(sha256), size, data, zstd_level FROM payloads ORDER BY id;
DROP TABLE payloads;
ALTER TABLE payloads_lean RENAME TO payloads;
CREATE INDEX payloads_by_hash ON payloads (hash);
";

/// Runs inside the migration's transaction (after steps 1–16).
pub(crate) fn migrate(conn: &Connection) -> R<()> {
    let rebuild_events = has_column(conn, "events", "request_id")?;
    let rebuild_payloads = has_column(conn, "payloads", "sha256")?;
    if rebuild_events || rebuild_payloads {
        register(conn)?;
        let rebuilt = rebuild(conn, rebuild_events, rebuild_payloads);
        let unregistered = unregister(conn);
        rebuilt?;
        unregistered?;
    }
    conn.execute_batch(concat!(
        "DROP INDEX IF EXISTS events_by_time; CREATE INDEX events_by_time ON events ",
        crate::time::event_time_order!(),
        ";"
    ))?;
    Ok(())
}

fn rebuild(conn: &Connection, events: bool, payloads: bool) -> R<()> {
    conn.execute_batch("DROP VIEW IF EXISTS event_search_text;")?;
    if events {
        conn.execute_batch(LEAN_EVENTS)?;
    }
    if payloads {
        conn.execute_batch(LEAN_PAYLOADS)?;
    }
    conn.execute_batch(SEARCH_VIEW)?;
    Ok(())
}

fn has_column(conn: &Connection, table: &str, column: &str) -> R<bool> {
    Ok(conn.query_row(
        "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2",
        [table, column],
        |row| row.get::<_, i64>(0),
    )? > 0)
}

fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function(TIME, 1, flags, |ctx| {
        Ok(crate::time::lean_event_time(ctx.get_raw(0)))
    })?;
    conn.create_scalar_function(KIND, 1, flags, |ctx| {
        Ok(crate::event_codes::recode(ctx.get_raw(0)))
    })?;
    conn.create_scalar_function(ROLE, 1, flags, |ctx| {
        Ok(crate::event_codes::recode_role(ctx.get_raw(0)))
    })?;
    conn.create_scalar_function(HASH, 1, flags, |ctx| {
        // Not a sha256 (no writer stored one): 0, so the row is read by its id
        // and reused only for a literal of the same text, as any row.
        Ok(match ctx.get_raw(0) {
            ValueRef::Blob(bytes) => {
                <&[u8; 32]>::try_from(bytes).map_or(0, crate::payloads::hash_of)
            }
            _ => 0,
        })
    })
}

fn unregister(conn: &Connection) -> rusqlite::Result<()> {
    for name in [TIME, KIND, ROLE, HASH] {
        conn.remove_function(name, 1)?;
    }
    Ok(())
}
