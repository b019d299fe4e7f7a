//! Checkpoints and pool signals moved in from another store
//! (`Store::import_progress`): kept as they were, already-present ones skipped.

use cairn_core::store::ProgressImport;
use cairn_core::{Checkpoint, Error, PoolSignal};
use rusqlite::{Connection, params};

use crate::fail::R;
use crate::time;

fn list(items: &[String]) -> R<String> {
    serde_json::to_string(items).map_err(|e| Error::invalid(format!("list: {e}")).into())
}

/// Runs inside the caller's transaction: an error rolls back every row.
pub(crate) fn import(
    conn: &Connection,
    checkpoints: &[Checkpoint],
    signals: &[PoolSignal],
) -> R<ProgressImport> {
    let mut done = ProgressImport::default();
    for c in checkpoints {
        let present = conn
            .prepare_cached("SELECT 1 FROM checkpoints WHERE checkpoint_id = ?1")?
            .exists([&c.checkpoint_id])?;
        if present {
            done.checkpoints_present += 1;
            continue;
        }
        let round_no: Option<i64> = c.round_id.trim().parse().ok();
        conn.prepare_cached(
            "INSERT INTO checkpoints (checkpoint_id, session_id, project, summary, \
             files_touched, decisions_made, next_steps, round_id, round_no, client, instance, \
             created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            c.checkpoint_id,
            c.session_id,
            c.project.as_str(),
            c.summary,
            list(&c.files_touched)?,
            list(&c.decisions_made)?,
            list(&c.next_steps)?,
            c.round_id,
            round_no,
            c.client,
            c.instance,
            time::micros(c.created_at),
        ])?;
        done.checkpoints_added += 1;
    }
    for s in signals {
        let created = time::micros(s.created_at);
        let present = conn
            .prepare_cached(
                "SELECT 1 FROM pool_signals WHERE created_us = ?1 AND project = ?2 \
                 AND topic = ?3 AND action = ?4 AND instance = ?5 AND summary = ?6",
            )?
            .exists(params![
                created,
                s.project.as_str(),
                s.topic,
                s.action.as_str(),
                s.instance,
                s.summary
            ])?;
        if present {
            done.signals_present += 1;
            continue;
        }
        conn.prepare_cached(
            "INSERT INTO pool_signals (project, topic, action, summary, affects, instance, \
             session_id, created_us, expires_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            s.project.as_str(),
            s.topic,
            s.action.as_str(),
            s.summary,
            list(&s.affects)?,
            s.instance,
            s.session_id,
            created,
            s.expires_at.map(time::micros),
        ])?;
        done.signals_added += 1;
    }
    Ok(done)
}
