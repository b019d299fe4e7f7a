//! Checkpoints saved by `save_progress`; rounds count per session id.

use cairn_core::{Checkpoint, Error, NewCheckpoint, Project};
use deadpool_postgres::Transaction;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use ulid::Ulid;

use crate::fail::{R, unreadable};
use crate::rows::{from_micros, get, limit, micros, now};

const COLUMNS: &str = "checkpoint_id, session_id, project, summary, files_touched, \
     decisions_made, next_steps, round_id, client, instance, created_us, project_key, author";

fn list_field(row: &Row, index: usize, name: &str) -> R<Vec<String>> {
    let raw: String = get(row, index)?;
    serde_json::from_str(&raw).map_err(|e| unreadable(format!("checkpoint {name}: {e}")))
}

fn decode(row: &Row) -> R<Checkpoint> {
    Ok(Checkpoint {
        checkpoint_id: get(row, 0)?,
        session_id: get(row, 1)?,
        project: Project::from_parts(get::<String>(row, 2)?, get::<String>(row, 11)?),
        summary: get(row, 3)?,
        files_touched: list_field(row, 4, "files_touched")?,
        decisions_made: list_field(row, 5, "decisions_made")?,
        next_steps: list_field(row, 6, "next_steps")?,
        round_id: get(row, 7)?,
        client: get(row, 8)?,
        instance: get(row, 9)?,
        created_at: from_micros(get(row, 10)?)?,
        author: get(row, 12)?,
    })
}

async fn collect(
    tx: &Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> R<Vec<Checkpoint>> {
    let statement = tx.prepare_cached(sql).await?;
    tx.query(&statement, params)
        .await?
        .iter()
        .map(decode)
        .collect()
}

fn to_json(list: &[String]) -> R<String> {
    serde_json::to_string(list).map_err(|e| Error::invalid(format!("checkpoint list: {e}")).into())
}

pub(crate) async fn save(tx: &Transaction<'_>, new: &NewCheckpoint) -> R<Checkpoint> {
    // Savers of one session id take turns, so two never get the same round.
    let statement = tx
        .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended('checkpoint:' || $1, 0))")
        .await?;
    tx.execute(&statement, &[&new.session_id]).await?;
    let round_id = match &new.round_id {
        Some(round) => round.clone(),
        None => {
            let statement = tx
                .prepare_cached("SELECT max(round_no) FROM checkpoints WHERE session_id = $1")
                .await?;
            let last: Option<i64> = get(&tx.query_one(&statement, &[&new.session_id]).await?, 0)?;
            (last.unwrap_or(0).saturating_add(1)).to_string()
        }
    };
    // Numeric rounds (given or assigned) feed the next assignment.
    let round_no: Option<i64> = round_id.trim().parse().ok();
    let checkpoint_id = Ulid::new().to_string();
    let statement = tx
        .prepare_cached(&format!(
            "INSERT INTO checkpoints (checkpoint_id, session_id, project, summary, files_touched, \
             decisions_made, next_steps, round_id, round_no, client, instance, created_us, \
             project_key, author) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             RETURNING {COLUMNS}"
        ))
        .await?;
    let row = tx
        .query_one(
            &statement,
            &[
                &checkpoint_id,
                &new.session_id,
                &new.project.as_str(),
                &new.summary,
                &to_json(&new.files_touched)?,
                &to_json(&new.decisions_made)?,
                &to_json(&new.next_steps)?,
                &round_id,
                &round_no,
                &new.client,
                &new.instance,
                &micros(now()),
                &new.project.key(),
                &cairn_core::author::current(),
            ],
        )
        .await?;
    decode(&row)
}

pub(crate) async fn of_session(tx: &Transaction<'_>, session_id: &str) -> R<Vec<Checkpoint>> {
    let sql = format!("SELECT {COLUMNS} FROM checkpoints WHERE session_id = $1 ORDER BY id");
    collect(tx, &sql, &[&session_id]).await
}

pub(crate) async fn latest(tx: &Transaction<'_>, session_id: &str) -> R<Option<Checkpoint>> {
    let sql =
        format!("SELECT {COLUMNS} FROM checkpoints WHERE session_id = $1 ORDER BY id DESC LIMIT 1");
    Ok(collect(tx, &sql, &[&session_id]).await?.into_iter().next())
}

pub(crate) async fn recent(
    tx: &Transaction<'_>,
    project: Option<&Project>,
    page: u32,
) -> R<Vec<Checkpoint>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM checkpoints WHERE id IN ( \
             SELECT max(id) FROM checkpoints WHERE ($1::TEXT IS NULL OR project_key = $1) \
             GROUP BY session_id) \
         ORDER BY id DESC LIMIT $2"
    );
    collect(tx, &sql, &[&project.map(Project::key), &limit(page)]).await
}
