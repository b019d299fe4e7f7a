//! Who wrote a session's events: one row per (session, author) with a count,
//! kept with every append, so `sessions show` reads it in O(authors).

use cairn_core::store::SessionAuthor;
use deadpool_postgres::Transaction;

use crate::fail::R;
use crate::rows::{big, get, get_u64};
use crate::sessions;

/// `events` more events by this process's author, the newest at `last_seq`.
pub(crate) async fn record(
    tx: &Transaction<'_>,
    session_key: i64,
    events: u64,
    last_seq: u64,
) -> R<()> {
    if events == 0 {
        return Ok(());
    }
    let statement = tx
        .prepare_cached(
            "INSERT INTO session_authors (session, author, events, last_seq) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (session, author) DO UPDATE SET \
                 events = session_authors.events + EXCLUDED.events, \
                 last_seq = greatest(session_authors.last_seq, EXCLUDED.last_seq)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &session_key,
            &cairn_core::author::current(),
            &big(events, "event count")?,
            &big(last_seq, "seq")?,
        ],
    )
    .await?;
    Ok(())
}

/// The authors of a session, the most recent writer first.
pub(crate) async fn of_session(tx: &Transaction<'_>, session: ulid::Ulid) -> R<Vec<SessionAuthor>> {
    let key = sessions::key_of(tx, session).await?;
    let statement = tx
        .prepare_cached(
            "SELECT author, events, last_seq FROM session_authors WHERE session = $1 \
             ORDER BY last_seq DESC, author",
        )
        .await?;
    tx.query(&statement, &[&key])
        .await?
        .iter()
        .map(|row| {
            Ok(SessionAuthor {
                author: get(row, 0)?,
                events: get_u64(row, 1)?,
                last_seq: get_u64(row, 2)?,
            })
        })
        .collect()
}

/// Bytes of the session's own stored events.
pub(crate) async fn history_bytes(tx: &Transaction<'_>, session: ulid::Ulid) -> R<u64> {
    let key = sessions::key_of(tx, session).await?;
    let statement = tx
        .prepare_cached("SELECT coalesce(sum(bytes), 0)::BIGINT FROM events WHERE session = $1")
        .await?;
    let row = tx.query_one(&statement, &[&key]).await?;
    get_u64(&row, 0)
}
