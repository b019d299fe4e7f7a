//! Migration step 3, the part SQL cannot do: the key of every project whose
//! directory exists on the machine that migrates is computed from its checkout
//! (origin URL, root commit). Projects whose directory is not here keep their
//! path as key.

use cairn_core::Project;
use deadpool_postgres::Transaction;

use crate::fail::R;

/// Tables that name a project, each with its `project` and `project_key` columns.
const TABLES: [&str; 4] = ["sessions", "checkpoints", "pool_signals", "pool_instances"];

/// Runs inside the migration's transaction.
pub(crate) async fn backfill(tx: &Transaction<'_>) -> R<()> {
    let mut roots: Vec<String> = Vec::new();
    for table in TABLES {
        for row in tx
            .query(&format!("SELECT DISTINCT project FROM {table}"), &[])
            .await?
        {
            roots.push(row.try_get(0)?);
        }
    }
    roots.sort();
    roots.dedup();
    // Probing a checkout reads files and may run `git`: off the async threads.
    let keyed = tokio::task::spawn_blocking(move || {
        roots
            .into_iter()
            .map(|root| {
                let key = Project::keyed_if_present(root.as_str()).key().to_owned();
                (root, key)
            })
            .filter(|(root, key)| root != key)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    for (root, key) in keyed {
        for table in TABLES {
            tx.execute(
                &format!("UPDATE {table} SET project_key = $1 WHERE project = $2"),
                &[&key, &root],
            )
            .await?;
        }
    }
    Ok(())
}
