//! Which transcript of another tool each imported session came from, and how much
//! of it is in the store (for incremental re-imports).

use cairn_core::{ImportOrigin, KnownImport};
use deadpool_postgres::Transaction;
use ulid::Ulid;

use crate::fail::{R, unreadable};
use crate::rows::{big, get, get_u64};

/// Records (or moves forward) the import of `origin` into `session`.
pub(crate) async fn record(tx: &Transaction<'_>, session: Ulid, origin: &ImportOrigin) -> R<()> {
    let statement = tx
        .prepare_cached(
            "INSERT INTO import_origins (source, original_id, session_ulid, consumed_bytes, \
             consumed_lines, imported_events, fingerprint) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (source, original_id) DO UPDATE SET session_ulid = EXCLUDED.session_ulid, \
             consumed_bytes = EXCLUDED.consumed_bytes, consumed_lines = EXCLUDED.consumed_lines, \
             imported_events = EXCLUDED.imported_events, fingerprint = EXCLUDED.fingerprint",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &origin.source,
            &origin.original_id,
            &session.to_string(),
            &big(origin.consumed_bytes, "consumed_bytes")?,
            &big(origin.consumed_lines, "consumed_lines")?,
            &big(origin.imported_events, "imported_events")?,
            &origin.fingerprint,
        ],
    )
    .await?;
    Ok(())
}

/// The import of (`source`, `original_id`), if its session still exists.
pub(crate) async fn find(
    tx: &Transaction<'_>,
    source: &str,
    original_id: &str,
) -> R<Option<KnownImport>> {
    let statement = tx
        .prepare_cached(
            "SELECT o.session_ulid, o.consumed_bytes, o.consumed_lines, o.imported_events, \
             o.fingerprint FROM import_origins o JOIN sessions s ON s.ulid = o.session_ulid \
             WHERE o.source = $1 AND o.original_id = $2",
        )
        .await?;
    let Some(row) = tx.query_opt(&statement, &[&source, &original_id]).await? else {
        return Ok(None);
    };
    let ulid: String = get(&row, 0)?;
    let session = ulid.parse::<Ulid>().map_err(|e| {
        unreadable(format!(
            "import origin {source}/{original_id}: session id: {e}"
        ))
    })?;
    Ok(Some(KnownImport {
        session,
        origin: ImportOrigin {
            source: source.to_owned(),
            original_id: original_id.to_owned(),
            consumed_bytes: get_u64(&row, 1)?,
            consumed_lines: get_u64(&row, 2)?,
            imported_events: get_u64(&row, 3)?,
            fingerprint: get(&row, 4)?,
        },
    }))
}
