//! The agent pool: signals and the instances heard from.

use cairn_core::store::{MAX_POOL_INSTANCES, MAX_POOL_INSTANCES_PER_PROJECT, PoolInstance};
use cairn_core::{Error, NewPoolSignal, PoolAction, PoolSignal, Project, Timestamp};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;

use crate::fail::{R, unreadable};
use crate::rows::{from_micros, get, micros, now};

const SIGNAL_COLUMNS: &str = "id, project, topic, action, summary, affects, instance, session_id, created_us, expires_us, \
     project_key, author";

fn decode_signal(row: &Row) -> R<PoolSignal> {
    let id: i64 = get(row, 0)?;
    let action: String = get(row, 3)?;
    let affects: String = get(row, 5)?;
    let expires: Option<i64> = get(row, 9)?;
    Ok(PoolSignal {
        id,
        project: Project::from_parts(get::<String>(row, 1)?, get::<String>(row, 10)?),
        topic: get(row, 2)?,
        action: PoolAction::parse(&action)
            .map_err(|e| unreadable(format!("pool signal {id}: {e}")))?,
        summary: get(row, 4)?,
        affects: serde_json::from_str(&affects)
            .map_err(|e| unreadable(format!("pool signal {id} affects: {e}")))?,
        instance: get(row, 6)?,
        session_id: get(row, 7)?,
        created_at: from_micros(get(row, 8)?)?,
        expires_at: expires.map(from_micros).transpose()?,
        author: get(row, 11)?,
    })
}

pub(crate) async fn add_signal(tx: &Transaction<'_>, new: &NewPoolSignal) -> R<PoolSignal> {
    let affects = serde_json::to_string(&new.affects)
        .map_err(|e| Error::invalid(format!("pool signal affects: {e}")))?;
    let statement = tx
        .prepare_cached(&format!(
            "INSERT INTO pool_signals (project, topic, action, summary, affects, instance, \
             session_id, created_us, expires_us, project_key, author) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             RETURNING {SIGNAL_COLUMNS}"
        ))
        .await?;
    let row = tx
        .query_one(
            &statement,
            &[
                &new.project.as_str(),
                &new.topic,
                &new.action.as_str(),
                &new.summary,
                &affects,
                &new.instance,
                &new.session_id,
                &micros(now()),
                &new.expires_at.map(micros),
                &new.project.key(),
                &cairn_core::author::current(),
            ],
        )
        .await?;
    decode_signal(&row)
}

pub(crate) async fn signals(
    tx: &Transaction<'_>,
    project: Option<&Project>,
    since: Timestamp,
) -> R<Vec<PoolSignal>> {
    let statement = tx
        .prepare_cached(&format!(
            "SELECT {SIGNAL_COLUMNS} FROM pool_signals \
             WHERE ($1::TEXT IS NULL OR project_key = $1) AND created_us >= $2 \
             ORDER BY created_us, id"
        ))
        .await?;
    tx.query(&statement, &[&project.map(Project::key), &micros(since)])
        .await?
        .iter()
        .map(decode_signal)
        .collect()
}

pub(crate) async fn touch(
    tx: &Transaction<'_>,
    project: &Project,
    instance: &str,
    client: Option<&str>,
) -> R<()> {
    // `xmax = 0` is true only for a freshly inserted row: only a new instance
    // pays for the bound.
    let statement = tx
        .prepare_cached(
            "INSERT INTO pool_instances (project, instance, client, last_seen_us, project_key) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (project, instance) DO UPDATE SET \
                 client = coalesce(EXCLUDED.client, pool_instances.client), \
                 last_seen_us = EXCLUDED.last_seen_us \
             RETURNING (xmax = 0)",
        )
        .await?;
    let row = tx
        .query_one(
            &statement,
            &[
                &project.as_str(),
                &instance,
                &client,
                &micros(now()),
                &project.key(),
            ],
        )
        .await?;
    let inserted: bool = get(&row, 0)?;
    if inserted {
        drop_least_recent(tx, project).await?;
    }
    Ok(())
}

/// Keeps the newest `MAX_POOL_INSTANCES_PER_PROJECT` of the project (by its key:
/// every checkout of one repository together, as the pool shows them) and the
/// newest `MAX_POOL_INSTANCES` overall (clients choose instance ids, so rows must
/// not grow without bound). Both walks are index scans of at most the bound.
/// Concurrent new instances may each miss the others' rows, so the bound can be
/// passed by the writers in flight at once; the next new instance trims it back.
async fn drop_least_recent(tx: &Transaction<'_>, project: &Project) -> R<()> {
    let per_project = i64::try_from(MAX_POOL_INSTANCES_PER_PROJECT).unwrap_or(i64::MAX);
    let overall = i64::try_from(MAX_POOL_INSTANCES).unwrap_or(i64::MAX);
    let statement = tx
        .prepare_cached(
            "DELETE FROM pool_instances WHERE project_key = $1 AND (project, instance) IN ( \
                 SELECT project, instance FROM pool_instances WHERE project_key = $1 \
                 ORDER BY last_seen_us DESC OFFSET $2)",
        )
        .await?;
    tx.execute(&statement, &[&project.key(), &per_project])
        .await?;
    let statement = tx
        .prepare_cached(
            "DELETE FROM pool_instances WHERE (project, instance) IN ( \
                 SELECT project, instance FROM pool_instances \
                 ORDER BY last_seen_us DESC OFFSET $1)",
        )
        .await?;
    tx.execute(&statement, &[&overall]).await?;
    Ok(())
}

pub(crate) async fn instances(
    tx: &Transaction<'_>,
    project: Option<&Project>,
    since: Timestamp,
) -> R<Vec<PoolInstance>> {
    let statement = tx
        .prepare_cached(
            "SELECT project, instance, client, last_seen_us, project_key FROM pool_instances \
             WHERE ($1::TEXT IS NULL OR project_key = $1) AND last_seen_us >= $2 \
             ORDER BY last_seen_us DESC, project, instance",
        )
        .await?;
    tx.query(&statement, &[&project.map(Project::key), &micros(since)])
        .await?
        .iter()
        .map(|row| {
            Ok(PoolInstance {
                project: Project::from_parts(get::<String>(row, 0)?, get::<String>(row, 4)?),
                instance: get(row, 1)?,
                client: get(row, 2)?,
                last_seen: from_micros(get(row, 3)?)?,
            })
        })
        .collect()
}
