//! Which transcript of another tool each imported session came from, and how much
//! of it is in the store (for incremental re-imports).

use cairn_core::{ImportOrigin, KnownImport};
use rusqlite::{Connection, OptionalExtension, params};
use ulid::Ulid;

use crate::fail::{R, unreadable};

/// Records (or moves forward) the import of `origin` into `session`.
pub(crate) fn record(conn: &Connection, session: Ulid, origin: &ImportOrigin) -> R<()> {
    conn.execute(
        "INSERT INTO import_origins (source, original_id, session_ulid, consumed_bytes, \
         consumed_lines, imported_events, fingerprint) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (source, original_id) DO UPDATE SET session_ulid = excluded.session_ulid, \
         consumed_bytes = excluded.consumed_bytes, consumed_lines = excluded.consumed_lines, \
         imported_events = excluded.imported_events, fingerprint = excluded.fingerprint",
        params![
            origin.source,
            origin.original_id,
            session.to_string(),
            origin.consumed_bytes as i64,
            origin.consumed_lines as i64,
            origin.imported_events as i64,
            origin.fingerprint,
        ],
    )?;
    Ok(())
}

/// The import of (`source`, `original_id`), if its session still exists.
pub(crate) fn find(conn: &Connection, source: &str, original_id: &str) -> R<Option<KnownImport>> {
    let row = conn
        .query_row(
            "SELECT o.session_ulid, o.consumed_bytes, o.consumed_lines, o.imported_events, \
             o.fingerprint FROM import_origins o JOIN sessions s ON s.ulid = o.session_ulid \
             WHERE o.source = ?1 AND o.original_id = ?2",
            params![source, original_id],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, String>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((ulid, bytes, lines, events, fingerprint)) = row else {
        return Ok(None);
    };
    let session = ulid.parse::<Ulid>().map_err(|e| {
        unreadable(format!(
            "import origin {source}/{original_id}: session id: {e}"
        ))
    })?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(Some(KnownImport {
        session,
        origin: ImportOrigin {
            source: source.to_owned(),
            original_id: original_id.to_owned(),
            consumed_bytes: count(bytes),
            consumed_lines: count(lines),
            imported_events: count(events),
            fingerprint,
        },
    }))
}
