//! The sessions table: metadata and running totals, the index that listing,
//! `show` and resume read without decoding any event (invariant 4).

use cairn_core::store::SessionUpdate;
use cairn_core::{
    Error, NewSession, Project, Session, SessionFilter, SessionName, SessionStatus, SessionSummary,
    Timestamp, Usage,
};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, params};
use ulid::Ulid;

use crate::fail::R;
use crate::time;

/// A session and its integer key in the store.
pub(crate) struct StoredSession {
    pub key: i64,
    pub session: Session,
}

pub(crate) const SESSION_COLUMNS: &str = "id, ulid, name, title, project, parent_ulid, fork_seq, \
     model, status, created_at, updated_at, input_tokens, output_tokens, cache_read_tokens, \
     cache_write_tokens, reasoning_tokens, cost_usd, spend_checkpoint_usd, live_tokens, \
     head_seq, context_start_seq, compaction_seq, message_count, tool_call_count, \
     compaction_count, project_key, live_gaps";

fn conversion(index: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, what.into())
}

fn parse_ulid(index: usize, raw: &str) -> rusqlite::Result<Ulid> {
    Ulid::from_string(raw).map_err(|e| conversion(index, format!("session id {raw:?}: {e}")))
}

fn parse_ts(index: usize, raw: &str) -> rusqlite::Result<Timestamp> {
    raw.parse::<Timestamp>()
        .map_err(|e| conversion(index, format!("time {raw:?}: {e}")))
}

fn parse_name(index: usize, raw: String) -> rusqlite::Result<SessionName> {
    SessionName::parse(&raw).map_err(|e| conversion(index, e.to_string()))
}

fn parse_status(index: usize, raw: &str) -> rusqlite::Result<SessionStatus> {
    SessionStatus::parse(raw).ok_or_else(|| conversion(index, format!("status {raw:?}")))
}

pub(crate) fn read_session(row: &Row<'_>) -> rusqlite::Result<StoredSession> {
    let parent: Option<String> = row.get(5)?;
    Ok(StoredSession {
        key: row.get(0)?,
        session: Session {
            id: parse_ulid(1, &row.get::<_, String>(1)?)?,
            name: parse_name(2, row.get(2)?)?,
            title: row.get(3)?,
            project: Project::from_parts(row.get::<_, String>(4)?, row.get::<_, String>(25)?),
            parent_id: parent.as_deref().map(|p| parse_ulid(5, p)).transpose()?,
            fork_seq: row.get(6)?,
            model: row.get(7)?,
            status: parse_status(8, &row.get::<_, String>(8)?)?,
            created_at: parse_ts(9, &row.get::<_, String>(9)?)?,
            updated_at: parse_ts(10, &row.get::<_, String>(10)?)?,
            usage: Usage {
                input_tokens: row.get(11)?,
                output_tokens: row.get(12)?,
                cache_read_tokens: row.get(13)?,
                cache_write_tokens: row.get(14)?,
                reasoning_tokens: row.get(15)?,
            },
            cost_usd: row.get(16)?,
            spend_checkpoint_usd: row.get(17)?,
            live_tokens: row.get(18)?,
            head_seq: row.get(19)?,
            context_start_seq: row.get(20)?,
            compaction_seq: row.get(21)?,
            message_count: row.get(22)?,
            tool_call_count: row.get(23)?,
            compaction_count: row.get(24)?,
            live_gaps: serde_json::from_str(&row.get::<_, String>(26)?)
                .map_err(|e| conversion(26, format!("live gaps: {e}")))?,
        },
    })
}

fn not_found(name: impl Into<String>) -> Error {
    Error::not_found("session", name)
}

pub(crate) fn by_name(conn: &Connection, name: &SessionName) -> R<StoredSession> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE name = ?1");
    conn.prepare_cached(&sql)?
        .query_row([name.as_str()], read_session)
        .optional()?
        .ok_or_else(|| not_found(name.as_str()).into())
}

pub(crate) fn by_id(conn: &Connection, id: Ulid) -> R<StoredSession> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE ulid = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id.to_string()], read_session)
        .optional()?
        .ok_or_else(|| not_found(id.to_string()).into())
}

pub(crate) fn by_key(conn: &Connection, key: i64) -> R<StoredSession> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([key], read_session)
        .optional()?
        .ok_or_else(|| not_found(format!("#{key}")).into())
}

/// The integer key of a session, `NotFound` naming its id.
/// Sessions whose parent is `parent` (sub-agents and forks), oldest first.
pub(crate) fn children(conn: &Connection, parent: Ulid) -> R<Vec<Session>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE parent_ulid = ?1 ORDER BY id");
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map([parent.to_string()], read_session)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.session);
    }
    Ok(out)
}

pub(crate) fn key_of(conn: &Connection, id: Ulid) -> R<i64> {
    conn.prepare_cached("SELECT id FROM sessions WHERE ulid = ?1")?
        .query_row([id.to_string()], |row| row.get(0))
        .optional()?
        .ok_or_else(|| not_found(id.to_string()).into())
}

fn name_taken(conn: &Connection, name: &SessionName) -> R<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM sessions WHERE name = ?1")?
        .exists([name.as_str()])?)
}

pub(crate) fn create(conn: &Connection, new: &NewSession) -> R<StoredSession> {
    create_as(conn, new, Ulid::new())
}

/// Creates the session under `id` (a copy from another store keeps its id).
pub(crate) fn create_as(conn: &Connection, new: &NewSession, id: Ulid) -> R<StoredSession> {
    if name_taken(conn, &new.name)? {
        return Err(Error::AlreadyExists {
            what: "session",
            name: new.name.to_string(),
        }
        .into());
    }
    let created_at = new.created_at.unwrap_or_else(time::now);
    conn.prepare_cached(
        "INSERT INTO sessions (ulid, name, title, project, parent_ulid, fork_seq, model, \
         status, created_at, updated_at, updated_us, project_key) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active', ?8, ?8, ?9, ?10)",
    )?
    .execute(params![
        id.to_string(),
        new.name.as_str(),
        new.title,
        new.project.as_str(),
        new.parent_id.map(|p| p.to_string()),
        new.fork_seq,
        new.model,
        created_at.to_string(),
        time::micros(created_at),
        new.project.key(),
    ])?;
    by_key(conn, conn.last_insert_rowid())
}

fn summary(session: Session) -> SessionSummary {
    SessionSummary {
        tokens: session.usage.total(),
        name: session.name,
        title: session.title,
        project: session.project,
        model: session.model,
        status: session.status,
        message_count: session.message_count,
        live_tokens: session.live_tokens,
        cost_usd: session.cost_usd,
        created_at: session.created_at,
        updated_at: session.updated_at,
        parent_id: session.parent_id,
        fork_seq: session.fork_seq,
    }
}

/// `limit` 0 means no limit.
fn sql_limit(limit: u32) -> i64 {
    if limit == 0 { -1 } else { i64::from(limit) }
}

pub(crate) fn list(conn: &Connection, filter: &SessionFilter) -> R<Vec<SessionSummary>> {
    let limit = sql_limit(filter.limit);
    let offset = i64::from(filter.offset);
    let rows = match &filter.project {
        Some(project) => {
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE project_key = ?1 \
                 ORDER BY updated_us DESC, id DESC LIMIT ?2 OFFSET ?3"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            stmt.query_map(params![project.key(), limit, offset], read_session)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        }
        None => {
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM sessions \
                 ORDER BY updated_us DESC, id DESC LIMIT ?1 OFFSET ?2"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            stmt.query_map(params![limit, offset], read_session)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        }
    };
    Ok(rows.into_iter().map(|s| summary(s.session)).collect())
}

pub(crate) fn count(conn: &Connection, project: Option<&Project>) -> R<u64> {
    let n: i64 = match project {
        Some(p) => conn
            .prepare_cached("SELECT count(*) FROM sessions WHERE project_key = ?1")?
            .query_row([p.key()], |row| row.get(0))?,
        None => conn
            .prepare_cached("SELECT count(*) FROM sessions")?
            .query_row([], |row| row.get(0))?,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn most_recent(conn: &Connection, project: Option<&Project>) -> R<Option<Session>> {
    let filter = SessionFilter {
        project: project.cloned(),
        limit: 1,
        offset: 0,
    };
    let Some(first) = list(conn, &filter)?.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(by_name(conn, &first.name)?.session))
}

pub(crate) fn rename(conn: &Connection, old: &SessionName, new: &SessionName) -> R<Session> {
    let stored = by_name(conn, old)?;
    if old == new {
        return Ok(stored.session);
    }
    if name_taken(conn, new)? {
        return Err(Error::AlreadyExists {
            what: "session",
            name: new.to_string(),
        }
        .into());
    }
    conn.prepare_cached("UPDATE sessions SET name = ?1 WHERE id = ?2")?
        .execute(params![new.as_str(), stored.key])?;
    Ok(by_key(conn, stored.key)?.session)
}

/// Deletes the session with every row that belongs to it, the FTS entries first
/// (an external-content index must be told the text it forgets).
pub(crate) fn delete(conn: &Connection, name: &SessionName) -> R<()> {
    let stored = by_name(conn, name)?;
    crate::lineage::check_no_forks(conn, &stored)?;
    let key = stored.key;
    conn.prepare_cached(
        "INSERT INTO event_fts (event_fts, rowid, text, scope) \
         SELECT 'delete', id, text, scope FROM event_search_text WHERE session = ?1",
    )?
    .execute([key])?;
    let payloads = crate::payloads::of_session(conn, key)?;
    for sql in [
        "DELETE FROM events WHERE session = ?1",
        "DELETE FROM knowledge WHERE session = ?1",
        "DELETE FROM request_ids WHERE session = ?1",
        "DELETE FROM session_authors WHERE session = ?1",
        "DELETE FROM leases WHERE session = ?1",
        "DELETE FROM live_bounds WHERE session = ?1",
        "DELETE FROM sessions WHERE id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([key])?;
    }
    // Identical payloads are stored once: freed only when no event uses them.
    crate::payloads::release(conn, &payloads)
}

pub(crate) fn update(conn: &Connection, id: Ulid, update: &SessionUpdate) -> R<Session> {
    let key = key_of(conn, id)?;
    if let Some(title) = &update.title {
        conn.prepare_cached("UPDATE sessions SET title = ?1 WHERE id = ?2")?
            .execute(params![title, key])?;
    }
    if let Some(model) = &update.model {
        conn.prepare_cached("UPDATE sessions SET model = ?1 WHERE id = ?2")?
            .execute(params![model, key])?;
    }
    if let Some(status) = update.status {
        conn.prepare_cached("UPDATE sessions SET status = ?1 WHERE id = ?2")?
            .execute(params![status.as_str(), key])?;
    }
    if let Some(live) = update.live_tokens {
        conn.prepare_cached("UPDATE sessions SET live_tokens = ?1 WHERE id = ?2")?
            .execute(params![live, key])?;
    }
    if let Some(spend) = update.spend_checkpoint_usd {
        if !spend.is_finite() {
            return Err(Error::invalid(format!(
                "spend_checkpoint_usd must be a finite number, got {spend}"
            ))
            .into());
        }
        conn.prepare_cached("UPDATE sessions SET spend_checkpoint_usd = ?1 WHERE id = ?2")?
            .execute(params![spend, key])?;
    }
    Ok(by_key(conn, key)?.session)
}
