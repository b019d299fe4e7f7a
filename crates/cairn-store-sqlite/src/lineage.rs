//! Forks and rewinds in SQLite: the fork chain of a session, the live state after
//! each boundary (`live_bounds`), and reads of seq ranges across the chain. What the
//! ranges are is `cairn_core::lineage`'s decision.

use cairn_core::lineage::{Chain, LiveState};
use cairn_core::{Error, NewSession};
use rusqlite::{Connection, OptionalExtension, params};

use crate::fail::{R, unreadable};
use crate::sessions::{self, StoredSession};

/// The fork chain of a session: where each part of its history is stored.
pub(crate) fn chain(conn: &Connection, stored: &StoredSession) -> R<Chain<i64>> {
    let mut chain = Chain::default();
    let mut next = chain
        .push(stored.key, stored.session.fork_seq)?
        .and(stored.session.parent_id);
    while let Some(parent) = next {
        let parent = sessions::by_id(conn, parent)?;
        next = chain
            .push(parent.key, parent.session.fork_seq)?
            .and(parent.session.parent_id);
    }
    Ok(chain)
}

fn parse_gaps(raw: &str) -> R<Vec<[u64; 2]>> {
    serde_json::from_str(raw).map_err(|e| unreadable(format!("live gaps {raw:?}: {e}")))
}

pub(crate) fn gaps_text(gaps: &[[u64; 2]]) -> String {
    serde_json::to_string(gaps).unwrap_or_else(|_| "[]".into())
}

/// The live state of the session's history as of `seq`: the newest boundary at or
/// before it, in the session or (before its fork point) up its chain.
pub(crate) fn state_as_of(conn: &Connection, stored: &StoredSession, seq: u64) -> R<LiveState> {
    let mut key = stored.key;
    let mut fork = stored.session.fork_seq.zip(stored.session.parent_id);
    let mut seq = seq;
    for _ in 0..cairn_core::lineage::MAX_FORK_DEPTH {
        let row = conn
            .prepare_cached(
                "SELECT compaction_seq, context_start_seq, gaps FROM live_bounds \
                 WHERE session = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![key, seq], |row| {
                Ok((
                    row.get::<_, Option<u64>>(0)?,
                    row.get::<_, u64>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        if let Some((compaction_seq, context_start_seq, gaps)) = row {
            return Ok(LiveState {
                compaction_seq,
                context_start_seq,
                gaps: parse_gaps(&gaps)?,
            });
        }
        let Some((fork_seq, parent)) = fork else {
            return Ok(LiveState::default());
        };
        let parent = sessions::by_id(conn, parent)?;
        key = parent.key;
        fork = parent.session.fork_seq.zip(parent.session.parent_id);
        seq = seq.min(fork_seq);
    }
    Err(Error::Storage("a fork chain that does not end (a cycle?)".into()).into())
}

/// Remembers the live state after the boundary at `seq`.
pub(crate) fn record(conn: &Connection, key: i64, seq: u64, state: &LiveState) -> R<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO live_bounds (session, seq, compaction_seq, context_start_seq, gaps) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        key,
        seq,
        state.compaction_seq,
        state.context_start_seq,
        gaps_text(&state.gaps)
    ])?;
    Ok(())
}

/// Writes the live state to the session's row.
pub(crate) fn write_state(conn: &Connection, key: i64, state: &LiveState) -> R<()> {
    conn.prepare_cached(
        "UPDATE sessions SET compaction_seq = ?1, context_start_seq = ?2, live_gaps = ?3 \
         WHERE id = ?4",
    )?
    .execute(params![
        state.compaction_seq,
        state.context_start_seq,
        gaps_text(&state.gaps),
        key
    ])?;
    Ok(())
}

/// Creates a session; one that names a parent and a fork point is a fork: it
/// starts at the fork point, with the parent's live state as of there. Nothing of
/// the parent's history is copied.
pub(crate) fn create(conn: &Connection, new: &NewSession) -> R<StoredSession> {
    let Some(fork_seq) = new.fork_seq else {
        return sessions::create(conn, new);
    };
    let Some(parent_id) = new.parent_id else {
        return Err(Error::invalid(format!(
            "session {}: a fork point (fork_seq {fork_seq}) needs a parent session",
            new.name
        ))
        .into());
    };
    let parent = sessions::by_id(conn, parent_id)?;
    if fork_seq > parent.session.head_seq {
        return Err(Error::invalid(format!(
            "fork point {fork_seq} is after the last event of session {} (seq {})",
            parent.session.name, parent.session.head_seq
        ))
        .into());
    }
    let state = state_as_of(conn, &parent, fork_seq)?;
    let stored = sessions::create(conn, new)?;
    let live_tokens = if fork_seq == parent.session.head_seq {
        parent.session.live_tokens
    } else {
        0
    };
    conn.prepare_cached("UPDATE sessions SET head_seq = ?1, live_tokens = ?2 WHERE id = ?3")?
        .execute(params![fork_seq, live_tokens, stored.key])?;
    write_state(conn, stored.key, &state)?;
    record(conn, stored.key, fork_seq, &state)?;
    sessions::by_key(conn, stored.key)
}

/// Refuses to delete a session whose history forks read.
pub(crate) fn check_no_forks(conn: &Connection, stored: &StoredSession) -> R<()> {
    let forks = conn
        .prepare_cached(
            "SELECT name FROM sessions WHERE parent_ulid = ?1 AND fork_seq IS NOT NULL \
             ORDER BY id",
        )?
        .query_map([stored.session.id.to_string()], |row| {
            row.get::<_, String>(0)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if forks.is_empty() {
        return Ok(());
    }
    Err(Error::HasForks {
        session: stored.session.name.to_string(),
        forks,
    }
    .into())
}
