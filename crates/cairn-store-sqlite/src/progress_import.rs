//! Checkpoints and pool signals moved in from another store
//! (`Store::import_progress`): kept as they were (project key and author included),
//! already-present ones skipped — the same rows `cairn store copy` writes.

use cairn_core::store::ProgressImport;
use cairn_core::{Checkpoint, PoolSignal};
use rusqlite::Connection;

use crate::copies;
use crate::fail::R;

/// Runs inside the caller's transaction: an error rolls back every row.
pub(crate) fn import(
    conn: &Connection,
    checkpoints: &[Checkpoint],
    signals: &[PoolSignal],
) -> R<ProgressImport> {
    let mut done = ProgressImport::default();
    for c in checkpoints {
        if copies::checkpoint(conn, c)? {
            done.checkpoints_added += 1;
        } else {
            done.checkpoints_present += 1;
        }
    }
    for s in signals {
        if copies::pool_signal(conn, s)? {
            done.signals_added += 1;
        } else {
            done.signals_present += 1;
        }
    }
    Ok(done)
}
