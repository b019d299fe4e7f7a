//! `[memory]`: what a new session of the chat agent starts with besides its own
//! history: the project's instruction files (`AGENTS.md`, else `CLAUDE.md`) and the
//! where-was-I brief of the project's latest checkpoint.

use serde::{Deserialize, Serialize};

/// Bytes of instruction files put in the system prompt, all files together.
pub const DEFAULT_PROJECT_FILES_MAX_BYTES: usize = 32 * 1024;
/// The most `project_files_max_bytes` may be (a system prompt, not a document store).
pub const MAX_PROJECT_FILES_MAX_BYTES: usize = 1024 * 1024;
/// A checkpoint older than this many hours is not brought into a new session.
pub const DEFAULT_CHECKPOINT_BRIEF_MAX_AGE_HOURS: u64 = 7 * 24;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryLayer {
    pub project_files: Option<bool>,
    pub project_files_max_bytes: Option<usize>,
    pub checkpoint_brief: Option<bool>,
    pub checkpoint_brief_max_age_hours: Option<u64>,
}

impl MemoryLayer {
    /// Why this section cannot be used, naming the key.
    pub fn check(&self) -> Result<(), String> {
        if let Some(bytes) = self.project_files_max_bytes
            && !(1..=MAX_PROJECT_FILES_MAX_BYTES).contains(&bytes)
        {
            return Err(format!(
                "memory.project_files_max_bytes is {bytes}; use 1 to \
                 {MAX_PROJECT_FILES_MAX_BYTES}"
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemorySettings {
    /// Read `AGENTS.md` (else `CLAUDE.md`) of the project root and the folders down
    /// to the working directory into the system prompt of a session.
    pub project_files: bool,
    pub project_files_max_bytes: usize,
    /// Start a new session with the where-was-I brief of the project's latest
    /// checkpoint, when it is recent.
    pub checkpoint_brief: bool,
    pub checkpoint_brief_max_age_hours: u64,
}

impl Default for MemorySettings {
    fn default() -> Self {
        MemorySettings {
            project_files: true,
            project_files_max_bytes: DEFAULT_PROJECT_FILES_MAX_BYTES,
            checkpoint_brief: true,
            checkpoint_brief_max_age_hours: DEFAULT_CHECKPOINT_BRIEF_MAX_AGE_HOURS,
        }
    }
}

impl MemorySettings {
    pub fn apply(&mut self, layer: MemoryLayer) {
        if let Some(v) = layer.project_files {
            self.project_files = v;
        }
        if let Some(v) = layer.project_files_max_bytes {
            self.project_files_max_bytes = v;
        }
        if let Some(v) = layer.checkpoint_brief {
            self.checkpoint_brief = v;
        }
        if let Some(v) = layer.checkpoint_brief_max_age_hours {
            self.checkpoint_brief_max_age_hours = v;
        }
    }
}
