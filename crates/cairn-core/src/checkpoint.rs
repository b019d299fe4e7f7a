//! Checkpoints written by `save_progress`, `cairn progress save` and `/done`.

use serde::{Deserialize, Serialize};

use crate::{Project, Timestamp};

/// What an agent saves. `session_id` is any string the agent chooses
/// (e.g. `project-auth-v2`); it need not name a chat session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewCheckpoint {
    pub session_id: String,
    pub project: Project,
    pub summary: String,
    pub files_touched: Vec<String>,
    pub decisions_made: Vec<String>,
    pub next_steps: Vec<String>,
    /// `None`: the next round number of this session id.
    pub round_id: Option<String>,
    pub client: Option<String>,
    pub instance: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Checkpoint {
    pub checkpoint_id: String,
    pub session_id: String,
    pub project: Project,
    pub summary: String,
    pub files_touched: Vec<String>,
    pub decisions_made: Vec<String>,
    pub next_steps: Vec<String>,
    pub round_id: String,
    pub client: Option<String>,
    pub instance: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub created_at: Timestamp,
    /// `user@host` of the process that saved it; `None` before authors were kept.
    #[serde(default)]
    pub author: Option<String>,
}
