//! The tools' input schemas. These types describe the arguments to clients
//! (`inputSchema`); `tool_args.rs` reads them, naming the field of every refusal.

#![allow(dead_code)] // Fields exist for their schema; arguments are read by `ToolArgs`.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// A list of strings: a JSON array, that array sent as a string, or one string
/// with items separated by commas or newlines.
pub(crate) struct ListParam;

impl JsonSchema for ListParam {
    fn schema_name() -> Cow<'static, str> {
        "ListParam".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "array", "items": { "type": "string", "maxLength": 4096 }, "maxItems": 1000 },
                { "type": "string" }
            ],
            "description": "A JSON array of strings, or one string with items separated by commas or newlines (a string that is a JSON array of strings is read as that array). At most 1,000 items of 4 KiB each."
        })
    }

    fn inline_schema() -> bool {
        true
    }
}

/// Default and largest `limit` of the listing tools; the schema carries both.
pub(crate) const DEFAULT_LIMIT: u32 = 20;
pub(crate) const MAX_LIMIT: u32 = 200;

/// A listing limit: an integer from 1 to [`MAX_LIMIT`], the bound the tools check.
pub(crate) struct Limit;

impl JsonSchema for Limit {
    fn schema_name() -> Cow<'static, str> {
        "Limit".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_LIMIT,
            "default": DEFAULT_LIMIT
        })
    }

    fn inline_schema() -> bool {
        true
    }
}

/// A round id: a string, or an integer sent as one.
pub(crate) struct RoundId;

impl JsonSchema for RoundId {
    fn schema_name() -> Cow<'static, str> {
        "RoundId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "integer"] })
    }

    fn inline_schema() -> bool {
        true
    }
}

#[derive(JsonSchema)]
pub(crate) struct SaveProgressParams {
    /// Any id you choose for this piece of work, e.g. `project-auth-v2`; reuse it to add rounds.
    session_id: String,
    /// What was done and where things stand (at most 64 KiB).
    summary: String,
    /// Files created or changed.
    files_touched: Option<ListParam>,
    /// Decisions taken, so that the next session does not re-debate them.
    decisions_made: Option<ListParam>,
    /// What to do next, in order.
    next_steps: Option<ListParam>,
    /// The round this checkpoint belongs to; default: the next round number of the session id.
    round_id: Option<RoundId>,
    /// Project directory; default: the server's project.
    project: Option<String>,
}

#[derive(JsonSchema)]
pub(crate) struct WhereWasIParams {
    /// A checkpoint session id or a cairn chat session name; default: the most recent session across all projects.
    session_id: Option<String>,
    /// Only sessions saved by this client (its MCP clientInfo name).
    client: Option<String>,
}

#[derive(JsonSchema)]
pub(crate) struct GetProgressParams {
    /// The session id used with save_progress.
    session_id: String,
    /// One round only.
    round_id: Option<RoundId>,
    /// true (default): the latest checkpoint; false: every checkpoint, oldest first.
    latest: Option<bool>,
}

#[derive(JsonSchema)]
pub(crate) struct PoolSignalParams {
    /// One of: claimed, started, progress, completed, blocked, unblocked, released, handoff, signaling.
    action: PoolActionParam,
    /// What the signal is about, e.g. `auth-refresh` (one line).
    topic: String,
    /// What happened, what blocks you, or the notes for whoever takes over (at most 64 KiB).
    summary: String,
    /// Paths (files or folders, relative to the project root) this work touches.
    affects: Option<ListParam>,
    /// Your checkpoint session id, if any.
    session_id: Option<String>,
    /// Project directory; default: the server's project.
    project: Option<String>,
}

pub(crate) struct PoolActionParam;

impl JsonSchema for PoolActionParam {
    fn schema_name() -> Cow<'static, str> {
        "PoolAction".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "enum": ["claimed", "started", "progress", "completed", "blocked",
                     "unblocked", "released", "handoff", "signaling"]
        })
    }

    fn inline_schema() -> bool {
        true
    }
}

#[derive(JsonSchema)]
pub(crate) struct PoolStatusParams {
    /// Every project instead of the current one.
    all_projects: Option<bool>,
    /// Project directory; default: the server's project.
    project: Option<String>,
}

#[derive(JsonSchema)]
pub(crate) struct ListSessionsParams {
    /// Only this project directory; default: every project.
    project: Option<String>,
    /// At most this many of each kind (1–200, default 20).
    limit: Option<Limit>,
}

#[derive(JsonSchema)]
pub(crate) struct SearchSessionsParams {
    /// Words to find in chat messages and checkpoints.
    query: String,
    /// At most this many hits (1–200, default 20).
    limit: Option<Limit>,
}

#[derive(Debug, serde::Deserialize, JsonSchema)]
pub(crate) struct ResumePromptArgs {
    /// A checkpoint session id or chat session name; default: the most recent session.
    pub session_id: Option<String>,
}
