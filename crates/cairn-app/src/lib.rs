//! cairn-app: the use cases of cairn, each written once over the `Store` trait.
//!
//! The faces (the CLI, the MCP handler, later the daemon) parse their arguments, call
//! an operation here and render what it returns; none of them holds the logic of an
//! operation itself.
//!
//! Here so far: import (the [`Importer`] trait, JSONL v1 as its first source, streamed
//! into one all-or-nothing store transaction) and export. Still to move in: save and
//! get progress, where-was-I, the cross-session listing and search (in
//! `cairn-mcp/src/handler.rs` today), pool status (`cairn-core/src/pool_status.rs`)
//! and the resume brief.

pub mod export;
pub mod import;
pub mod import_claude_code;
pub mod import_codex;
pub mod import_transcripts;
pub mod importer;
pub mod jsonl_v1;
pub mod live_tokens;
pub mod media;
pub mod transcript;

pub use import::{ImportRequest, Imported, import_session};
pub use import_transcripts::{
    Found, Summary, Tool, TranscriptImport, discover, import_transcripts,
};
pub use importer::{Importer, Survey};
pub use jsonl_v1::JsonlV1;
