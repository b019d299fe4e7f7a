//! cairn-app: the use cases of cairn, each written once over the `Store` trait.
//!
//! The faces (the CLI, the MCP handler, later the daemon) parse their arguments, call
//! an operation here and render what it returns; none of them holds the logic of an
//! operation itself. Each operation returns a typed result (`Serialize`; with the
//! `schema` feature also `schemars::JsonSchema`): what the CLI prints with `--json`
//! and the MCP tools return as `structuredContent` and declare as `outputSchema`.
//!
//! - import ([`Importer`], JSONL v1) and export of a session;
//! - [`progress`]: save and get progress (checkpoints);
//! - [`where_was_i`] and the [`resume_brief`] it is built on;
//! - [`sessions`]: the all-sessions listing and the merged search;
//! - [`pool_status`]: the agent pool (store I/O), [`pool_replay`] (the replay of
//!   its signals), [`pool_markdown`] (its rendering).
//! - [`recall`]: a model reads a session's whole history again (search, one event);
//! - [`inputs`]: the operations' typed inputs (what the MCP tools read their arguments into).

mod claude_code_branches;
mod claude_code_line;
pub mod export;
pub mod export_readable;
pub mod file_snapshot;
pub mod fork;
pub mod import;
pub mod import_claude_code;
pub mod import_codex;
mod import_forks;
pub mod import_transcripts;
pub mod importer;
pub mod inputs;
pub mod jsonl_v1;
pub mod live_tokens;
pub mod media;
pub mod pool_markdown;
pub mod pool_replay;
pub mod pool_status;
pub mod progress;
pub mod progress_transfer;
mod read_ahead;
pub mod recall;
pub mod resume_brief;
pub mod rewind;
pub mod sessions;
pub mod store_copy;
pub mod transcript;
pub mod usage;
pub mod where_was_i;

pub use import::{ImportRequest, Imported, import_session};
pub use import_transcripts::{
    Found, Summary, Tool, TranscriptImport, discover, import_transcripts,
};
pub use importer::{Importer, Survey};
pub use jsonl_v1::JsonlV1;
