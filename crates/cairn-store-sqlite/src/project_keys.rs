//! Migration step 6, the part SQL cannot do: the key of every project whose
//! directory still exists on this machine is computed from its checkout (origin
//! URL, root commit), so that sessions made before keys join the other checkouts
//! of their repository. Projects whose directory is gone keep their path as key.

use cairn_core::Project;
use rusqlite::{Connection, params};

use crate::fail::R;

/// Tables that name a project, each with its `project` and `project_key` columns.
const TABLES: [&str; 4] = ["sessions", "checkpoints", "pool_signals", "pool_instances"];

/// Runs inside the migration's transaction.
pub(crate) fn backfill(conn: &Connection) -> R<()> {
    let mut roots: Vec<String> = Vec::new();
    for table in TABLES {
        let mut statement = conn.prepare(&format!("SELECT DISTINCT project FROM {table}"))?;
        for root in statement.query_map([], |row| row.get::<_, String>(0))? {
            roots.push(root?);
        }
    }
    roots.sort();
    roots.dedup();
    let mut session_keys_changed = false;
    for root in roots {
        let project = Project::keyed_if_present(root.as_str());
        if project.key() == root {
            continue;
        }
        for table in TABLES {
            let changed = conn.execute(
                &format!("UPDATE {table} SET project_key = ?1 WHERE project = ?2"),
                params![project.key(), root],
            )?;
            session_keys_changed |= table == "sessions" && changed > 0;
        }
    }
    // Search scopes by key from now on. The index is external-content: the view
    // changes, and the index is rebuilt when a key changed, so what a later delete
    // recomputes is what was indexed.
    conn.execute_batch(
        "DROP VIEW event_search_text;
         CREATE VIEW event_search_text AS
             SELECT e.id AS id, e.session AS session,
                    cairn_search_text(e.kind, e.body) AS text,
                    cairn_project_token(s.project_key) AS scope
             FROM events e JOIN sessions s ON s.id = e.session;",
    )?;
    if session_keys_changed {
        conn.execute_batch("INSERT INTO event_fts (event_fts) VALUES ('rebuild')")?;
    }
    Ok(())
}
