//! The state of the agent pool, computed from the signals instances sent and
//! from when each instance was last heard from.
//!
//! The store keeps only the append-only signal log and the instances' last-seen
//! times; everything an agent asks ("who holds what, what is blocked, where do
//! we step on each other's files?") is derived here, the same way for the MCP
//! tools and the `cairn pool` CLI.
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

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::display::{ago, first_line};
use crate::store::PoolInstance;
use crate::{NewPoolSignal, PoolAction, PoolSignal, Project, Result, Store, Timestamp};

/// How far back signals are read: at least a week, and at least twice the TTL.
pub const MIN_SIGNAL_WINDOW_SECS: u64 = 7 * 24 * 60 * 60;
/// Completed topics and broadcast messages younger than this are listed.
pub const RECENT_SECS: i64 = 24 * 60 * 60;
/// At most this many completed topics, handoffs and messages are listed.
pub const RECENT_LIMIT: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct ActiveInstance {
    pub project: Project,
    pub instance: String,
    pub client: Option<String>,
    pub last_seen: Timestamp,
}

/// A topic someone holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenTopic {
    pub project: Project,
    pub topic: String,
    pub state: TopicState,
    /// The instance holding the topic.
    pub holder: String,
    /// When the topic entered its current state.
    pub since: Timestamp,
    /// When the holder took the topic.
    pub held_since: Timestamp,
    /// The latest summary sent about the topic.
    pub summary: String,
    pub affects: Vec<String>,
    pub session_id: Option<String>,
    /// Other instances that tried to claim the topic while it was held.
    pub contested_by: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    pub project: Project,
    pub topic: String,
    /// Who reported the blocker.
    pub instance: String,
    pub summary: String,
    pub since: Timestamp,
}

/// A topic handed off and not yet taken by anyone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    pub project: Project,
    pub topic: String,
    pub from: String,
    pub notes: String,
    pub affects: Vec<String>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompletedTopic {
    pub project: Project,
    pub topic: String,
    pub instance: String,
    pub summary: String,
    pub completed_at: Timestamp,
}

/// A topic whose holder went silent for longer than the TTL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpiredHold {
    pub project: Project,
    pub topic: String,
    pub holder: String,
    pub last_seen: Timestamp,
}

/// A `signaling` broadcast.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub project: Project,
    pub topic: String,
    pub instance: String,
    pub summary: String,
    pub at: Timestamp,
}

/// Two open topics of different instances touch the same files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileConflict {
    pub project: Project,
    pub topic_a: String,
    pub instance_a: String,
    pub path_a: String,
    pub topic_b: String,
    pub instance_b: String,
    pub path_b: String,
}

impl FileConflict {
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
pub struct PoolStatus {
    /// `None` when the status covers every project.
    pub project: Option<Project>,
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

impl SignalOutcome {
    pub fn to_markdown(&self) -> String {
        let s = &self.signal;
        let mut out = format!(
            "Signal {} recorded: {} `{}` as {} (project {}).",
            s.id,
            s.action.as_str(),
            s.topic,
            s.instance,
            s.project
        );
        if let Some(open) = &self.topic {
            let _ = write!(
                out,
                " Topic state: {} by {}.",
                open.state.as_str(),
                open.holder
            );
        }
        for warning in &self.warnings {
            let _ = write!(out, "\n\n⚠ {warning}");
        }
        out
    }
}

struct Track {
    open: Option<OpenTopic>,
    /// The state to return to on `unblocked`.
    before_block: TopicState,
    blocker: Option<Blocker>,
    handoff: Option<Handoff>,
}

/// Compute the pool status from signals (any order) and instances.
pub fn compute(
    project: Option<Project>,
    signals: &[PoolSignal],
    instances: &[PoolInstance],
    now: Timestamp,
    ttl_secs: u64,
) -> PoolStatus {
    let ttl = i64::try_from(ttl_secs).unwrap_or(i64::MAX);
    let mut ordered: Vec<&PoolSignal> = signals.iter().collect();
    ordered.sort_by_key(|s| (s.created_at, s.id));

    // When each (project, instance) was last heard from: the instance table,
    // raised by any later signal.
    let mut last_seen: HashMap<(Project, String), Timestamp> = HashMap::new();
    let mut clients: HashMap<(Project, String), Option<String>> = HashMap::new();
    for instance in instances {
        let key = (instance.project.clone(), instance.instance.clone());
        bump(&mut last_seen, key.clone(), instance.last_seen);
        clients.insert(key, instance.client.clone());
    }
    for signal in &ordered {
        bump(
            &mut last_seen,
            (signal.project.clone(), signal.instance.clone()),
            signal.created_at,
        );
    }

    let mut tracks: BTreeMap<(Project, String), Track> = BTreeMap::new();
    // The newest signal time of each instance seen so far in the replay.
    let mut active_at: HashMap<(Project, String), Timestamp> = HashMap::new();
    let mut completed = Vec::new();
    let mut messages = Vec::new();

    for signal in ordered {
        let at = signal.created_at;
        let me = signal.instance.clone();
        let track = tracks
            .entry((signal.project.clone(), signal.topic.clone()))
            .or_insert_with(|| Track {
                open: None,
                before_block: TopicState::Started,
                blocker: None,
                handoff: None,
            });
        // Is the current holder still live at the time of this signal? Live if it
        // sent a signal within the TTL before it, or has been heard from since.
        let holder_live = track.open.as_ref().is_some_and(|open| {
            let key = (open.project.clone(), open.holder.clone());
            let recent = active_at
                .get(&key)
                .is_some_and(|t| at.duration_since(*t).as_secs() <= ttl);
            let seen_later = last_seen.get(&key).is_some_and(|t| *t >= at);
            recent || seen_later
        });
        let held_by_other = track
            .open
            .as_ref()
            .is_some_and(|open| open.holder != me && holder_live);

        match signal.action {
            PoolAction::Claimed | PoolAction::Started => {
                let state = if signal.action == PoolAction::Claimed {
                    TopicState::Claimed
                } else {
                    TopicState::Started
                };
                if held_by_other {
                    if let Some(open) = track.open.as_mut()
                        && !open.contested_by.contains(&me)
                    {
                        open.contested_by.push(me.clone());
                    }
                } else {
                    match track.open.as_mut().filter(|open| open.holder == me) {
                        // The holder moving on (claimed → started) keeps its hold.
                        Some(open) => {
                            open.state = state;
                            open.since = at;
                            refresh(open, signal);
                        }
                        None => track.open = Some(open_topic(signal, state, at)),
                    }
                    track.blocker = None;
                    track.handoff = None;
                }
            }
            PoolAction::Progress => match track.open.as_mut() {
                Some(open) if open.holder == me || !holder_live => {
                    open.holder = me.clone();
                    refresh(open, signal);
                }
                Some(_) => {}
                None => {
                    track.open = Some(open_topic(signal, TopicState::Started, at));
                    track.handoff = None;
                }
            },
            PoolAction::Blocked => {
                match track.open.as_mut() {
                    Some(open) => {
                        if open.state != TopicState::Blocked {
                            track.before_block = open.state;
                        }
                        if open.holder == me || !holder_live {
                            open.holder = me.clone();
                            refresh(open, signal);
                        }
                        open.state = TopicState::Blocked;
                        open.since = at;
                    }
                    None => {
                        track.before_block = TopicState::Started;
                        track.open = Some(open_topic(signal, TopicState::Blocked, at));
                        track.handoff = None;
                    }
                }
                track.blocker = Some(Blocker {
                    project: signal.project.clone(),
                    topic: signal.topic.clone(),
                    instance: me.clone(),
                    summary: signal.summary.clone(),
                    since: at,
                });
            }
            PoolAction::Unblocked => {
                if let Some(open) = track.open.as_mut()
                    && open.state == TopicState::Blocked
                {
                    open.state = track.before_block;
                    open.since = at;
                    if open.holder == me {
                        refresh(open, signal);
                    }
                }
                track.blocker = None;
            }
            PoolAction::Completed => {
                track.open = None;
                track.blocker = None;
                track.handoff = None;
                completed.push(CompletedTopic {
                    project: signal.project.clone(),
                    topic: signal.topic.clone(),
                    instance: me.clone(),
                    summary: signal.summary.clone(),
                    completed_at: at,
                });
            }
            PoolAction::Released | PoolAction::Handoff => {
                if !held_by_other {
                    let affects = track
                        .open
                        .take()
                        .map(|open| open.affects)
                        .unwrap_or_default();
                    track.blocker = None;
                    track.handoff = (signal.action == PoolAction::Handoff).then(|| Handoff {
                        project: signal.project.clone(),
                        topic: signal.topic.clone(),
                        from: me.clone(),
                        notes: signal.summary.clone(),
                        affects: if signal.affects.is_empty() {
                            affects
                        } else {
                            signal.affects.clone()
                        },
                        at,
                    });
                }
            }
            PoolAction::Signaling => messages.push(Message {
                project: signal.project.clone(),
                topic: signal.topic.clone(),
                instance: me.clone(),
                summary: signal.summary.clone(),
                at,
            }),
        }
        active_at.insert((signal.project.clone(), me), at);
    }

    // Holders silent for longer than the TTL lose their topics.
    let is_live = |project: &Project, instance: &str| {
        last_seen
            .get(&(project.clone(), instance.to_owned()))
            .is_some_and(|t| now.duration_since(*t).as_secs() <= ttl)
    };
    let mut open_topics = Vec::new();
    let mut blockers = Vec::new();
    let mut handoffs = Vec::new();
    let mut expired = Vec::new();
    for track in tracks.into_values() {
        if let Some(handoff) = track.handoff {
            handoffs.push(handoff);
        }
        let Some(open) = track.open else { continue };
        if is_live(&open.project, &open.holder) {
            if let Some(blocker) = track.blocker {
                blockers.push(blocker);
            }
            open_topics.push(open);
        } else {
            let seen = last_seen
                .get(&(open.project.clone(), open.holder.clone()))
                .copied()
                .unwrap_or(open.since);
            expired.push(ExpiredHold {
                project: open.project,
                topic: open.topic,
                holder: open.holder,
                last_seen: seen,
            });
        }
    }
    open_topics.sort_by(|a, b| (&a.project, a.held_since).cmp(&(&b.project, b.held_since)));
    blockers.sort_by_key(|b| b.since);

    let recent = |t: Timestamp| now.duration_since(t).as_secs() <= RECENT_SECS;
    let mut recently_completed: Vec<CompletedTopic> = completed
        .into_iter()
        .filter(|c| recent(c.completed_at))
        .collect();
    recently_completed.sort_by_key(|c| std::cmp::Reverse(c.completed_at));
    recently_completed.truncate(RECENT_LIMIT);
    handoffs.sort_by_key(|h| std::cmp::Reverse(h.at));
    handoffs.truncate(RECENT_LIMIT);
    messages.retain(|m| recent(m.at));
    messages.sort_by_key(|m| std::cmp::Reverse(m.at));
    messages.truncate(RECENT_LIMIT);
    expired
        .retain(|e| now.duration_since(e.last_seen).as_secs() <= ttl.saturating_add(RECENT_SECS));

    let mut active: Vec<ActiveInstance> = last_seen
        .iter()
        .filter(|((project, instance), _)| is_live(project, instance))
        .map(|((project, instance), seen)| ActiveInstance {
            project: project.clone(),
            instance: instance.clone(),
            client: clients
                .get(&(project.clone(), instance.clone()))
                .cloned()
                .flatten(),
            last_seen: *seen,
        })
        .collect();
    active.sort_by(|a, b| {
        b.last_seen
            .cmp(&a.last_seen)
            .then(a.instance.cmp(&b.instance))
    });

    let conflicts = file_conflicts(&open_topics);
    PoolStatus {
        project,
        generated_at: now,
        ttl_secs,
        instances: active,
        open_topics,
        blockers,
        handoffs,
        recently_completed,
        expired,
        messages,
        conflicts,
    }
}

fn bump(map: &mut HashMap<(Project, String), Timestamp>, key: (Project, String), t: Timestamp) {
    let slot = map.entry(key).or_insert(t);
    if t > *slot {
        *slot = t;
    }
}

fn open_topic(signal: &PoolSignal, state: TopicState, held_since: Timestamp) -> OpenTopic {
    OpenTopic {
        project: signal.project.clone(),
        topic: signal.topic.clone(),
        state,
        holder: signal.instance.clone(),
        since: signal.created_at,
        held_since,
        summary: signal.summary.clone(),
        affects: signal.affects.clone(),
        session_id: signal.session_id.clone(),
        contested_by: Vec::new(),
    }
}

/// A later signal of the holder updates what the topic says; an empty
/// `affects` keeps the files named before.
fn refresh(open: &mut OpenTopic, signal: &PoolSignal) {
    open.summary = signal.summary.clone();
    if !signal.affects.is_empty() {
        open.affects = signal.affects.clone();
    }
    if signal.session_id.is_some() {
        open.session_id = signal.session_id.clone();
    }
}

/// Every pair of open topics of different holders in one project whose
/// `affects` overlap.
pub fn file_conflicts(open_topics: &[OpenTopic]) -> Vec<FileConflict> {
    let mut conflicts = Vec::new();
    for (i, a) in open_topics.iter().enumerate() {
        for b in &open_topics[i + 1..] {
            if a.project != b.project || a.holder == b.holder {
                continue;
            }
            if let Some((path_a, path_b)) = first_overlap(&a.project, &a.affects, &b.affects) {
                conflicts.push(FileConflict {
                    project: a.project.clone(),
                    topic_a: a.topic.clone(),
                    instance_a: a.holder.clone(),
                    path_a,
                    topic_b: b.topic.clone(),
                    instance_b: b.holder.clone(),
                    path_b,
                });
            }
        }
    }
    conflicts
}

/// The conflicts that involve `topic` held by `instance`, with that topic
/// always on the `a` side.
pub fn conflicts_involving(status: &PoolStatus, instance: &str, topic: &str) -> Vec<FileConflict> {
    status
        .conflicts
        .iter()
        .filter_map(|c| {
            if c.instance_a == instance && c.topic_a == topic {
                Some(c.clone())
            } else if c.instance_b == instance && c.topic_b == topic {
                Some(FileConflict {
                    project: c.project.clone(),
                    topic_a: c.topic_b.clone(),
                    instance_a: c.instance_b.clone(),
                    path_a: c.path_b.clone(),
                    topic_b: c.topic_a.clone(),
                    instance_b: c.instance_a.clone(),
                    path_b: c.path_a.clone(),
                })
            } else {
                None
            }
        })
        .collect()
}

fn first_overlap(project: &Project, a: &[String], b: &[String]) -> Option<(String, String)> {
    let b_norm: Vec<(String, Vec<String>)> = b
        .iter()
        .map(|path| (path.clone(), path_components(project, path)))
        .collect();
    for path_a in a {
        let ca = path_components(project, path_a);
        for (path_b, cb) in &b_norm {
            if components_overlap(&ca, cb) {
                return Some((path_a.clone(), path_b.clone()));
            }
        }
    }
    None
}

/// Whether two paths name the same file or one is a folder holding the other.
/// Relative paths are relative to the project root; absolute paths inside the
/// project are made relative to it. A glob counts from its first wildcard's folder.
pub fn paths_overlap(project: &Project, a: &str, b: &str) -> bool {
    components_overlap(&path_components(project, a), &path_components(project, b))
}

fn components_overlap(a: &[String], b: &[String]) -> bool {
    let shorter = a.len().min(b.len());
    a[..shorter] == b[..shorter]
}

fn path_components(project: &Project, path: &str) -> Vec<String> {
    let path = path.trim().replace('\\', "/");
    let root = project.as_str().trim_end_matches('/');
    let relative = match path.strip_prefix(root) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_owned(),
        _ => path,
    };
    let mut parts: Vec<String> = Vec::new();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ if part.contains(['*', '?', '[', '{']) => break,
            _ => parts.push(part.to_owned()),
        }
    }
    parts
}

impl PoolStatus {
    /// Readable markdown, for MCP text content and the CLI.
    pub fn to_markdown(&self) -> String {
        let now = self.generated_at;
        let mut out = String::new();
        let scope = match &self.project {
            Some(project) => format!("project {project}"),
            None => "all projects".to_owned(),
        };
        let _ = writeln!(out, "# Pool status ({scope})\n");
        let all = self.project.is_none();
        let where_ = |project: &Project| {
            if all {
                format!(" [{}]", project.short_name())
            } else {
                String::new()
            }
        };

        let _ = writeln!(out, "## Active instances ({})", self.instances.len());
        if self.instances.is_empty() {
            let _ = writeln!(out, "none");
        }
        for i in &self.instances {
            let client = i
                .client
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "- {}{client}{}: last seen {}",
                i.instance,
                where_(&i.project),
                ago(now, i.last_seen)
            );
        }

        let _ = writeln!(out, "\n## Open topics ({})", self.open_topics.len());
        if self.open_topics.is_empty() {
            let _ = writeln!(out, "none");
        }
        for t in &self.open_topics {
            let _ = write!(
                out,
                "- `{}`{}: **{}** by {} since {}",
                t.topic,
                where_(&t.project),
                t.state.as_str(),
                t.holder,
                ago(now, t.since)
            );
            if !t.summary.is_empty() {
                let _ = write!(out, " — {}", first_line(&t.summary));
            }
            if !t.affects.is_empty() {
                let _ = write!(out, " (affects: {})", t.affects.join(", "));
            }
            if !t.contested_by.is_empty() {
                let _ = write!(out, " (also claimed by: {})", t.contested_by.join(", "));
            }
            out.push('\n');
        }

        if !self.blockers.is_empty() {
            let _ = writeln!(out, "\n## Blockers ({})", self.blockers.len());
            for b in &self.blockers {
                let _ = writeln!(
                    out,
                    "- `{}`{} blocked by {} since {}: {}",
                    b.topic,
                    where_(&b.project),
                    b.instance,
                    ago(now, b.since),
                    first_line(&b.summary)
                );
            }
        }
        if !self.conflicts.is_empty() {
            let _ = writeln!(out, "\n## File conflicts ({})", self.conflicts.len());
            for c in &self.conflicts {
                let _ = writeln!(out, "- ⚠ {}{}", c.describe(), where_(&c.project));
            }
        }
        if !self.handoffs.is_empty() {
            let _ = writeln!(
                out,
                "\n## Handed off, waiting for a taker ({})",
                self.handoffs.len()
            );
            for h in &self.handoffs {
                let _ = writeln!(
                    out,
                    "- `{}`{} from {} {}: {}",
                    h.topic,
                    where_(&h.project),
                    h.from,
                    ago(now, h.at),
                    first_line(&h.notes)
                );
            }
        }
        if !self.recently_completed.is_empty() {
            let _ = writeln!(
                out,
                "\n## Recently completed ({})",
                self.recently_completed.len()
            );
            for c in &self.recently_completed {
                let _ = writeln!(
                    out,
                    "- `{}`{} by {} {}: {}",
                    c.topic,
                    where_(&c.project),
                    c.instance,
                    ago(now, c.completed_at),
                    first_line(&c.summary)
                );
            }
        }
        if !self.expired.is_empty() {
            let _ = writeln!(
                out,
                "\n## Released after {} of silence ({})",
                human_secs(self.ttl_secs),
                self.expired.len()
            );
            for e in &self.expired {
                let _ = writeln!(
                    out,
                    "- `{}`{} was held by {} (last seen {})",
                    e.topic,
                    where_(&e.project),
                    e.holder,
                    ago(now, e.last_seen)
                );
            }
        }
        if !self.messages.is_empty() {
            let _ = writeln!(out, "\n## Messages ({})", self.messages.len());
            for m in &self.messages {
                let _ = writeln!(
                    out,
                    "- {} on `{}`{} {}: {}",
                    m.instance,
                    m.topic,
                    where_(&m.project),
                    ago(now, m.at),
                    first_line(&m.summary)
                );
            }
        }
        out
    }
}

/// "2 h", "90 s", for a TTL.
pub fn human_secs(secs: u64) -> String {
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        Project::from_stored("/work/app")
    }

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn signal(
        id: i64,
        at: i64,
        who: &str,
        action: PoolAction,
        topic: &str,
        affects: &[&str],
    ) -> PoolSignal {
        PoolSignal {
            id,
            project: project(),
            topic: topic.into(),
            action,
            summary: format!("{} {topic}", action.as_str()),
            affects: affects.iter().map(|s| s.to_string()).collect(),
            instance: who.into(),
            session_id: None,
            created_at: t(at),
            expires_at: None,
        }
    }

    fn seen(who: &str, at: i64) -> PoolInstance {
        PoolInstance {
            project: project(),
            instance: who.into(),
            client: Some("test".into()),
            last_seen: t(at),
        }
    }

    #[test]
    fn overlap_is_same_path_or_folder_holding_the_other() {
        let p = project();
        assert!(paths_overlap(&p, "src/auth.rs", "./src/auth.rs"));
        assert!(paths_overlap(&p, "src/", "src/auth/login.rs"));
        assert!(paths_overlap(&p, "/work/app/src/auth", "src/auth/token.rs"));
        assert!(paths_overlap(&p, "src/**/*.rs", "src/db.rs"));
        assert!(!paths_overlap(&p, "src/auth.rs", "src/auth.rs.bak"));
        assert!(!paths_overlap(&p, "src/auth", "src/authz"));
        assert!(!paths_overlap(&p, "docs/a.md", "src/a.md"));
    }

    #[test]
    fn claims_conflicts_blockers_handoff_and_completion() {
        let ttl = 3600;
        let signals = vec![
            signal(1, 0, "a", PoolAction::Claimed, "auth", &["src/auth/"]),
            signal(
                2,
                10,
                "b",
                PoolAction::Claimed,
                "login-form",
                &["src/auth/login.rs"],
            ),
            signal(3, 20, "a", PoolAction::Started, "auth", &[]),
        ];
        let instances = vec![seen("a", 20), seen("b", 10)];
        let s = compute(Some(project()), &signals, &instances, t(30), ttl);
        assert_eq!(s.open_topics.len(), 2);
        let auth = &s.open_topics[0];
        assert_eq!(
            (auth.topic.as_str(), auth.state, auth.holder.as_str()),
            ("auth", TopicState::Started, "a")
        );
        assert_eq!(auth.held_since, t(0));
        assert_eq!(auth.affects, vec!["src/auth/"]);
        assert_eq!(s.conflicts.len(), 1);
        let mine = conflicts_involving(&s, "b", "login-form");
        assert_eq!(mine[0].topic_b, "auth");
        assert_eq!(mine[0].path_a, "src/auth/login.rs");

        let mut more = signals.clone();
        more.push(signal(4, 40, "a", PoolAction::Blocked, "auth", &[]));
        let s = compute(Some(project()), &more, &instances, t(50), ttl);
        assert_eq!(s.blockers.len(), 1);
        assert_eq!(s.blockers[0].summary, "blocked auth");
        assert_eq!(s.open_topics[0].state, TopicState::Blocked);

        more.push(signal(5, 60, "a", PoolAction::Unblocked, "auth", &[]));
        more.push(signal(6, 70, "a", PoolAction::Handoff, "auth", &[]));
        let s = compute(Some(project()), &more, &instances, t(80), ttl);
        assert!(s.blockers.is_empty());
        assert_eq!(s.open_topics.len(), 1);
        assert_eq!(s.handoffs.len(), 1);
        assert_eq!(s.handoffs[0].affects, vec!["src/auth/"]);
        assert!(s.conflicts.is_empty());

        more.push(signal(7, 90, "b", PoolAction::Claimed, "auth", &[]));
        more.push(signal(8, 100, "b", PoolAction::Completed, "auth", &[]));
        let s = compute(Some(project()), &more, &instances, t(110), ttl);
        assert!(s.handoffs.is_empty());
        assert_eq!(s.recently_completed[0].topic, "auth");
        assert_eq!(s.recently_completed[0].instance, "b");
        assert_eq!(s.open_topics.len(), 1);
        assert_eq!(s.open_topics[0].topic, "login-form");
    }

    #[test]
    fn a_claim_on_a_live_holders_topic_is_contested_not_taken() {
        let signals = vec![
            signal(1, 0, "a", PoolAction::Claimed, "db", &[]),
            signal(2, 5, "b", PoolAction::Claimed, "db", &[]),
            signal(3, 6, "b", PoolAction::Released, "db", &[]),
        ];
        let s = compute(Some(project()), &signals, &[seen("a", 6)], t(10), 3600);
        assert_eq!(s.open_topics[0].holder, "a");
        assert_eq!(s.open_topics[0].contested_by, vec!["b"]);
    }

    #[test]
    fn silent_holders_lose_their_topics_after_the_ttl() {
        let signals = vec![
            signal(1, 0, "a", PoolAction::Claimed, "db", &["db/"]),
            signal(2, 5000, "b", PoolAction::Claimed, "db", &["db/"]),
        ];
        // a was silent for more than the TTL when b claimed: b takes it.
        let s = compute(
            Some(project()),
            &signals,
            &[seen("a", 0), seen("b", 5000)],
            t(5001),
            3600,
        );
        assert_eq!(s.open_topics[0].holder, "b");
        assert!(s.instances.iter().all(|i| i.instance != "a"));

        // Nobody else claimed, but the holder went silent: the hold expires.
        let s = compute(
            Some(project()),
            &signals[..1],
            &[seen("a", 0)],
            t(3601),
            3600,
        );
        assert!(s.open_topics.is_empty());
        assert_eq!(s.expired[0].holder, "a");
    }

    #[test]
    fn markdown_names_holders_and_conflicts() {
        let signals = vec![
            signal(1, 0, "a", PoolAction::Claimed, "auth", &["src/auth.rs"]),
            signal(2, 1, "b", PoolAction::Started, "api", &["src/auth.rs"]),
        ];
        let s = compute(Some(project()), &signals, &[], t(2), 3600);
        let md = s.to_markdown();
        assert!(
            md.contains("`auth`") && md.contains("**claimed** by a"),
            "{md}"
        );
        assert!(
            md.contains("File conflicts (1)") && md.contains("both affect src/auth.rs"),
            "{md}"
        );
    }
}
