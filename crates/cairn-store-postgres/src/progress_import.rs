//! Checkpoints and pool signals moved in from another store
//! (`Store::import_progress`): kept as they were, already-present ones skipped.

use cairn_core::store::ProgressImport;
use cairn_core::{Checkpoint, Error, PoolSignal};
use deadpool_postgres::Transaction;

use crate::fail::R;
use crate::rows::micros;

fn list(items: &[String]) -> R<String> {
    serde_json::to_string(items).map_err(|e| Error::invalid(format!("list: {e}")).into())
}

/// Runs inside the caller's transaction: an error rolls back every row.
pub(crate) async fn import(
    tx: &Transaction<'_>,
    checkpoints: &[Checkpoint],
    signals: &[PoolSignal],
) -> R<ProgressImport> {
    let mut done = ProgressImport::default();
    let checkpoint_present = tx
        .prepare_cached("SELECT 1 FROM checkpoints WHERE checkpoint_id = $1")
        .await?;
    let insert_checkpoint = tx
        .prepare_cached(
            "INSERT INTO checkpoints (checkpoint_id, session_id, project, summary, \
             files_touched, decisions_made, next_steps, round_id, round_no, client, instance, \
             created_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .await?;
    for c in checkpoints {
        if tx
            .query_opt(&checkpoint_present, &[&c.checkpoint_id])
            .await?
            .is_some()
        {
            done.checkpoints_present += 1;
            continue;
        }
        let round_no: Option<i64> = c.round_id.trim().parse().ok();
        tx.execute(
            &insert_checkpoint,
            &[
                &c.checkpoint_id,
                &c.session_id,
                &c.project.as_str(),
                &c.summary,
                &list(&c.files_touched)?,
                &list(&c.decisions_made)?,
                &list(&c.next_steps)?,
                &c.round_id,
                &round_no,
                &c.client,
                &c.instance,
                &micros(c.created_at),
            ],
        )
        .await?;
        done.checkpoints_added += 1;
    }
    let signal_present = tx
        .prepare_cached(
            "SELECT 1 FROM pool_signals WHERE created_us = $1 AND project = $2 \
             AND topic = $3 AND action = $4 AND instance = $5 AND summary = $6",
        )
        .await?;
    let insert_signal = tx
        .prepare_cached(
            "INSERT INTO pool_signals (project, topic, action, summary, affects, instance, \
             session_id, created_us, expires_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    for s in signals {
        let created = micros(s.created_at);
        if tx
            .query_opt(
                &signal_present,
                &[
                    &created,
                    &s.project.as_str(),
                    &s.topic,
                    &s.action.as_str(),
                    &s.instance,
                    &s.summary,
                ],
            )
            .await?
            .is_some()
        {
            done.signals_present += 1;
            continue;
        }
        tx.execute(
            &insert_signal,
            &[
                &s.project.as_str(),
                &s.topic,
                &s.action.as_str(),
                &s.summary,
                &list(&s.affects)?,
                &s.instance,
                &s.session_id,
                &created,
                &s.expires_at.map(micros),
            ],
        )
        .await?;
        done.signals_added += 1;
    }
    Ok(done)
}
