//! What the agent's file tools record so that a rewind can put files back: before
//! `write_file` / `edit_file` change a file, its content goes to the attachment
//! store (content-addressed, so unchanged content is stored once) and the tool's
//! result message carries `file_snapshot: {path, before, after}` — the sha256 of
//! the content before and after the call (`null`: the file did not exist).

use cairn_core::{Message, Payload};
use serde::{Deserialize, Serialize};

/// The field of a tool result message that carries the snapshot.
pub const FIELD: &str = "file_snapshot";

/// The MIME type file contents are stored under.
pub const MIME: &str = "application/octet-stream";

/// Files larger than this are not snapshotted (the rewind then says so).
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSnapshot {
    /// The path as the tool was given it, relative to the project root.
    pub path: String,
    /// sha256 of the content before the call; `None`: the file did not exist.
    pub before: Option<String>,
    /// sha256 of the content the call left; `None`: there is no file.
    pub after: Option<String>,
}

impl FileSnapshot {
    /// The snapshot a message carries, if any.
    pub fn of(payload: &Payload) -> Option<FileSnapshot> {
        let message: &Message = payload.as_message()?;
        serde_json::from_value(message.extra.get(FIELD)?.clone()).ok()
    }

    /// Puts the snapshot on a tool result message.
    pub fn attach(&self, message: &mut Message) {
        if let Ok(value) = serde_json::to_value(self) {
            message.extra.insert(FIELD.into(), value);
        }
    }
}
