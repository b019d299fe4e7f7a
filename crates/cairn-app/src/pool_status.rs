//! The state of the agent pool, computed from the signals instances sent and
//! from when each instance was last heard from.
//!
//! The store keeps only the append-only signal log and the instances' last-seen
//! times; everything an agent asks ("who holds what, what is blocked, where do
//! we step on each other's files?") is derived here, the same way for the MCP
//! tools and the `cairn pool` CLI. The replay of the signals is in
//! `pool_replay.rs`, the markdown in `pool_markdown.rs`.
//!
//! Rules, replayed in signal order per (project, topic):
//! - `claimed`/`started` take the topic unless another *live* instance holds it
//!   (then the holder stays and the claim is reported as contested);
//! - `progress` keeps the holder (or opens the topic as started);
//! - `blocked` marks the topic blocked with its reason; `unblocked` restores the
//!   state it had before;
//! - `completed` closes the topic (any instance may finish it);
//! - `released` and `handoff` close the hold of its holder; a handoff stays
//!   visible, with its notes, until someone claims the topic;
//! - `signaling` is a broadcast message and changes no topic.
//!
//! A holder silent for longer than the pool TTL loses its topics.

use cairn_core::{NewPoolSignal, PoolAction, PoolSignal, Project, Result, Store, Timestamp};
use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

pub use crate::pool_replay::{compute, conflicts_involving, file_conflicts, paths_overlap};
use cairn_core::display::human_secs;

/// How far back signals are read: at least a week, and at least twice the TTL.
pub const MIN_SIGNAL_WINDOW_SECS: u64 = 7 * 24 * 60 * 60;
/// Completed topics and broadcast messages younger than this are listed.
pub const RECENT_SECS: i64 = 24 * 60 * 60;
/// At most this many completed topics, handoffs and messages are listed.
pub const RECENT_LIMIT: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum TopicState {
    Claimed,
    Started,
    Blocked,
}

impl TopicState {
    pub fn as_str(&self) -> &'static str {
        match self {
            TopicState::Claimed => "claimed",
            TopicState::Started => "started",
            TopicState::Blocked => "blocked",
        }
    }
}

/// An instance heard from within the TTL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ActiveInstance {
    pub project: Project,
    pub instance: String,
    pub client: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub last_seen: Timestamp,
}

/// A topic someone holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OpenTopic {
    pub project: Project,
    pub topic: String,
    pub state: TopicState,
    /// The instance holding the topic.
    pub holder: String,
    /// When the topic entered its current state.
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub since: Timestamp,
    /// When the holder took the topic.
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub held_since: Timestamp,
    /// The latest summary sent about the topic.
    pub summary: String,
    pub affects: Vec<String>,
    pub session_id: Option<String>,
    /// Other instances that tried to claim the topic while it was held.
    pub contested_by: Vec<String>,
    /// `user@host` behind the holder's latest signal about the topic.
    #[serde(default)]
    pub author: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Blocker {
    pub project: Project,
    pub topic: String,
    /// Who reported the blocker.
    pub instance: String,
    pub summary: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub since: Timestamp,
}

/// A topic handed off and not yet taken by anyone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Handoff {
    pub project: Project,
    pub topic: String,
    pub from: String,
    pub notes: String,
    pub affects: Vec<String>,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CompletedTopic {
    pub project: Project,
    pub topic: String,
    pub instance: String,
    pub summary: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub completed_at: Timestamp,
}

/// A topic whose holder went silent for longer than the TTL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ExpiredHold {
    pub project: Project,
    pub topic: String,
    pub holder: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub last_seen: Timestamp,
}

/// A `signaling` broadcast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Message {
    pub project: Project,
    pub topic: String,
    pub instance: String,
    pub summary: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub at: Timestamp,
}

/// Two open topics of different instances touch the same files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FileConflict {
    pub project: Project,
    pub topic_a: String,
    pub instance_a: String,
    pub path_a: String,
    pub topic_b: String,
    pub instance_b: String,
    pub path_b: String,
    /// One sentence naming both sides.
    pub warning: String,
}

impl FileConflict {
    /// The conflict with its `warning` written from the other fields.
    pub(crate) fn described(mut self) -> Self {
        self.warning = self.describe();
        self
    }

    pub fn describe(&self) -> String {
        if self.path_a == self.path_b {
            format!(
                "`{}` ({}) and `{}` ({}) both affect {}",
                self.topic_a, self.instance_a, self.topic_b, self.instance_b, self.path_a
            )
        } else {
            format!(
                "`{}` ({}) affects {} and `{}` ({}) affects {}, which overlap",
                self.topic_a,
                self.instance_a,
                self.path_a,
                self.topic_b,
                self.instance_b,
                self.path_b
            )
        }
    }
}

/// Everything `pool_status` reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PoolStatus {
    /// `None` when the status covers every project.
    pub project: Option<Project>,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub generated_at: Timestamp,
    pub ttl_secs: u64,
    pub instances: Vec<ActiveInstance>,
    pub open_topics: Vec<OpenTopic>,
    pub blockers: Vec<Blocker>,
    pub handoffs: Vec<Handoff>,
    pub recently_completed: Vec<CompletedTopic>,
    pub expired: Vec<ExpiredHold>,
    pub messages: Vec<Message>,
    pub conflicts: Vec<FileConflict>,
}

/// The start of the signal window for a TTL.
pub fn window_start(now: Timestamp, ttl_secs: u64) -> Timestamp {
    let window = MIN_SIGNAL_WINDOW_SECS.max(ttl_secs.saturating_mul(2));
    let window = SignedDuration::from_secs(i64::try_from(window).unwrap_or(i64::MAX));
    now.saturating_sub(window).unwrap_or(Timestamp::MIN)
}

/// Read the signals and instances of `project` (or every project) and compute
/// the status.
pub async fn load(
    store: &dyn Store,
    project: Option<&Project>,
    now: Timestamp,
    ttl_secs: u64,
) -> Result<PoolStatus> {
    let since = window_start(now, ttl_secs);
    let signals = store.pool_signals(project, since).await?;
    let instances = store.pool_instances(project, since).await?;
    Ok(compute(
        project.cloned(),
        &signals,
        &instances,
        now,
        ttl_secs,
    ))
}

/// What sending one signal led to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignalOutcome {
    pub signal: PoolSignal,
    /// The topic after the signal, if someone holds it.
    pub topic: Option<OpenTopic>,
    /// Overlaps of this topic's files with other live instances' open topics,
    /// this topic on the `a` side.
    pub conflicts: Vec<FileConflict>,
    /// Every warning in words.
    pub warnings: Vec<String>,
}

/// One signal's outcome in one flat record: what `pool_signal` returns.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SignalReport {
    pub signal_id: i64,
    pub project: Project,
    pub topic: String,
    pub action: String,
    pub instance: String,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub created_at: Timestamp,
    /// The state of the topic after this signal: claimed, started, blocked, or none.
    pub topic_state: Option<TopicState>,
    /// Who holds the topic after this signal.
    pub holder: Option<String>,
    /// Overlaps between this topic's files and another live instance's open topic.
    pub conflicts: Vec<FileConflict>,
    /// Every warning in words (conflicts, a topic held by someone else).
    pub warnings: Vec<String>,
}

impl SignalOutcome {
    pub fn report(&self) -> SignalReport {
        let s = &self.signal;
        SignalReport {
            signal_id: s.id,
            project: s.project.clone(),
            topic: s.topic.clone(),
            action: s.action.as_str().to_owned(),
            instance: s.instance.clone(),
            created_at: s.created_at,
            topic_state: self.topic.as_ref().map(|t| t.state),
            holder: self.topic.as_ref().map(|t| t.holder.clone()),
            conflicts: self.conflicts.clone(),
            warnings: self.warnings.clone(),
        }
    }
}

/// Record a signal (and that its instance was heard from), then report the
/// topic's state, file conflicts and a topic held by someone else.
pub async fn record_signal(
    store: &dyn Store,
    new: NewPoolSignal,
    client: Option<&str>,
    ttl_secs: u64,
) -> Result<SignalOutcome> {
    let project = new.project.clone();
    let instance = new.instance.clone();
    let topic = new.topic.clone();
    let action = new.action;
    let signal = store.add_pool_signal(new).await?;
    store.touch_instance(&project, &instance, client).await?;
    let now = Timestamp::now().max(signal.created_at);
    let status = load(store, Some(&project), now, ttl_secs).await?;
    let open = status
        .open_topics
        .iter()
        .find(|t| t.topic == topic)
        .cloned();
    let conflicts = conflicts_involving(&status, &instance, &topic);
    let mut warnings: Vec<String> = conflicts
        .iter()
        .map(|c| format!("File conflict: {}", c.describe()))
        .collect();
    if let Some(open) = &open
        && open.holder != instance
        && matches!(
            action,
            PoolAction::Claimed | PoolAction::Started | PoolAction::Progress
        )
    {
        warnings.push(format!(
            "Topic `{topic}` is held by {} ({} since {}); your signal was recorded, but the topic \
             stays theirs until they complete, release or hand it off, or are silent for {}.",
            open.holder,
            open.state.as_str(),
            open.held_since,
            human_secs(ttl_secs)
        ));
    }
    Ok(SignalOutcome {
        signal,
        topic: open,
        conflicts,
        warnings,
    })
}

/// Release every topic `instance` holds, in any project, with a `released`
/// signal carrying `summary` (an MCP stdio connection ended: its agent is gone,
/// so its topics should not look held until the TTL runs out). Returns the
/// topics released.
pub async fn release_instance(
    store: &dyn Store,
    instance: &str,
    summary: &str,
    ttl_secs: u64,
) -> Result<Vec<OpenTopic>> {
    let status = load(store, None, Timestamp::now(), ttl_secs).await?;
    let held: Vec<OpenTopic> = status
        .open_topics
        .into_iter()
        .filter(|t| t.holder == instance)
        .collect();
    for topic in &held {
        store
            .add_pool_signal(NewPoolSignal {
                project: topic.project.clone(),
                topic: topic.topic.clone(),
                action: PoolAction::Released,
                summary: summary.to_owned(),
                affects: topic.affects.clone(),
                instance: instance.to_owned(),
                session_id: topic.session_id.clone(),
                expires_at: None,
            })
            .await?;
    }
    Ok(held)
}
