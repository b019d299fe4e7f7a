//! Checkpoints saved by `save_progress`; rounds count per session id.

use cairn_core::{Checkpoint, Error, NewCheckpoint, Project};
use rusqlite::{Connection, OptionalExtension, params};
use ulid::Ulid;

use crate::fail::{R, unreadable};
use crate::time;

const COLUMNS: &str = "checkpoint_id, session_id, project, summary, files_touched, \
     decisions_made, next_steps, round_id, client, instance, created_us, project_key, author";

type RawCheckpoint = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    String,
    Option<String>,
);

fn list_field(name: &str, raw: &str) -> R<Vec<String>> {
    serde_json::from_str(raw).map_err(|e| unreadable(format!("checkpoint {name}: {e}")))
}

fn decode(raw: RawCheckpoint) -> R<Checkpoint> {
    let (
        id,
        session_id,
        project,
        summary,
        files,
        decisions,
        next,
        round,
        client,
        instance,
        us,
        key,
        author,
    ) = raw;
    Ok(Checkpoint {
        checkpoint_id: id,
        session_id,
        project: Project::from_parts(project, key),
        summary,
        files_touched: list_field("files_touched", &files)?,
        decisions_made: list_field("decisions_made", &decisions)?,
        next_steps: list_field("next_steps", &next)?,
        round_id: round,
        client,
        instance,
        created_at: time::from_micros(us)?,
        author,
    })
}

fn collect(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> R<Vec<Checkpoint>> {
    let raws = conn
        .prepare_cached(sql)?
        .query_map(params, |row| RawCheckpoint::try_from(row))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter().map(decode).collect()
}

fn to_json(list: &[String]) -> R<String> {
    serde_json::to_string(list).map_err(|e| Error::invalid(format!("checkpoint list: {e}")).into())
}

pub(crate) fn save(conn: &Connection, new: &NewCheckpoint) -> R<Checkpoint> {
    let round_id = match &new.round_id {
        Some(round) => round.clone(),
        None => {
            let last: Option<i64> = conn
                .prepare_cached("SELECT max(round_no) FROM checkpoints WHERE session_id = ?1")?
                .query_row([&new.session_id], |row| row.get(0))?;
            (last.unwrap_or(0) + 1).to_string()
        }
    };
    // Numeric rounds (given or assigned) feed the next assignment.
    let round_no: Option<i64> = round_id.trim().parse().ok();
    let checkpoint_id = Ulid::new().to_string();
    let created_at = time::now();
    let author = cairn_core::author::current();
    conn.prepare_cached(
        "INSERT INTO checkpoints (checkpoint_id, session_id, project, summary, files_touched, \
         decisions_made, next_steps, round_id, round_no, client, instance, created_us, \
         project_key, author) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        checkpoint_id,
        new.session_id,
        new.project.as_str(),
        new.summary,
        to_json(&new.files_touched)?,
        to_json(&new.decisions_made)?,
        to_json(&new.next_steps)?,
        round_id,
        round_no,
        new.client,
        new.instance,
        time::micros(created_at),
        new.project.key(),
        author,
    ])?;
    // The row holds exactly what was given (the time at microseconds, as
    // stored): no need to read it back.
    Ok(Checkpoint {
        checkpoint_id,
        session_id: new.session_id.clone(),
        project: new.project.clone(),
        summary: new.summary.clone(),
        files_touched: new.files_touched.clone(),
        decisions_made: new.decisions_made.clone(),
        next_steps: new.next_steps.clone(),
        round_id,
        client: new.client.clone(),
        instance: new.instance.clone(),
        created_at,
        author: Some(author.to_owned()),
    })
}

pub(crate) fn of_session(conn: &Connection, session_id: &str) -> R<Vec<Checkpoint>> {
    let sql = format!("SELECT {COLUMNS} FROM checkpoints WHERE session_id = ?1 ORDER BY id");
    collect(conn, &sql, [session_id])
}

pub(crate) fn latest(conn: &Connection, session_id: &str) -> R<Option<Checkpoint>> {
    let sql =
        format!("SELECT {COLUMNS} FROM checkpoints WHERE session_id = ?1 ORDER BY id DESC LIMIT 1");
    let raw = conn
        .prepare_cached(&sql)?
        .query_row([session_id], |row| RawCheckpoint::try_from(row))
        .optional()?;
    raw.map(decode).transpose()
}

pub(crate) fn recent(
    conn: &Connection,
    project: Option<&Project>,
    limit: u32,
) -> R<Vec<Checkpoint>> {
    let limit = if limit == 0 { -1 } else { i64::from(limit) };
    let sql = format!(
        "SELECT {COLUMNS} FROM checkpoints WHERE id IN ( \
             SELECT max(id) FROM checkpoints WHERE (?1 IS NULL OR project_key = ?1) \
             GROUP BY session_id) \
         ORDER BY id DESC LIMIT ?2"
    );
    collect(conn, &sql, params![project.map(Project::key), limit])
}
