//! Rows copied from another store (`cairn store copy`): they keep their ids and
//! times, and a row already here is left as it is, so a copy can run again.

use cairn_core::store::{SessionUpdate, StoreStatus};
use cairn_core::{Checkpoint, Error, Event, NewSession, PoolSignal, Session};
use deadpool_postgres::Transaction;

use crate::events;
use crate::fail::R;
use crate::migrations;
use crate::rows::{get, get_u64, micros};
use crate::sessions;

pub(crate) async fn import_session(
    tx: &Transaction<'_>,
    session: &Session,
    events: impl Iterator<Item = cairn_core::Result<Event>>,
) -> R<Session> {
    let taken = tx
        .query_opt(
            "SELECT 1 FROM sessions WHERE ulid = $1",
            &[&session.id.to_string()],
        )
        .await?
        .is_some();
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
    events::import_as(tx, &new, session.id, events).await?;
    sessions::update(
        tx,
        session.id,
        &SessionUpdate {
            status: Some(session.status),
            live_tokens: Some(session.live_tokens),
            spend_checkpoint_usd: Some(session.spend_checkpoint_usd),
            ..SessionUpdate::default()
        },
    )
    .await
}

fn to_json(list: &[String]) -> R<String> {
    serde_json::to_string(list).map_err(|e| Error::invalid(format!("checkpoint list: {e}")).into())
}

pub(crate) async fn checkpoint(tx: &Transaction<'_>, c: &Checkpoint) -> R<bool> {
    let round_no: Option<i64> = c.round_id.trim().parse().ok();
    let inserted = tx
        .execute(
            "INSERT INTO checkpoints (checkpoint_id, session_id, project, summary, \
             files_touched, decisions_made, next_steps, round_id, round_no, client, instance, \
             created_us, project_key, author) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (checkpoint_id) DO NOTHING",
            &[
                &c.checkpoint_id,
                &c.session_id,
                &c.project.as_str(),
                &c.summary,
                &to_json(&c.files_touched)?,
                &to_json(&c.decisions_made)?,
                &to_json(&c.next_steps)?,
                &c.round_id,
                &round_no,
                &c.client,
                &c.instance,
                &micros(c.created_at),
                &c.project.key(),
                &c.author,
            ],
        )
        .await?;
    Ok(inserted > 0)
}

pub(crate) async fn pool_signal(tx: &Transaction<'_>, s: &PoolSignal) -> R<bool> {
    let created = micros(s.created_at);
    let present = tx
        .query_opt(
            "SELECT 1 FROM pool_signals WHERE project_key = $1 AND created_us = $2 \
             AND instance = $3 AND topic = $4 AND action = $5",
            &[
                &s.project.key(),
                &created,
                &s.instance,
                &s.topic,
                &s.action.as_str(),
            ],
        )
        .await?
        .is_some();
    if present {
        return Ok(false);
    }
    let affects = serde_json::to_string(&s.affects)
        .map_err(|e| Error::invalid(format!("pool signal affects: {e}")))?;
    tx.execute(
        "INSERT INTO pool_signals (project, topic, action, summary, affects, instance, \
         session_id, created_us, expires_us, project_key, author) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &s.project.as_str(),
            &s.topic,
            &s.action.as_str(),
            &s.summary,
            &affects,
            &s.instance,
            &s.session_id,
            &created,
            &s.expires_at.map(micros),
            &s.project.key(),
            &s.author,
        ],
    )
    .await?;
    Ok(true)
}

pub(crate) async fn status(tx: &Transaction<'_>) -> R<StoreStatus> {
    let row = tx
        .query_one(
            "SELECT pg_database_size(current_database()), \
             (SELECT count(*) FROM sessions), (SELECT count(*) FROM events), \
             (SELECT count(*) FROM attachments), (SELECT count(*) FROM checkpoints), \
             (SELECT count(*) FROM pool_signals)",
            &[],
        )
        .await?;
    Ok(StoreStatus {
        backend: "postgres".into(),
        schema_version: migrations::version(tx).await?,
        size_bytes: u64::try_from(get::<i64>(&row, 0)?).unwrap_or(0),
        sessions: get_u64(&row, 1)?,
        events: get_u64(&row, 2)?,
        attachments: get_u64(&row, 3)?,
        checkpoints: get_u64(&row, 4)?,
        pool_signals: get_u64(&row, 5)?,
    })
}
