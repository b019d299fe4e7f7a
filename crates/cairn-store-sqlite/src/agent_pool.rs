//! The agent pool: signals and the instances heard from.

use cairn_core::store::{MAX_POOL_INSTANCES, MAX_POOL_INSTANCES_PER_PROJECT, PoolInstance};
use cairn_core::{Error, NewPoolSignal, PoolAction, PoolSignal, Project, Timestamp};
use rusqlite::{Connection, params};

use crate::fail::{R, unreadable};
use crate::time;

const SIGNAL_COLUMNS: &str = "id, project, topic, action, summary, affects, instance, session_id, created_us, expires_us, \
     project_key, author";

type RawSignal = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    String,
    Option<String>,
);

fn decode_signal(raw: RawSignal) -> R<PoolSignal> {
    let (
        id,
        project,
        topic,
        action,
        summary,
        affects,
        instance,
        session_id,
        created,
        expires,
        key,
        author,
    ) = raw;
    Ok(PoolSignal {
        id,
        project: Project::from_parts(project, key),
        topic,
        action: PoolAction::parse(&action)
            .map_err(|e| unreadable(format!("pool signal {id}: {e}")))?,
        summary,
        affects: serde_json::from_str(&affects)
            .map_err(|e| unreadable(format!("pool signal {id} affects: {e}")))?,
        instance,
        session_id,
        created_at: time::from_micros(created)?,
        expires_at: expires.map(time::from_micros).transpose()?,
        author,
    })
}

pub(crate) fn add_signal(conn: &Connection, new: &NewPoolSignal) -> R<PoolSignal> {
    let affects = serde_json::to_string(&new.affects)
        .map_err(|e| Error::invalid(format!("pool signal affects: {e}")))?;
    // Expiry is compared with integer microseconds, like creation.
    let expires = new.expires_at.map(time::micros);
    conn.prepare_cached(
        "INSERT INTO pool_signals (project, topic, action, summary, affects, instance, \
         session_id, created_us, expires_us, project_key, author) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        new.project.as_str(),
        new.topic,
        new.action.as_str(),
        new.summary,
        affects,
        new.instance,
        new.session_id,
        time::micros(time::now()),
        expires,
        new.project.key(),
        cairn_core::author::current(),
    ])?;
    let sql = format!("SELECT {SIGNAL_COLUMNS} FROM pool_signals WHERE id = ?1");
    let raw = conn
        .prepare_cached(&sql)?
        .query_row([conn.last_insert_rowid()], |row| RawSignal::try_from(row))?;
    decode_signal(raw)
}

pub(crate) fn signals(
    conn: &Connection,
    project: Option<&Project>,
    since: Timestamp,
) -> R<Vec<PoolSignal>> {
    let raws = match project {
        Some(project) => {
            let sql = format!(
                "SELECT {SIGNAL_COLUMNS} FROM pool_signals WHERE project_key = ?1 AND created_us >= ?2 \
                 ORDER BY created_us, id"
            );
            conn.prepare_cached(&sql)?
                .query_map(params![project.key(), time::micros(since)], |row| {
                    RawSignal::try_from(row)
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?
        }
        None => {
            let sql = format!(
                "SELECT {SIGNAL_COLUMNS} FROM pool_signals WHERE created_us >= ?1 \
                 ORDER BY created_us, id"
            );
            conn.prepare_cached(&sql)?
                .query_map(params![time::micros(since)], |row| RawSignal::try_from(row))?
                .collect::<rusqlite::Result<Vec<_>>>()?
        }
    };
    raws.into_iter().map(decode_signal).collect()
}

pub(crate) fn touch(
    conn: &Connection,
    project: &Project,
    instance: &str,
    client: Option<&str>,
) -> R<()> {
    let now = time::micros(time::now());
    // The common path (a known instance calling another tool) is one UPDATE;
    // only a new instance pays for the insert and the bound.
    let updated = conn
        .prepare_cached(
            "UPDATE pool_instances SET client = coalesce(?3, client), last_seen_us = ?4 \
             WHERE project = ?1 AND instance = ?2",
        )?
        .execute(params![project.as_str(), instance, client, now])?;
    if updated > 0 {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO pool_instances (project, instance, client, last_seen_us, project_key) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        project.as_str(),
        instance,
        client,
        now,
        project.key()
    ])?;
    drop_least_recent(conn, project)
}

/// Keeps the newest `MAX_POOL_INSTANCES_PER_PROJECT` of the project (by its key:
/// every checkout of one repository together, as the pool shows them) and the
/// newest `MAX_POOL_INSTANCES` overall (clients choose instance ids, so rows must
/// not grow without bound). Both walks are index scans of at most the bound.
fn drop_least_recent(conn: &Connection, project: &Project) -> R<()> {
    let per_project = i64::try_from(MAX_POOL_INSTANCES_PER_PROJECT).unwrap_or(i64::MAX);
    let overall = i64::try_from(MAX_POOL_INSTANCES).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "DELETE FROM pool_instances WHERE project_key = ?1 AND (project, instance) IN ( \
             SELECT project, instance FROM pool_instances WHERE project_key = ?1 \
             ORDER BY last_seen_us DESC LIMIT -1 OFFSET ?2)",
    )?
    .execute(params![project.key(), per_project])?;
    conn.prepare_cached(
        "DELETE FROM pool_instances WHERE (project, instance) IN ( \
             SELECT project, instance FROM pool_instances \
             ORDER BY last_seen_us DESC LIMIT -1 OFFSET ?1)",
    )?
    .execute(params![overall])?;
    Ok(())
}

pub(crate) fn instances(
    conn: &Connection,
    project: Option<&Project>,
    since: Timestamp,
) -> R<Vec<PoolInstance>> {
    let raws = conn
        .prepare_cached(
            "SELECT project, instance, client, last_seen_us, project_key FROM pool_instances \
             WHERE (?1 IS NULL OR project_key = ?1) AND last_seen_us >= ?2 \
             ORDER BY last_seen_us DESC, project, instance",
        )?
        .query_map(
            params![project.map(Project::key), time::micros(since)],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, String>(4)?,
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raws.into_iter()
        .map(|(project, instance, client, seen, key)| {
            Ok(PoolInstance {
                project: Project::from_parts(project, key),
                instance,
                client,
                last_seen: time::from_micros(seen)?,
            })
        })
        .collect()
}
