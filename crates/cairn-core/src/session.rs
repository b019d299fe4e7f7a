//! Sessions: named, persistent conversations.

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::{Project, SessionName, Timestamp, Usage};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Active,
    Done,
    Archived,
}

impl SessionStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionStatus::Active => "active",
            SessionStatus::Done => "done",
            SessionStatus::Archived => "archived",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(SessionStatus::Active),
            "done" => Some(SessionStatus::Done),
            "archived" => Some(SessionStatus::Archived),
            _ => None,
        }
    }
}

/// A session's metadata and running totals, as kept in the index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: Ulid,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub name: SessionName,
    pub title: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub project: Project,
    /// The parent of a sub-agent or fork.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub parent_id: Option<Ulid>,
    /// The parent's seq this session was forked at (`None` for a sub-agent). A fork
    /// shares the parent's history up to here and numbers its own events on.
    pub fork_seq: Option<u64>,
    pub model: Option<String>,
    pub status: SessionStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
    /// Last activity: the time of the newest event, or of creation.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub updated_at: Timestamp,
    /// Cumulative usage over every request (deduplicated by provider request id).
    pub usage: Usage,
    pub cost_usd: f64,
    /// Cost at the last spending checkpoint (limits count from here).
    pub spend_checkpoint_usd: f64,
    /// Estimated tokens of the live context, kept current after every turn.
    pub live_tokens: u64,
    /// Seq of the newest event; 0 for an empty session.
    pub head_seq: u64,
    /// First seq of the live context after the latest compaction (1 when none).
    pub context_start_seq: u64,
    /// Seq of the compaction that opens the live context, if any.
    pub compaction_seq: Option<u64>,
    /// Seq ranges after `context_start_seq` that rewinds took out of the live
    /// context (`cairn_core::lineage`), ascending.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live_gaps: Vec<[u64; 2]>,
    pub message_count: u64,
    pub tool_call_count: u64,
    pub compaction_count: u64,
}

/// What a caller provides to create a session.
#[derive(Clone, Debug, PartialEq)]
pub struct NewSession {
    pub name: SessionName,
    pub title: Option<String>,
    pub project: Project,
    pub model: Option<String>,
    pub parent_id: Option<Ulid>,
    pub fork_seq: Option<u64>,
    /// Defaults to now; imports keep the original time.
    pub created_at: Option<Timestamp>,
}

impl NewSession {
    pub fn new(name: SessionName, project: Project) -> Self {
        NewSession {
            name,
            title: None,
            project,
            model: None,
            parent_id: None,
            fork_seq: None,
            created_at: None,
        }
    }
}

/// One row of a session listing, read from the index alone (invariant 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub name: SessionName,
    pub title: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub project: Project,
    pub model: Option<String>,
    pub status: SessionStatus,
    pub message_count: u64,
    /// Total tokens of every kind over the session's requests.
    pub tokens: u64,
    pub live_tokens: u64,
    pub cost_usd: f64,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub updated_at: Timestamp,
    /// The parent of a sub-agent or fork (as `Session::parent_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub parent_id: Option<Ulid>,
    /// A fork's fork point in its parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork_seq: Option<u64>,
}

impl From<&Session> for SessionSummary {
    fn from(s: &Session) -> Self {
        SessionSummary {
            name: s.name.clone(),
            title: s.title.clone(),
            project: s.project.clone(),
            model: s.model.clone(),
            status: s.status,
            message_count: s.message_count,
            tokens: s.usage.total(),
            live_tokens: s.live_tokens,
            cost_usd: s.cost_usd,
            created_at: s.created_at,
            updated_at: s.updated_at,
            parent_id: s.parent_id,
            fork_seq: s.fork_seq,
        }
    }
}

/// Which sessions a listing covers; newest activity first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionFilter {
    /// `None` lists every project.
    pub project: Option<Project>,
    pub limit: u32,
    pub offset: u32,
}
