//! The tools' structured results. Each type is both the `outputSchema` a tool
//! declares and the `structuredContent` it returns, so the two cannot drift.
//! Times are RFC 3339 strings; projects are absolute paths.

use cairn_core::pool_status::{self, PoolStatus};
use cairn_core::resume_brief::{ChatBrief, WhereWasI};
use cairn_core::{Checkpoint, SearchHit, SessionSummary};
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct SaveProgressOutput {
    /// Always "saved".
    pub status: String,
    pub session_id: String,
    pub round_id: String,
    pub checkpoint_id: String,
    pub project: String,
    pub saved_at: String,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct CheckpointOut {
    pub checkpoint_id: String,
    pub session_id: String,
    pub round_id: String,
    pub project: String,
    pub summary: String,
    pub files_touched: Vec<String>,
    pub decisions_made: Vec<String>,
    pub next_steps: Vec<String>,
    pub client: Option<String>,
    pub instance: Option<String>,
    pub created_at: String,
}

impl From<&Checkpoint> for CheckpointOut {
    fn from(c: &Checkpoint) -> Self {
        CheckpointOut {
            checkpoint_id: c.checkpoint_id.clone(),
            session_id: c.session_id.clone(),
            round_id: c.round_id.clone(),
            project: c.project.to_string(),
            summary: c.summary.clone(),
            files_touched: c.files_touched.clone(),
            decisions_made: c.decisions_made.clone(),
            next_steps: c.next_steps.clone(),
            client: c.client.clone(),
            instance: c.instance.clone(),
            created_at: c.created_at.to_string(),
        }
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct ChatOut {
    pub name: String,
    pub title: Option<String>,
    /// active, done or archived.
    pub status: String,
    pub model: Option<String>,
    pub message_count: u64,
    pub updated_at: String,
    pub compaction_summary: Option<String>,
    pub knowledge: Vec<String>,
    pub recent_messages: Vec<MessageOut>,
    pub resume_command: String,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct MessageOut {
    pub role: String,
    pub text: String,
}

impl From<&ChatBrief> for ChatOut {
    fn from(c: &ChatBrief) -> Self {
        ChatOut {
            name: c.name.clone(),
            title: c.title.clone(),
            status: c.status.as_str().to_owned(),
            model: c.model.clone(),
            message_count: c.message_count,
            updated_at: c.updated_at.to_string(),
            compaction_summary: c.compaction_summary.clone(),
            knowledge: c.knowledge.clone(),
            recent_messages: c
                .recent_messages
                .iter()
                .map(|m| MessageOut {
                    role: m.role.clone(),
                    text: m.text.clone(),
                })
                .collect(),
            resume_command: c.resume_command.clone(),
        }
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct WhereWasIOutput {
    pub found: bool,
    /// Set when nothing was found.
    pub message: Option<String>,
    pub session_id: Option<String>,
    /// checkpoint, chat or both.
    pub source: Option<String>,
    pub project: Option<String>,
    pub last_activity: Option<String>,
    pub latest_checkpoint: Option<CheckpointOut>,
    pub chat: Option<ChatOut>,
    /// A short paragraph to act on.
    pub resume_brief: Option<String>,
}

impl WhereWasIOutput {
    pub(crate) fn found(w: &WhereWasI) -> Self {
        WhereWasIOutput {
            found: true,
            message: None,
            session_id: Some(w.session_id.clone()),
            source: Some(
                match w.source {
                    cairn_core::resume_brief::Source::Checkpoint => "checkpoint",
                    cairn_core::resume_brief::Source::Chat => "chat",
                    cairn_core::resume_brief::Source::Both => "both",
                }
                .to_owned(),
            ),
            project: Some(w.project.to_string()),
            last_activity: Some(w.last_activity.to_string()),
            latest_checkpoint: w.latest_checkpoint.as_ref().map(CheckpointOut::from),
            chat: w.chat.as_ref().map(ChatOut::from),
            resume_brief: Some(w.resume_brief.clone()),
        }
    }

    pub(crate) fn not_found(message: String) -> Self {
        WhereWasIOutput {
            found: false,
            message: Some(message),
            session_id: None,
            source: None,
            project: None,
            last_activity: None,
            latest_checkpoint: None,
            chat: None,
            resume_brief: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct GetProgressOutput {
    pub found: bool,
    pub session_id: String,
    /// Set when nothing was found.
    pub message: Option<String>,
    /// The latest checkpoint, one round, or the whole series oldest first.
    pub checkpoints: Vec<CheckpointOut>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct ConflictOut {
    pub topic_a: String,
    pub instance_a: String,
    pub path_a: String,
    pub topic_b: String,
    pub instance_b: String,
    pub path_b: String,
    /// One sentence naming both sides.
    pub warning: String,
}

impl From<&pool_status::FileConflict> for ConflictOut {
    fn from(c: &pool_status::FileConflict) -> Self {
        ConflictOut {
            topic_a: c.topic_a.clone(),
            instance_a: c.instance_a.clone(),
            path_a: c.path_a.clone(),
            topic_b: c.topic_b.clone(),
            instance_b: c.instance_b.clone(),
            path_b: c.path_b.clone(),
            warning: c.describe(),
        }
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct PoolSignalOutput {
    pub signal_id: i64,
    pub project: String,
    pub topic: String,
    pub action: String,
    pub instance: String,
    pub created_at: String,
    /// The state of the topic after this signal: claimed, started, blocked, or none.
    pub topic_state: Option<String>,
    /// Who holds the topic after this signal.
    pub holder: Option<String>,
    /// Overlaps between this topic's files and another live instance's open topic.
    pub conflicts: Vec<ConflictOut>,
    /// Every warning in words (conflicts, a topic held by someone else).
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct InstanceOut {
    pub project: String,
    pub instance: String,
    pub client: Option<String>,
    pub last_seen: String,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct TopicOut {
    pub project: String,
    pub topic: String,
    /// claimed, started or blocked.
    pub state: String,
    pub holder: String,
    pub since: String,
    pub held_since: String,
    pub summary: String,
    pub affects: Vec<String>,
    pub session_id: Option<String>,
    pub contested_by: Vec<String>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct BlockerOut {
    pub project: String,
    pub topic: String,
    pub instance: String,
    pub summary: String,
    pub since: String,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct HandoffOut {
    pub project: String,
    pub topic: String,
    pub from: String,
    pub notes: String,
    pub affects: Vec<String>,
    pub at: String,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct CompletedOut {
    pub project: String,
    pub topic: String,
    pub instance: String,
    pub summary: String,
    pub completed_at: String,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct ExpiredOut {
    pub project: String,
    pub topic: String,
    pub holder: String,
    pub last_seen: String,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct MessageSignalOut {
    pub project: String,
    pub topic: String,
    pub instance: String,
    pub summary: String,
    pub at: String,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct PoolStatusOutput {
    /// The project covered; null when the status covers every project.
    pub project: Option<String>,
    pub generated_at: String,
    pub ttl_secs: u64,
    pub instances: Vec<InstanceOut>,
    pub open_topics: Vec<TopicOut>,
    pub blockers: Vec<BlockerOut>,
    pub handoffs: Vec<HandoffOut>,
    pub recently_completed: Vec<CompletedOut>,
    /// Topics released because their holder was silent for longer than the TTL.
    pub expired: Vec<ExpiredOut>,
    pub messages: Vec<MessageSignalOut>,
    pub conflicts: Vec<ConflictOut>,
}

impl From<&PoolStatus> for PoolStatusOutput {
    fn from(s: &PoolStatus) -> Self {
        PoolStatusOutput {
            project: s.project.as_ref().map(ToString::to_string),
            generated_at: s.generated_at.to_string(),
            ttl_secs: s.ttl_secs,
            instances: s
                .instances
                .iter()
                .map(|i| InstanceOut {
                    project: i.project.to_string(),
                    instance: i.instance.clone(),
                    client: i.client.clone(),
                    last_seen: i.last_seen.to_string(),
                })
                .collect(),
            open_topics: s
                .open_topics
                .iter()
                .map(|t| TopicOut {
                    project: t.project.to_string(),
                    topic: t.topic.clone(),
                    state: t.state.as_str().to_owned(),
                    holder: t.holder.clone(),
                    since: t.since.to_string(),
                    held_since: t.held_since.to_string(),
                    summary: t.summary.clone(),
                    affects: t.affects.clone(),
                    session_id: t.session_id.clone(),
                    contested_by: t.contested_by.clone(),
                })
                .collect(),
            blockers: s
                .blockers
                .iter()
                .map(|b| BlockerOut {
                    project: b.project.to_string(),
                    topic: b.topic.clone(),
                    instance: b.instance.clone(),
                    summary: b.summary.clone(),
                    since: b.since.to_string(),
                })
                .collect(),
            handoffs: s
                .handoffs
                .iter()
                .map(|h| HandoffOut {
                    project: h.project.to_string(),
                    topic: h.topic.clone(),
                    from: h.from.clone(),
                    notes: h.notes.clone(),
                    affects: h.affects.clone(),
                    at: h.at.to_string(),
                })
                .collect(),
            recently_completed: s
                .recently_completed
                .iter()
                .map(|c| CompletedOut {
                    project: c.project.to_string(),
                    topic: c.topic.clone(),
                    instance: c.instance.clone(),
                    summary: c.summary.clone(),
                    completed_at: c.completed_at.to_string(),
                })
                .collect(),
            expired: s
                .expired
                .iter()
                .map(|e| ExpiredOut {
                    project: e.project.to_string(),
                    topic: e.topic.clone(),
                    holder: e.holder.clone(),
                    last_seen: e.last_seen.to_string(),
                })
                .collect(),
            messages: s
                .messages
                .iter()
                .map(|m| MessageSignalOut {
                    project: m.project.to_string(),
                    topic: m.topic.clone(),
                    instance: m.instance.clone(),
                    summary: m.summary.clone(),
                    at: m.at.to_string(),
                })
                .collect(),
            conflicts: s.conflicts.iter().map(ConflictOut::from).collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct SessionOut {
    /// chat (a cairn chat session) or checkpoint (a save_progress session id).
    pub kind: String,
    /// The chat session name or the checkpoint session id.
    pub id: String,
    pub project: String,
    pub updated_at: String,
    /// The chat title, or the latest checkpoint's summary (first line).
    pub title: Option<String>,
    pub status: Option<String>,
    pub message_count: Option<u64>,
    pub round_id: Option<String>,
}

impl From<&SessionSummary> for SessionOut {
    fn from(s: &SessionSummary) -> Self {
        SessionOut {
            kind: "chat".into(),
            id: s.name.as_str().to_owned(),
            project: s.project.to_string(),
            updated_at: s.updated_at.to_string(),
            title: s.title.clone(),
            status: Some(s.status.as_str().to_owned()),
            message_count: Some(s.message_count),
            round_id: None,
        }
    }
}

impl From<&Checkpoint> for SessionOut {
    fn from(c: &Checkpoint) -> Self {
        SessionOut {
            kind: "checkpoint".into(),
            id: c.session_id.clone(),
            project: c.project.to_string(),
            updated_at: c.created_at.to_string(),
            title: Some(cairn_core::display::first_line(&c.summary)),
            status: None,
            message_count: None,
            round_id: Some(c.round_id.clone()),
        }
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct ListSessionsOutput {
    /// Project filter applied; null for every project.
    pub project: Option<String>,
    /// Newest activity first.
    pub sessions: Vec<SessionOut>,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct SearchHitOut {
    /// chat or checkpoint.
    pub kind: String,
    pub id: String,
    pub project: String,
    pub at: String,
    /// The matching text, hits wrapped in `[` and `]` for chat messages.
    pub snippet: String,
    /// The chat event's seq, for chat hits.
    pub seq: Option<u64>,
    pub role: Option<String>,
}

impl From<&SearchHit> for SearchHitOut {
    fn from(h: &SearchHit) -> Self {
        SearchHitOut {
            kind: "chat".into(),
            id: h.session.as_str().to_owned(),
            project: h.project.to_string(),
            at: h.ts.to_string(),
            snippet: h.snippet.clone(),
            seq: Some(h.seq),
            role: h.role.map(|r| r.as_str().to_owned()),
        }
    }
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub(crate) struct SearchSessionsOutput {
    pub query: String,
    pub hits: Vec<SearchHitOut>,
}
