//! Who wrote a session's events: one row per (session, author) with a count,
//! kept with every append, so `sessions show` reads it in O(authors).

use cairn_core::store::SessionAuthor;
use rusqlite::{Connection, params};

use crate::fail::R;
use crate::sessions;

/// `events` more events by this process's author, the newest at `last_seq`.
pub(crate) fn record(conn: &Connection, session_key: i64, events: u64, last_seq: u64) -> R<()> {
    if events == 0 {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO session_authors (session, author, events, last_seq) \
         VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (session, author) DO UPDATE SET \
             events = events + excluded.events, \
             last_seq = max(last_seq, excluded.last_seq)",
    )?
    .execute(params![
        session_key,
        cairn_core::author::current(),
        events,
        last_seq
    ])?;
    Ok(())
}

/// The authors of a session, the most recent writer first.
pub(crate) fn of_session(conn: &Connection, session: ulid::Ulid) -> R<Vec<SessionAuthor>> {
    let key = sessions::key_of(conn, session)?;
    let rows = conn
        .prepare_cached(
            "SELECT author, events, last_seq FROM session_authors WHERE session = ?1 \
             ORDER BY last_seq DESC, author",
        )?
        .query_map([key], |row| {
            Ok(SessionAuthor {
                author: row.get(0)?,
                events: row.get(1)?,
                last_seq: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Bytes of the session's own stored events.
pub(crate) fn history_bytes(conn: &Connection, session: ulid::Ulid) -> R<u64> {
    let key = sessions::key_of(conn, session)?;
    let bytes: i64 = conn
        .prepare_cached("SELECT coalesce(sum(bytes), 0) FROM events WHERE session = ?1")?
        .query_row([key], |row| row.get(0))?;
    Ok(u64::try_from(bytes).unwrap_or(0))
}
