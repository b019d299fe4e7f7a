//! Rows copied from another store (`cairn store copy`): they keep their ids and
//! times, and a row already here is left as it is, so a copy can run again.

use cairn_core::store::{SessionUpdate, StoreStatus};
use cairn_core::{Checkpoint, Error, Event, NewSession, PoolSignal, Session};
use rusqlite::{Connection, OptionalExtension, params};

use crate::events;
use crate::fail::R;
use crate::migrations::user_version;
use crate::sessions;
use crate::time;

pub(crate) fn import_session<I>(conn: &Connection, session: &Session, events: I) -> R<Session>
where
    I: Iterator<Item = cairn_core::Result<Event>> + Send + 'static,
{
    let taken = conn
        .prepare_cached("SELECT 1 FROM sessions WHERE ulid = ?1")?
        .exists([session.id.to_string()])?;
    if taken {
        return Err(Error::AlreadyExists {
            what: "session id",
            name: session.id.to_string(),
        }
        .into());
    }
    let new = NewSession {
        name: session.name.clone(),
        title: session.title.clone(),
        project: session.project.clone(),
        model: session.model.clone(),
        parent_id: session.parent_id,
        fork_seq: session.fork_seq,
        created_at: Some(session.created_at),
    };
    events::import_as(conn, &new, session.id, events)?;
    sessions::update(
        conn,
        session.id,
        &SessionUpdate {
            status: Some(session.status),
            live_tokens: Some(session.live_tokens),
            spend_checkpoint_usd: Some(session.spend_checkpoint_usd),
            ..SessionUpdate::default()
        },
    )
}

fn to_json(list: &[String]) -> R<String> {
    serde_json::to_string(list).map_err(|e| Error::invalid(format!("checkpoint list: {e}")).into())
}

pub(crate) fn checkpoint(conn: &Connection, c: &Checkpoint) -> R<bool> {
    let round_no: Option<i64> = c.round_id.trim().parse().ok();
    let inserted = conn
        .prepare_cached(
            "INSERT INTO checkpoints (checkpoint_id, session_id, project, summary, \
             files_touched, decisions_made, next_steps, round_id, round_no, client, instance, \
             created_us, project_key, author) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
             ON CONFLICT (checkpoint_id) DO NOTHING",
        )?
        .execute(params![
            c.checkpoint_id,
            c.session_id,
            c.project.as_str(),
            c.summary,
            to_json(&c.files_touched)?,
            to_json(&c.decisions_made)?,
            to_json(&c.next_steps)?,
            c.round_id,
            round_no,
            c.client,
            c.instance,
            time::micros(c.created_at),
            c.project.key(),
            c.author,
        ])?;
    Ok(inserted > 0)
}

pub(crate) fn pool_signal(conn: &Connection, s: &PoolSignal) -> R<bool> {
    let created = time::micros(s.created_at);
    let present = conn
        .prepare_cached(
            "SELECT 1 FROM pool_signals WHERE project_key = ?1 AND created_us = ?2 \
             AND instance = ?3 AND topic = ?4 AND action = ?5",
        )?
        .query_row(
            params![
                s.project.key(),
                created,
                s.instance,
                s.topic,
                s.action.as_str()
            ],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if present {
        return Ok(false);
    }
    let affects = serde_json::to_string(&s.affects)
        .map_err(|e| Error::invalid(format!("pool signal affects: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO pool_signals (project, topic, action, summary, affects, instance, \
         session_id, created_us, expires_us, project_key, author) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        s.project.as_str(),
        s.topic,
        s.action.as_str(),
        s.summary,
        affects,
        s.instance,
        s.session_id,
        created,
        s.expires_at.map(time::micros),
        s.project.key(),
        s.author,
    ])?;
    Ok(true)
}

fn count(conn: &Connection, table: &str) -> R<u64> {
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn status(conn: &Connection) -> R<StoreStatus> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(StoreStatus {
        backend: "sqlite".into(),
        schema_version: user_version(conn)?,
        size_bytes: u64::try_from(pages.saturating_mul(page_size)).unwrap_or(0),
        sessions: count(conn, "sessions")?,
        events: count(conn, "events")?,
        attachments: count(conn, "attachments")?,
        checkpoints: count(conn, "checkpoints")?,
        pool_signals: count(conn, "pool_signals")?,
    })
}
