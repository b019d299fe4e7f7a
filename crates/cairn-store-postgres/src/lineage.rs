//! Forks and rewinds in PostgreSQL: the fork chain of a session, the live state
//! after each boundary (`live_bounds`), and the fork rules of create and delete.
//! What the ranges are is `cairn_core::lineage`'s decision.

use cairn_core::lineage::{Chain, LiveState};
use cairn_core::{Error, NewSession};
use deadpool_postgres::Transaction;

use crate::fail::{R, unreadable};
use crate::rows::{big, get, get_opt_u64, get_u64};
use crate::sessions::{self, StoredSession};

/// The fork chain of a session: where each part of its history is stored.
pub(crate) async fn chain(tx: &Transaction<'_>, stored: &StoredSession) -> R<Chain<i64>> {
    let mut chain = Chain::default();
    let mut next = chain
        .push(stored.key, stored.session.fork_seq)?
        .and(stored.session.parent_id);
    while let Some(parent) = next {
        let parent = sessions::by_id(tx, parent).await?;
        next = chain
            .push(parent.key, parent.session.fork_seq)?
            .and(parent.session.parent_id);
    }
    Ok(chain)
}

pub(crate) fn parse_gaps(raw: &str) -> R<Vec<[u64; 2]>> {
    serde_json::from_str(raw).map_err(|e| unreadable(format!("live gaps {raw:?}: {e}")))
}

fn gaps_text(gaps: &[[u64; 2]]) -> String {
    serde_json::to_string(gaps).unwrap_or_else(|_| "[]".into())
}

/// The live state of the session's history as of `seq`: the newest boundary at or
/// before it, in the session or (before its fork point) up its chain.
pub(crate) async fn state_as_of(
    tx: &Transaction<'_>,
    stored: &StoredSession,
    seq: u64,
) -> R<LiveState> {
    let mut key = stored.key;
    let mut fork = stored.session.fork_seq.zip(stored.session.parent_id);
    let mut seq = seq;
    let statement = tx
        .prepare_cached(
            "SELECT compaction_seq, context_start_seq, gaps FROM live_bounds \
             WHERE session = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1",
        )
        .await?;
    for _ in 0..cairn_core::lineage::MAX_FORK_DEPTH {
        if let Some(row) = tx.query_opt(&statement, &[&key, &big(seq, "seq")?]).await? {
            return Ok(LiveState {
                compaction_seq: get_opt_u64(&row, 0)?,
                context_start_seq: get_u64(&row, 1)?,
                gaps: parse_gaps(&get::<String>(&row, 2)?)?,
            });
        }
        let Some((fork_seq, parent)) = fork else {
            return Ok(LiveState::default());
        };
        let parent = sessions::by_id(tx, parent).await?;
        key = parent.key;
        fork = parent.session.fork_seq.zip(parent.session.parent_id);
        seq = seq.min(fork_seq);
    }
    Err(Error::Storage("a fork chain that does not end (a cycle?)".into()).into())
}

/// Remembers the live state after the boundary at `seq`.
pub(crate) async fn record(tx: &Transaction<'_>, key: i64, seq: u64, state: &LiveState) -> R<()> {
    let compaction = state.compaction_seq.map(|s| big(s, "seq")).transpose()?;
    let statement = tx
        .prepare_cached(
            "INSERT INTO live_bounds (session, seq, compaction_seq, context_start_seq, gaps) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session, seq) DO UPDATE SET \
             compaction_seq = EXCLUDED.compaction_seq, \
             context_start_seq = EXCLUDED.context_start_seq, gaps = EXCLUDED.gaps",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &key,
            &big(seq, "seq")?,
            &compaction,
            &big(state.context_start_seq, "seq")?,
            &gaps_text(&state.gaps),
        ],
    )
    .await?;
    Ok(())
}

/// Writes the live state to the session's row.
pub(crate) async fn write_state(tx: &Transaction<'_>, key: i64, state: &LiveState) -> R<()> {
    let compaction = state.compaction_seq.map(|s| big(s, "seq")).transpose()?;
    let statement = tx
        .prepare_cached(
            "UPDATE sessions SET compaction_seq = $1, context_start_seq = $2, live_gaps = $3 \
             WHERE id = $4",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &compaction,
            &big(state.context_start_seq, "seq")?,
            &gaps_text(&state.gaps),
            &key,
        ],
    )
    .await?;
    Ok(())
}

/// Creates a session; one that names a parent and a fork point is a fork: it
/// starts at the fork point, with the parent's live state as of there. Nothing of
/// the parent's history is copied.
pub(crate) async fn create(tx: &Transaction<'_>, new: &NewSession) -> R<StoredSession> {
    let Some(fork_seq) = new.fork_seq else {
        return sessions::create(tx, new).await;
    };
    let Some(parent_id) = new.parent_id else {
        return Err(Error::invalid(format!(
            "session {}: a fork point (fork_seq {fork_seq}) needs a parent session",
            new.name
        ))
        .into());
    };
    // Locked: the parent's head cannot move under the check.
    let parent = sessions::lock_by_id(tx, parent_id).await?;
    if fork_seq > parent.session.head_seq {
        return Err(Error::invalid(format!(
            "fork point {fork_seq} is after the last event of session {} (seq {})",
            parent.session.name, parent.session.head_seq
        ))
        .into());
    }
    let state = state_as_of(tx, &parent, fork_seq).await?;
    let stored = sessions::create(tx, new).await?;
    let live_tokens = if fork_seq == parent.session.head_seq {
        parent.session.live_tokens
    } else {
        0
    };
    let statement = tx
        .prepare_cached("UPDATE sessions SET head_seq = $1, live_tokens = $2 WHERE id = $3")
        .await?;
    tx.execute(
        &statement,
        &[
            &big(fork_seq, "seq")?,
            &big(live_tokens, "live_tokens")?,
            &stored.key,
        ],
    )
    .await?;
    write_state(tx, stored.key, &state).await?;
    record(tx, stored.key, fork_seq, &state).await?;
    sessions::by_key(tx, stored.key).await
}

/// Refuses to delete a session whose history forks read.
pub(crate) async fn check_no_forks(tx: &Transaction<'_>, stored: &StoredSession) -> R<()> {
    let statement = tx
        .prepare_cached(
            "SELECT name FROM sessions WHERE parent_ulid = $1 AND fork_seq IS NOT NULL \
             ORDER BY id",
        )
        .await?;
    let forks = tx
        .query(&statement, &[&stored.session.id.to_string()])
        .await?
        .iter()
        .map(|row| get::<String>(row, 0))
        .collect::<R<Vec<_>>>()?;
    if forks.is_empty() {
        return Ok(());
    }
    Err(Error::HasForks {
        session: stored.session.name.to_string(),
        forks,
    }
    .into())
}
