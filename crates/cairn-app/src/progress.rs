//! Save and read progress: the checkpoints `save_progress` / `get_progress` (MCP)
//! and `cairn progress save|get` (CLI) write and read, each written once here.

use cairn_core::{Checkpoint, NewCheckpoint, Project, Result, Store, Timestamp};
use serde::Serialize;

/// What saving a checkpoint reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Saved {
    /// Always "saved".
    pub status: String,
    pub session_id: String,
    pub round_id: String,
    pub checkpoint_id: String,
    pub project: Project,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub saved_at: Timestamp,
}

impl From<&Checkpoint> for Saved {
    fn from(c: &Checkpoint) -> Self {
        Saved {
            status: "saved".to_owned(),
            session_id: c.session_id.clone(),
            round_id: c.round_id.clone(),
            checkpoint_id: c.checkpoint_id.clone(),
            project: c.project.clone(),
            saved_at: c.created_at,
        }
    }
}

/// Save one checkpoint (the face has checked its arguments).
pub async fn save(store: &dyn Store, new: NewCheckpoint) -> Result<Saved> {
    let checkpoint = store.save_checkpoint(new).await?;
    Ok(Saved::from(&checkpoint))
}

/// Which checkpoints of a session id to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rounds {
    /// The latest checkpoint only.
    Latest,
    /// Every round, oldest first.
    All,
    /// One round.
    One(String),
}

/// The checkpoints read, or why there are none.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Progress {
    pub found: bool,
    pub session_id: String,
    /// Set when nothing was found.
    pub message: Option<String>,
    /// The latest checkpoint, one round, or the whole series oldest first.
    pub checkpoints: Vec<Checkpoint>,
}

/// Read the checkpoints of `session_id`.
pub async fn get(store: &dyn Store, session_id: &str, rounds: &Rounds) -> Result<Progress> {
    let checkpoints: Vec<Checkpoint> = match rounds {
        Rounds::Latest => store
            .latest_checkpoint(session_id)
            .await?
            .into_iter()
            .collect(),
        Rounds::All => store.checkpoints(session_id).await?,
        Rounds::One(round) => store
            .checkpoints(session_id)
            .await?
            .into_iter()
            .filter(|c| &c.round_id == round)
            .collect(),
    };
    let found = !checkpoints.is_empty();
    let message = (!found).then(|| match rounds {
        Rounds::One(round) => format!("No progress found for `{session_id}` round {round}."),
        _ => format!("No progress found for `{session_id}`."),
    });
    Ok(Progress {
        found,
        session_id: session_id.to_owned(),
        message,
        checkpoints,
    })
}
