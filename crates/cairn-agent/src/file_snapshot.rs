//! The file-snapshot hook of the file tools: before `write_file` / `edit_file`
//! change a file, its content goes to the attachment store (content-addressed,
//! deduplicated), and the result message records what the call changed
//! (`cairn_app::file_snapshot`), so `/rewind` can put the file back.

use std::path::PathBuf;

use cairn_app::file_snapshot::{FileSnapshot, MAX_BYTES, MIME};
use serde_json::Value;

use crate::agent::Agent;
use crate::tools::{EDIT_FILE, ToolOutput, WRITE_FILE};

/// A file about to be changed: where, and the stored content before.
pub(crate) struct Before {
    path: String,
    full: PathBuf,
    before: Option<String>,
}

/// Stores the content of the file a `write_file` / `edit_file` call is about to
/// change. `None` for other tools, and for what is not snapshotted (a path the
/// tool will refuse anyway, a file over [`MAX_BYTES`], not a regular file).
pub(crate) async fn before(agent: &Agent, name: &str, input: &Value) -> Option<Before> {
    if name != WRITE_FILE && name != EDIT_FILE {
        return None;
    }
    let path = input.get("path")?.as_str()?.to_owned();
    let full = cairn_app::rewind::target(agent.toolbox.root(), &path).ok()?;
    let before = match read_small(&full)? {
        Some(bytes) => Some(agent.store.put_attachment(MIME, bytes).await.ok()?.sha256),
        None => None,
    };
    Some(Before { path, full, before })
}

/// What the call left, once it ran: the snapshot its result message carries.
pub(crate) fn after(before: Option<Before>, output: &ToolOutput) -> Option<FileSnapshot> {
    let before = before?;
    let after = read_small(&before.full)?.map(|b| cairn_core::attachment::sha256_hex(&b));
    if output.is_error && after == before.before {
        return None;
    }
    Some(FileSnapshot {
        path: before.path,
        before: before.before,
        after,
    })
}

/// The file's bytes (`Some(None)`: there is no file); `None` when it is not a
/// regular file or larger than [`MAX_BYTES`].
fn read_small(path: &std::path::Path) -> Option<Option<Vec<u8>>> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(None),
        Err(_) => None,
        Ok(meta) if !meta.is_file() || meta.len() > MAX_BYTES => None,
        Ok(_) => std::fs::read(path).ok().map(Some),
    }
}
