//! Rewinding a session to just before one of its user messages: the live context
//! moves back (a `rewind` event, `Store::rewind_session`; the rewound events stay
//! in the history), and the files the agent changed since can be put back from the
//! snapshots its file tools recorded ([`crate::file_snapshot`]). Changes made
//! through `shell` or outside cairn are not tracked; a file changed since the agent
//! last wrote it is overwritten only when the caller says so.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use cairn_core::display::first_line;
use cairn_core::lineage::LiveState;
use cairn_core::{Error, Event, Payload, Result, Role, Session, Store, Timestamp};
use serde::Serialize;

use crate::file_snapshot::FileSnapshot;

/// Events read per page while looking for file changes.
const PAGE: u32 = 500;

/// A user message of the live context, a point a rewind can go back to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Turn {
    pub seq: u64,
    pub ts: Timestamp,
    /// The message's first line.
    pub text: String,
}

/// Whether the event is a message the person typed (not a tool result).
fn is_user_message(event: &Event) -> bool {
    matches!(&event.payload, Payload::Message(m) if m.role == Role::User
        && m.tool_result_ids().next().is_none())
}

/// The user messages of the session's live context, oldest first: the picker's
/// choices (`/rewind N` goes back to the Nth from the end).
pub async fn user_turns(store: &dyn Store, session: &Session) -> Result<Vec<Turn>> {
    let live = store.live_context(session.id, 0).await?;
    Ok(live
        .events
        .iter()
        .filter(|e| is_user_message(e))
        .map(|e| Turn {
            seq: e.seq,
            ts: e.ts,
            text: e
                .payload
                .as_message()
                .map(|m| first_line(&m.plain_text()))
                .unwrap_or_default(),
        })
        .collect())
}

/// A file the agent changed after the rewind point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileChange {
    pub path: String,
    /// The content before the agent's first change (sha256); `None`: the file did
    /// not exist, so restoring removes it.
    pub restore_to: Option<String>,
    /// What the agent's last change left (sha256; `None`: no file).
    pub agent_left: Option<String>,
}

/// What a rewind to `to_seq` would do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RewindPlan {
    pub to_seq: u64,
    /// Events the live context loses.
    pub rewound_events: u64,
    /// Files `write_file` / `edit_file` changed since, each once.
    pub files: Vec<FileChange>,
    /// `shell` calls since: what they changed is not tracked.
    pub shell_calls: u64,
}

/// Checks that `to_seq` is a user message of the session's history and lists what
/// the agent changed since: the events from `to_seq` on that are still live (a
/// range an earlier rewind took back is not counted again).
pub async fn plan(store: &dyn Store, session: &Session, to_seq: u64) -> Result<RewindPlan> {
    let target = store
        .events_after(session.id, to_seq.saturating_sub(1), 1)
        .await?;
    match target.first() {
        Some(event) if event.seq == to_seq && is_user_message(event) => {}
        _ => {
            return Err(Error::invalid(format!(
                "--to {to_seq}: seq {to_seq} of session {} is not a user message; \
                 `cairn sessions context {} --role user` lists them",
                session.name, session.name
            )));
        }
    }
    let state = LiveState::of(session);
    let in_gap = |seq: u64| state.gaps.iter().any(|g| g[0] <= seq && seq <= g[1]);
    let mut files: BTreeMap<String, FileChange> = BTreeMap::new();
    let mut order = Vec::new();
    let (mut rewound_events, mut shell_calls) = (0, 0);
    let mut after = to_seq - 1;
    loop {
        let page = store.events_after(session.id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        let full = page.len() == PAGE as usize;
        for event in page.iter().filter(|e| !in_gap(e.seq)) {
            rewound_events += 1;
            if let Some(m) = event.payload.as_message() {
                shell_calls += m
                    .tool_uses()
                    .filter(|(_, name, _)| *name == "shell")
                    .count() as u64;
            }
            let Some(snapshot) = FileSnapshot::of(&event.payload) else {
                continue;
            };
            match files.get_mut(&snapshot.path) {
                Some(change) => change.agent_left = snapshot.after,
                None => {
                    order.push(snapshot.path.clone());
                    files.insert(
                        snapshot.path.clone(),
                        FileChange {
                            path: snapshot.path,
                            restore_to: snapshot.before,
                            agent_left: snapshot.after,
                        },
                    );
                }
            }
        }
        if !full {
            break;
        }
    }
    Ok(RewindPlan {
        to_seq,
        rewound_events,
        files: order.iter().filter_map(|p| files.remove(p)).collect(),
        shell_calls,
    })
}

/// The rewind itself: returns the rewind event's seq.
pub async fn rewind(store: &dyn Store, session: &Session, to_seq: u64) -> Result<u64> {
    store.rewind_session(session.id, to_seq).await
}

/// What happened to one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Restored {
    /// Put back to its content before the agent's change.
    Restored,
    /// The agent created it; it is gone again.
    Removed,
    /// Already as it was before.
    Unchanged,
    /// Changed since the agent last wrote it; left alone (not confirmed).
    ChangedOutside,
    Failed {
        reason: String,
    },
}

/// Whether the file now differs from what the agent's last change left: someone
/// (a shell command, an editor) changed it since.
pub fn changed_outside(root: &Path, change: &FileChange) -> Result<bool> {
    let path = target(root, &change.path).map_err(Error::invalid)?;
    Ok(current_sha(&path)? != change.agent_left)
}

/// Puts one file back. A file changed outside cairn since the agent wrote it is
/// left alone unless `overwrite_changed`.
pub async fn restore(
    store: &dyn Store,
    root: &Path,
    change: &FileChange,
    overwrite_changed: bool,
) -> Restored {
    match restore_inner(store, root, change, overwrite_changed).await {
        Ok(outcome) => outcome,
        Err(e) => Restored::Failed {
            reason: e.to_string(),
        },
    }
}

async fn restore_inner(
    store: &dyn Store,
    root: &Path,
    change: &FileChange,
    overwrite_changed: bool,
) -> Result<Restored> {
    let path = target(root, &change.path).map_err(Error::invalid)?;
    let now = current_sha(&path)?;
    if now == change.restore_to {
        return Ok(Restored::Unchanged);
    }
    if now != change.agent_left && !overwrite_changed {
        return Ok(Restored::ChangedOutside);
    }
    let Some(sha) = &change.restore_to else {
        std::fs::remove_file(&path).map_err(|e| Error::io(change.path.clone(), e))?;
        return Ok(Restored::Removed);
    };
    let content = store.attachment(sha).await?.bytes;
    let parent = path
        .parent()
        .ok_or_else(|| Error::invalid(format!("{}: no parent directory", change.path)))?;
    std::fs::create_dir_all(parent).map_err(|e| Error::io(change.path.clone(), e))?;
    // Written next to the file and renamed over it: never half a file.
    let mut temp =
        tempfile::NamedTempFile::new_in(parent).map_err(|e| Error::io(change.path.clone(), e))?;
    std::io::Write::write_all(&mut temp, &content)
        .map_err(|e| Error::io(change.path.clone(), e))?;
    temp.persist(&path)
        .map_err(|e| Error::io(change.path.clone(), e.error))?;
    Ok(Restored::Restored)
}

/// The sha256 of the file's content; `None` when there is no file.
fn current_sha(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(cairn_core::attachment::sha256_hex(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path.display().to_string(), e)),
    }
}

/// The file a recorded path names under `root`: relative, no `..`, and no
/// symlink on the way (a path in the store is data, not a place to follow).
pub fn target(root: &Path, recorded: &str) -> std::result::Result<PathBuf, String> {
    let relative = Path::new(recorded);
    let mut path = root.to_path_buf();
    for component in relative.components() {
        match component {
            Component::Normal(name) => path.push(name),
            Component::CurDir => {}
            _ => {
                return Err(format!(
                    "{recorded:?}: a recorded file path must stay inside the project \
                     (relative, without ..)"
                ));
            }
        }
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(format!("{recorded:?}: {} is a symlink", path.display()));
        }
    }
    if path == root {
        return Err(format!("{recorded:?}: not a file path"));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_paths_stay_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        assert!(target(root, "src/a.rs").is_ok());
        assert!(target(root, "../etc/passwd").is_err());
        assert!(target(root, "/etc/passwd").is_err());
        assert!(target(root, "").is_err());
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        assert!(target(root, "link/passwd").is_err());
    }
}
