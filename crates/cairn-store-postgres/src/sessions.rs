//! The sessions table: metadata and running totals, the index that listing,
//! `show` and resume read without decoding any event (invariant 4).

use cairn_core::store::SessionUpdate;
use cairn_core::{
    Error, NewSession, Project, Session, SessionFilter, SessionName, SessionStatus, SessionSummary,
    Usage,
};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use ulid::Ulid;

use crate::fail::{Fail, R, unreadable};
use crate::rows::{get, get_opt_u64, get_u64, limit, micros, now, parse_ts};

/// A session and its integer key in the store.
pub(crate) struct StoredSession {
    pub key: i64,
    pub session: Session,
}

const SESSION_COLUMNS: &str = "id, ulid, name, title, project, parent_ulid, fork_seq, \
     model, status, created_at, updated_at, input_tokens, output_tokens, cache_read_tokens, \
     cache_write_tokens, reasoning_tokens, cost_usd, spend_checkpoint_usd, live_tokens, \
     head_seq, context_start_seq, compaction_seq, message_count, tool_call_count, \
     compaction_count, project_key, live_gaps";

fn parse_ulid(raw: &str) -> R<Ulid> {
    Ulid::from_string(raw).map_err(|e| unreadable(format!("session id {raw:?}: {e}")))
}

fn read_session(row: &Row) -> R<StoredSession> {
    let name: String = get(row, 2)?;
    let status: String = get(row, 8)?;
    let parent: Option<String> = get(row, 5)?;
    Ok(StoredSession {
        key: get(row, 0)?,
        session: Session {
            id: parse_ulid(&get::<String>(row, 1)?)?,
            name: SessionName::parse(&name)
                .map_err(|e| unreadable(format!("session name {name:?}: {e}")))?,
            title: get(row, 3)?,
            project: Project::from_parts(get::<String>(row, 4)?, get::<String>(row, 25)?),
            parent_id: parent.as_deref().map(parse_ulid).transpose()?,
            fork_seq: get_opt_u64(row, 6)?,
            model: get(row, 7)?,
            status: SessionStatus::parse(&status)
                .ok_or_else(|| unreadable(format!("session status {status:?}")))?,
            created_at: parse_ts(&get::<String>(row, 9)?)?,
            updated_at: parse_ts(&get::<String>(row, 10)?)?,
            usage: Usage {
                input_tokens: get_u64(row, 11)?,
                output_tokens: get_u64(row, 12)?,
                cache_read_tokens: get_u64(row, 13)?,
                cache_write_tokens: get_u64(row, 14)?,
                reasoning_tokens: get_u64(row, 15)?,
            },
            cost_usd: get(row, 16)?,
            spend_checkpoint_usd: get(row, 17)?,
            live_tokens: get_u64(row, 18)?,
            head_seq: get_u64(row, 19)?,
            context_start_seq: get_u64(row, 20)?,
            compaction_seq: get_opt_u64(row, 21)?,
            message_count: get_u64(row, 22)?,
            tool_call_count: get_u64(row, 23)?,
            compaction_count: get_u64(row, 24)?,
            live_gaps: crate::lineage::parse_gaps(&get::<String>(row, 26)?)?,
        },
    })
}

fn not_found(name: impl Into<String>) -> Fail {
    Error::not_found("session", name).into()
}

async fn one(
    tx: &Transaction<'_>,
    condition: &str,
    value: &(dyn tokio_postgres::types::ToSql + Sync),
) -> R<Option<StoredSession>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE {condition}");
    let statement = tx.prepare_cached(&sql).await?;
    tx.query_opt(&statement, &[value])
        .await?
        .as_ref()
        .map(read_session)
        .transpose()
}

pub(crate) async fn by_name(tx: &Transaction<'_>, name: &SessionName) -> R<StoredSession> {
    one(tx, "name = $1", &name.as_str())
        .await?
        .ok_or_else(|| not_found(name.as_str()))
}

pub(crate) async fn by_id(tx: &Transaction<'_>, id: Ulid) -> R<StoredSession> {
    one(tx, "ulid = $1", &id.to_string())
        .await?
        .ok_or_else(|| not_found(id.to_string()))
}

/// The session, its row locked until the transaction ends: the writers of one
/// session (appends, lease changes) take turns, so seqs stay dense.
pub(crate) async fn lock_by_id(tx: &Transaction<'_>, id: Ulid) -> R<StoredSession> {
    one(tx, "ulid = $1 FOR UPDATE", &id.to_string())
        .await?
        .ok_or_else(|| not_found(id.to_string()))
}

pub(crate) async fn by_key(tx: &Transaction<'_>, key: i64) -> R<StoredSession> {
    one(tx, "id = $1", &key)
        .await?
        .ok_or_else(|| not_found(format!("#{key}")))
}

/// The integer key of a session, `NotFound` naming its id.
pub(crate) async fn key_of(tx: &Transaction<'_>, id: Ulid) -> R<i64> {
    let statement = tx
        .prepare_cached("SELECT id FROM sessions WHERE ulid = $1")
        .await?;
    match tx.query_opt(&statement, &[&id.to_string()]).await? {
        Some(row) => get(&row, 0),
        None => Err(not_found(id.to_string())),
    }
}

/// Sessions whose parent is `parent` (sub-agents and forks), oldest first.
pub(crate) async fn children(tx: &Transaction<'_>, parent: Ulid) -> R<Vec<Session>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE parent_ulid = $1 ORDER BY id");
    let statement = tx.prepare_cached(&sql).await?;
    tx.query(&statement, &[&parent.to_string()])
        .await?
        .iter()
        .map(|row| Ok(read_session(row)?.session))
        .collect()
}

fn taken(name: &str) -> Fail {
    Error::AlreadyExists {
        what: "session",
        name: name.to_owned(),
    }
    .into()
}

/// A unique-name violation becomes `AlreadyExists` (two creators may race past
/// any check; the constraint decides).
fn name_conflict(e: tokio_postgres::Error, name: &str) -> Fail {
    let is_name = e.as_db_error().is_some_and(|db| {
        db.code() == &SqlState::UNIQUE_VIOLATION && db.constraint() == Some("sessions_name_key")
    });
    if is_name { taken(name) } else { e.into() }
}

pub(crate) async fn create(tx: &Transaction<'_>, new: &NewSession) -> R<StoredSession> {
    create_as(tx, new, Ulid::new()).await
}

/// Creates the session under `id` (a copy from another store keeps its id).
pub(crate) async fn create_as(
    tx: &Transaction<'_>,
    new: &NewSession,
    id: Ulid,
) -> R<StoredSession> {
    let created_at = new.created_at.unwrap_or_else(now);
    let fork_seq = new
        .fork_seq
        .map(|seq| crate::rows::big(seq, "fork_seq"))
        .transpose()?;
    let statement = tx
        .prepare_cached(
            "INSERT INTO sessions (ulid, name, title, project, parent_ulid, fork_seq, model, \
             status, created_at, updated_at, updated_us, project_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8, $9, $10) \
             ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .await?;
    let row = tx
        .query_opt(
            &statement,
            &[
                &id.to_string(),
                &new.name.as_str(),
                &new.title,
                &new.project.as_str(),
                &new.parent_id.map(|p| p.to_string()),
                &fork_seq,
                &new.model,
                &created_at.to_string(),
                &micros(created_at),
                &new.project.key(),
            ],
        )
        .await
        .map_err(|e| name_conflict(e, new.name.as_str()))?;
    match row {
        Some(row) => by_key(tx, get(&row, 0)?).await,
        None => Err(taken(new.name.as_str())),
    }
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

pub(crate) async fn list(tx: &Transaction<'_>, filter: &SessionFilter) -> R<Vec<SessionSummary>> {
    let limit = limit(filter.limit);
    let offset = i64::from(filter.offset);
    let rows = match &filter.project {
        Some(project) => {
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM sessions WHERE project_key = $1 \
                 ORDER BY updated_us DESC, id DESC LIMIT $2 OFFSET $3"
            );
            let statement = tx.prepare_cached(&sql).await?;
            tx.query(&statement, &[&project.key(), &limit, &offset])
                .await?
        }
        None => {
            let sql = format!(
                "SELECT {SESSION_COLUMNS} FROM sessions \
                 ORDER BY updated_us DESC, id DESC LIMIT $1 OFFSET $2"
            );
            let statement = tx.prepare_cached(&sql).await?;
            tx.query(&statement, &[&limit, &offset]).await?
        }
    };
    rows.iter()
        .map(|row| Ok(summary(read_session(row)?.session)))
        .collect()
}

pub(crate) async fn count(tx: &Transaction<'_>, project: Option<&Project>) -> R<u64> {
    let statement = tx
        .prepare_cached(
            "SELECT count(*) FROM sessions WHERE ($1::TEXT IS NULL OR project_key = $1)",
        )
        .await?;
    let row = tx
        .query_one(&statement, &[&project.map(Project::key)])
        .await?;
    get_u64(&row, 0)
}

pub(crate) async fn most_recent(
    tx: &Transaction<'_>,
    project: Option<&Project>,
) -> R<Option<Session>> {
    let filter = SessionFilter {
        project: project.cloned(),
        limit: 1,
        offset: 0,
    };
    let Some(first) = list(tx, &filter).await?.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(by_name(tx, &first.name).await?.session))
}

pub(crate) async fn rename(
    tx: &Transaction<'_>,
    old: &SessionName,
    new: &SessionName,
) -> R<Session> {
    let stored = by_name(tx, old).await?;
    if old == new {
        return Ok(stored.session);
    }
    let statement = tx
        .prepare_cached("UPDATE sessions SET name = $1 WHERE id = $2")
        .await?;
    tx.execute(&statement, &[&new.as_str(), &stored.key])
        .await
        .map_err(|e| name_conflict(e, new.as_str()))?;
    Ok(by_key(tx, stored.key).await?.session)
}

/// Deletes the session; its events, search entries, knowledge, request ids and
/// lease go with it (`ON DELETE CASCADE`), and the payloads no other event
/// refers to.
pub(crate) async fn delete(tx: &Transaction<'_>, name: &SessionName) -> R<()> {
    let stored = by_name(tx, name).await?;
    crate::lineage::check_no_forks(tx, &stored).await?;
    let payloads = crate::payloads::of_session(tx, stored.key).await?;
    let statement = tx
        .prepare_cached("DELETE FROM sessions WHERE name = $1")
        .await?;
    if tx.execute(&statement, &[&name.as_str()]).await? == 0 {
        return Err(not_found(name.as_str()));
    }
    crate::payloads::release(tx, &payloads).await?;
    Ok(())
}

pub(crate) async fn update(tx: &Transaction<'_>, id: Ulid, update: &SessionUpdate) -> R<Session> {
    let key = lock_by_id(tx, id).await?.key;
    if let Some(spend) = update.spend_checkpoint_usd
        && !spend.is_finite()
    {
        return Err(Error::invalid(format!(
            "spend_checkpoint_usd must be a finite number, got {spend}"
        ))
        .into());
    }
    let live_tokens = update
        .live_tokens
        .map(|n| crate::rows::big(n, "live_tokens"))
        .transpose()?;
    // Each field is set only when given; `$n::BOOLEAN` says whether it was.
    let statement = tx
        .prepare_cached(
            "UPDATE sessions SET \
             title = CASE WHEN $1::BOOLEAN THEN $2 ELSE title END, \
             model = CASE WHEN $3::BOOLEAN THEN $4 ELSE model END, \
             status = coalesce($5, status), \
             live_tokens = coalesce($6, live_tokens), \
             spend_checkpoint_usd = coalesce($7, spend_checkpoint_usd) \
             WHERE id = $8",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &update.title.is_some(),
            &update.title.clone().flatten(),
            &update.model.is_some(),
            &update.model.clone().flatten(),
            &update.status.map(|s| s.as_str()),
            &live_tokens,
            &update.spend_checkpoint_usd,
            &key,
        ],
    )
    .await?;
    Ok(by_key(tx, key).await?.session)
}
