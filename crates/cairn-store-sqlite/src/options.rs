//! The SQLite backend's own options: the `[store]` table of the settings when the
//! store is a SQLite file.

use serde::{Deserialize, Serialize};

/// How hard a commit waits for the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// Durable across process crashes (WAL's `synchronous = NORMAL`).
    #[default]
    Normal,
    /// Also durable across power loss; slower appends.
    Full,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
}
