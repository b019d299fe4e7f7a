//! Content-addressed attachments: the sha256 of the bytes is the key, so storing
//! the same bytes twice keeps one copy.

use std::collections::HashSet;

use cairn_core::attachment::{PENDING_GRACE, referenced_keys};
use cairn_core::{Attachment, AttachmentGarbage, AttachmentRef, Error};
use rusqlite::{Connection, OptionalExtension, params};

use crate::fail::R;
use crate::time;

pub(crate) fn put(conn: &Connection, mime: &str, bytes: &[u8]) -> R<AttachmentRef> {
    let sha256 = cairn_core::attachment::sha256_hex(bytes);
    let size = bytes.len() as u64;
    conn.prepare_cached(
        "INSERT OR IGNORE INTO attachments (sha256, mime, size, bytes) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![sha256, mime, size, bytes])?;
    Ok(AttachmentRef {
        sha256,
        mime: mime.to_owned(),
        size,
    })
}

pub(crate) fn get(conn: &Connection, sha256: &str) -> R<Attachment> {
    let key = sha256.to_ascii_lowercase();
    conn.prepare_cached("SELECT mime, size, bytes FROM attachments WHERE sha256 = ?1")?
        .query_row([&key], |row| {
            Ok(Attachment {
                reference: AttachmentRef {
                    sha256: key.clone(),
                    mime: row.get(0)?,
                    size: row.get(1)?,
                },
                bytes: row.get(2)?,
            })
        })
        .optional()?
        .ok_or_else(|| Error::not_found("attachment", sha256).into())
}

/// Stores bytes ahead of the event that will refer to them: marked as put now,
/// so a collection leaves them alone for `PENDING_GRACE` even when the same bytes
/// were already there unreferenced.
pub(crate) fn put_pending(conn: &Connection, mime: &str, bytes: &[u8]) -> R<AttachmentRef> {
    let reference = put(conn, mime, bytes)?;
    conn.prepare_cached("UPDATE attachments SET put_us = ?1 WHERE sha256 = ?2")?
        .execute(params![time::micros(time::now()), reference.sha256])?;
    Ok(reference)
}

/// The attachments no event refers to and not put within the grace period; with
/// `remove`, deleted. One pass over every event body (collection is maintenance,
/// not a hot path); the caller's write transaction keeps appends out meanwhile.
pub(crate) fn collect(conn: &Connection, remove: bool) -> R<AttachmentGarbage> {
    let mut referenced = HashSet::new();
    let mut bodies = conn.prepare(&format!(
        "SELECT e.session, e.seq, {} FROM events e LEFT JOIN payloads p ON p.id = e.payload",
        crate::events::BODY_COLUMNS
    ))?;
    let mut rows = bodies.query([])?;
    while let Some(row) = rows.next()? {
        let body = crate::events::body_at(conn, row, 2, row.get(0)?, row.get(1)?)?;
        referenced_keys(&body, &mut referenced);
    }
    if remove {
        // Payloads are released with the events that used them; this catches
        // any a failed or older removal left.
        crate::payloads::sweep(conn)?;
    }
    let grace = i64::try_from(PENDING_GRACE.as_micros()).unwrap_or(i64::MAX);
    let before = time::micros(time::now()).saturating_sub(grace);
    let candidates = conn
        .prepare("SELECT sha256, size FROM attachments WHERE put_us IS NULL OR put_us < ?1")?
        .query_map([before], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut garbage = AttachmentGarbage::default();
    let mut delete = conn.prepare_cached("DELETE FROM attachments WHERE sha256 = ?1")?;
    for (sha256, size) in candidates {
        if referenced.contains(&sha256) {
            continue;
        }
        garbage.count += 1;
        garbage.bytes += size;
        if remove {
            delete.execute([&sha256])?;
        }
    }
    Ok(garbage)
}
