//! Forking a session: a new session that shares the parent's history up to a seq
//! (default: its head) without copying it (`Store::fork_session`). The CLI, the
//! REPL, the MCP tool and ACP all fork through here.

use cairn_core::{NewSession, Result, Session, SessionName, Store};
use serde::Serialize;
use ulid::Ulid;

/// What a fork made.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Forked {
    /// The new session's name.
    pub name: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub id: Ulid,
    /// The session it was forked from.
    pub parent: String,
    /// The parent's last event the fork shares.
    pub fork_seq: u64,
}

impl Forked {
    pub fn of(fork: &Session, parent: &Session) -> Self {
        Forked {
            name: fork.name.to_string(),
            id: fork.id,
            parent: parent.name.to_string(),
            fork_seq: fork.fork_seq.unwrap_or(fork.head_seq),
        }
    }

    pub fn to_markdown(&self) -> String {
        format!(
            "Forked `{}` from `{}` at seq {}: it shares {}'s history up to there; resume it \
             with `cairn run --resume {}`.\n",
            self.name, self.parent, self.fork_seq, self.parent, self.name
        )
    }
}

/// Forks the session `parent` into `new` at `at` (default: the parent's head). The
/// fork keeps the parent's project, title and model.
pub async fn fork(
    store: &dyn Store,
    parent: &SessionName,
    new: SessionName,
    at: Option<u64>,
) -> Result<(Session, Session)> {
    let parent = store.session(parent).await?;
    let mut request = NewSession::new(new, parent.project.clone());
    request.title = parent.title.clone();
    request.model = parent.model.clone();
    let fork = store.fork_session(parent.id, at, request).await?;
    Ok((fork, parent))
}
