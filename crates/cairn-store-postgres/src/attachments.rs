//! Content-addressed attachments (`bytea`): the sha256 of the bytes is the key, so
//! storing the same bytes twice keeps one copy.

use cairn_core::attachment::PENDING_GRACE;
use cairn_core::{Attachment, AttachmentGarbage, AttachmentRef, Error};
use deadpool_postgres::Transaction;

use crate::fail::R;
use crate::rows::{big, get, get_u64, micros, now};

pub(crate) async fn put(tx: &Transaction<'_>, mime: &str, bytes: &[u8]) -> R<AttachmentRef> {
    let sha256 = cairn_core::attachment::sha256_hex(bytes);
    let size = bytes.len() as u64;
    let statement = tx
        .prepare_cached(
            "INSERT INTO attachments (sha256, mime, size, bytes) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .await?;
    tx.execute(&statement, &[&sha256, &mime, &big(size, "size")?, &bytes])
        .await?;
    Ok(AttachmentRef {
        sha256,
        mime: mime.to_owned(),
        size,
    })
}

pub(crate) async fn get_one(tx: &Transaction<'_>, sha256: &str) -> R<Attachment> {
    let key = sha256.to_ascii_lowercase();
    let statement = tx
        .prepare_cached("SELECT mime, size, bytes FROM attachments WHERE sha256 = $1")
        .await?;
    let Some(row) = tx.query_opt(&statement, &[&key]).await? else {
        return Err(Error::not_found("attachment", sha256).into());
    };
    Ok(Attachment {
        reference: AttachmentRef {
            sha256: key,
            mime: get(&row, 0)?,
            size: get_u64(&row, 1)?,
        },
        bytes: get(&row, 2)?,
    })
}

/// Stores bytes ahead of the event that will refer to them: marked as put now,
/// so a collection leaves them alone for `PENDING_GRACE` even when the same bytes
/// were already there unreferenced.
pub(crate) async fn put_pending(
    tx: &Transaction<'_>,
    mime: &str,
    bytes: &[u8],
) -> R<AttachmentRef> {
    let reference = put(tx, mime, bytes).await?;
    let statement = tx
        .prepare_cached("UPDATE attachments SET put_us = $1 WHERE sha256 = $2")
        .await?;
    tx.execute(&statement, &[&micros(now()), &reference.sha256])
        .await?;
    Ok(reference)
}

/// The keys events refer to are found by the server (every JSON string of 64
/// lower-case hex digits, as `cairn_core::attachment::referenced_keys` reads
/// them), so no event body crosses the network.
const ORPHANS_SQL: &str = "WITH referenced AS ( \
         SELECT DISTINCT m[1] AS sha256 FROM events e \
         CROSS JOIN LATERAL regexp_matches(e.body, '\"([0-9a-f]{64})\"', 'g') m) \
     SELECT a.sha256, a.size FROM attachments a \
     WHERE (a.put_us IS NULL OR a.put_us < $1) \
       AND NOT EXISTS (SELECT 1 FROM referenced r WHERE r.sha256 = a.sha256)";

/// The attachments no event refers to and not put within the grace period; with
/// `remove`, deleted. The table lock keeps puts and inline-media imports out
/// until the transaction ends, so nothing is deleted under a new reference.
pub(crate) async fn collect(tx: &Transaction<'_>, remove: bool) -> R<AttachmentGarbage> {
    if remove {
        tx.batch_execute("LOCK TABLE attachments IN SHARE ROW EXCLUSIVE MODE")
            .await?;
    }
    let grace = i64::try_from(PENDING_GRACE.as_micros()).unwrap_or(i64::MAX);
    let before = micros(now()).saturating_sub(grace);
    let rows = tx.query(ORPHANS_SQL, &[&before]).await?;
    let mut garbage = AttachmentGarbage::default();
    let mut keys = Vec::with_capacity(rows.len());
    for row in &rows {
        garbage.count += 1;
        garbage.bytes += get_u64(row, 1)?;
        keys.push(get::<String>(row, 0)?);
    }
    if remove && !keys.is_empty() {
        tx.execute("DELETE FROM attachments WHERE sha256 = ANY($1)", &[&keys])
            .await?;
    }
    if remove {
        crate::payloads::sweep(tx).await?;
    }
    Ok(garbage)
}
