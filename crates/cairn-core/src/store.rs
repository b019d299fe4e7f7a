//! The storage contract. Callers hold an `Arc<dyn Store>`; the embedded SQLite
//! backend implements it today and a PostgreSQL backend can later, without any
//! caller changing. Every write is durable when its future resolves (invariant 1).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use ulid::Ulid;

use crate::{
    Attachment, AttachmentGarbage, AttachmentRef, Checkpoint, Event, ImportOrigin, KnownImport,
    Lease, LeaseHolder, LiveContext, NewCheckpoint, NewEvent, NewPoolSignal, NewSession,
    PoolSignal, Project, Result, Role, Session, SessionFilter, SessionName, SessionStatus,
    SessionSummary, Timestamp,
};

/// The events of an import, read lazily (from a file, say) on the store's writer
/// thread; an `Err` item aborts the import and is returned as it is.
pub type ImportStream = Box<dyn Iterator<Item = Result<Event>> + Send>;

/// What an import from a known origin records once its stream has ended: called
/// by the store after the last event, inside the import's transaction, with the
/// number of events written. An `Err` aborts the import like one from the stream.
/// (A transcript's event count and model are known only at its end.)
pub type ImportFinish = Box<dyn FnOnce(u64) -> Result<ImportEnd> + Send>;

/// What [`ImportFinish`] gives: the origin to record and the session's fields known
/// only at the stream's end.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportEnd {
    pub origin: ImportOrigin,
    /// Applied to the new session in the same transaction; the default changes nothing.
    pub update: SessionUpdate,
}

impl ImportEnd {
    /// An origin known before the stream starts: recorded as it is.
    pub fn known(origin: ImportOrigin) -> ImportFinish {
        Box::new(move |_| {
            Ok(ImportEnd {
                origin,
                update: SessionUpdate::default(),
            })
        })
    }
}

/// Where a full-text search looks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchScope {
    /// `None` searches every project.
    pub project: Option<Project>,
    pub limit: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub session: SessionName,
    pub project: Project,
    pub seq: u64,
    pub ts: Timestamp,
    pub role: Option<Role>,
    /// The matching text with the hits wrapped in `[` and `]`.
    pub snippet: String,
}

/// A project knowledge item and the session that stated it (`/forget` unpins it there).
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectKnowledge {
    pub session_id: Ulid,
    pub session: SessionName,
    /// The `knowledge` event, scope `project`.
    pub event: Event,
}

/// A checkpoint (`save_progress`) the full-text search found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHit {
    pub session_id: String,
    pub project: Project,
    pub round_id: String,
    pub created_at: Timestamp,
    /// The matching text (id, summary, decisions, next steps, files) with the hits
    /// wrapped in `[` and `]`.
    pub snippet: String,
}

/// Changes to a session's metadata; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionUpdate {
    pub title: Option<Option<String>>,
    pub model: Option<Option<String>>,
    pub status: Option<SessionStatus>,
    pub live_tokens: Option<u64>,
    pub spend_checkpoint_usd: Option<f64>,
}

/// The most pool instances one project (one project key) keeps, least recently
/// seen dropped first.
pub const MAX_POOL_INSTANCES_PER_PROJECT: usize = 1_000;
/// The most pool instances the store keeps over all projects.
pub const MAX_POOL_INSTANCES: usize = 10_000;

/// What [`Store::import_progress`] did: records added, and records already there
/// (the same checkpoint id; the same signal), left as they were.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressImport {
    pub checkpoints_added: u64,
    pub checkpoints_present: u64,
    pub signals_added: u64,
    pub signals_present: u64,
}

/// A pool instance and when it was last heard from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolInstance {
    pub project: Project,
    pub instance: String,
    pub client: Option<String>,
    pub last_seen: Timestamp,
}

/// An event of a session together with its stored size, for `context --large`.
#[derive(Clone, Debug, PartialEq)]
pub struct SizedEvent {
    pub event: Event,
    /// Bytes of the event's stored JSON.
    pub bytes: u64,
}

/// What [`Store::changes`] announces, so a daemon or dashboard can wait for news
/// instead of polling. A change says *what* to re-read, never the new data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreChange {
    /// The session has events up to `head_seq` (an append, or an import).
    SessionAppended { session: Ulid, head_seq: u64 },
    /// A session was created, imported, renamed, updated or deleted.
    SessionsChanged,
    /// A knowledge item of the session was pinned or unpinned.
    KnowledgeChanged { session: Ulid },
    /// A checkpoint was saved.
    CheckpointsChanged,
    /// A pool signal was added or an instance was heard from.
    PoolChanged,
    /// The session's writer lease was taken or released (heartbeats are silent).
    LeaseChanged { session: Ulid },
    /// Someone else (another process, another server) wrote to the store and the
    /// backend cannot tell what: re-read whatever you show.
    External,
}

/// How many events of a session one author (`user@host`) wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionAuthor {
    pub author: String,
    pub events: u64,
    /// The seq of the newest event they wrote.
    pub last_seq: u64,
}

/// What a store holds, for `cairn store status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub schema_version: i64,
    /// Bytes the store takes on disk (the file, or the database).
    pub size_bytes: u64,
    pub sessions: u64,
    pub events: u64,
    pub attachments: u64,
    pub checkpoints: u64,
    pub pool_signals: u64,
}

/// Where a store's bytes go, by part (`cairn doctor`, `cairn store status`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSpace {
    /// Bytes on disk: the SQLite file and its WAL, or the PostgreSQL database.
    pub total_bytes: u64,
    /// The event log (rows, and their out-of-line storage).
    pub events: u64,
    /// The indexes of the event log (by session and seq).
    pub event_indexes: u64,
    /// The full-text indexes (messages and checkpoints).
    pub search_index: u64,
    pub attachments: u64,
    /// Every other table and index (sessions, checkpoints, pool, leases, schema).
    pub other: u64,
    /// Space the store holds but no longer uses (SQLite's free pages); reused by
    /// later writes, given back by [`Store::reclaim_space`] where the backend can.
    pub free: u64,
    /// Every table and index with its part, largest first.
    pub objects: Vec<SpaceObject>,
}

impl StoreSpace {
    /// Counts one table or index in its part (`events`, `event_indexes`,
    /// `search_index`, `attachments`; anything else is `other`).
    pub fn add(&mut self, name: String, part: &str, bytes: u64) {
        match part {
            "events" => self.events += bytes,
            "event_indexes" => self.event_indexes += bytes,
            "search_index" => self.search_index += bytes,
            "attachments" => self.attachments += bytes,
            _ => self.other += bytes,
        }
        self.objects.push(SpaceObject {
            name,
            part: part.to_owned(),
            bytes,
        });
    }
}

/// One table or index of [`StoreSpace`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceObject {
    pub name: String,
    /// `events`, `event_indexes`, `search_index`, `attachments` or `other`.
    pub part: String,
    pub bytes: u64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- sessions -------------------------------------------------------------

    /// Creates a session; `AlreadyExists` when the name is taken.
    async fn create_session(&self, new: NewSession) -> Result<Session>;

    /// `NotFound` when no session has this name.
    async fn session(&self, name: &SessionName) -> Result<Session>;

    async fn session_by_id(&self, id: Ulid) -> Result<Session>;

    /// Newest activity first, read from the index only (invariant 4).
    async fn list_sessions(&self, filter: &SessionFilter) -> Result<Vec<SessionSummary>>;

    async fn count_sessions(&self, project: Option<&Project>) -> Result<u64>;

    /// The session with the newest activity, in `project` or anywhere.
    async fn most_recent_session(&self, project: Option<&Project>) -> Result<Option<Session>>;

    async fn rename_session(&self, old: &SessionName, new: &SessionName) -> Result<Session>;

    /// Deletes the session and all its events (an explicit `rm`). Refused with
    /// `HasForks` while a fork reads its history.
    async fn delete_session(&self, name: &SessionName) -> Result<()>;

    async fn update_session(&self, id: Ulid, update: SessionUpdate) -> Result<Session>;

    /// The sessions whose parent is `parent` (its sub-agents and forks), oldest first.
    async fn child_sessions(&self, parent: Ulid) -> Result<Vec<Session>>;

    // ---- forks and rewinds (cairn_core::lineage) ---------------------------------

    /// Forks `parent` at `at` (default: its head) into a new session: `new` with the
    /// parent and fork point set (and the parent's model when `new` has none). The
    /// fork shares the parent's history up to `at` without copying it, so this
    /// takes the same time whatever the history's size. A `create_session` whose
    /// `NewSession` names a parent and a fork point is the same operation.
    async fn fork_session(
        &self,
        parent: Ulid,
        at: Option<u64>,
        mut new: NewSession,
    ) -> Result<Session> {
        let parent = self.session_by_id(parent).await?;
        new.fork_seq = Some(at.unwrap_or(parent.head_seq));
        new.parent_id = Some(parent.id);
        if new.model.is_none() {
            new.model = parent.model;
        }
        self.create_session(new).await
    }

    /// The forks of `parent` (not its sub-agents), oldest first.
    async fn forks(&self, parent: Ulid) -> Result<Vec<Session>> {
        let mut children = self.child_sessions(parent).await?;
        children.retain(|c| c.fork_seq.is_some());
        Ok(children)
    }

    /// Deletes the session and every fork of it (forks of forks first); returns
    /// the names deleted, the session's last.
    async fn delete_session_with_forks(&self, name: &SessionName) -> Result<Vec<SessionName>> {
        let root = self.session(name).await?;
        // Depth first: a session is listed after all of its forks.
        let mut order = Vec::new();
        let mut stack = vec![(root, false)];
        while let Some((session, expanded)) = stack.pop() {
            if expanded {
                order.push(session.name);
                continue;
            }
            let forks = self.forks(session.id).await?;
            stack.push((session, true));
            // Reversed, so the oldest fork is deleted first.
            stack.extend(forks.into_iter().rev().map(|f| (f, false)));
        }
        for name in &order {
            self.delete_session(name).await?;
        }
        Ok(order)
    }

    /// Moves the session's live context back to just before the event at `to_seq`
    /// by appending a rewind event (the rewound events stay in the history);
    /// returns the rewind's seq.
    async fn rewind_session(&self, session: Ulid, to_seq: u64) -> Result<u64> {
        let seqs = self
            .append_events(
                session,
                vec![NewEvent::now(crate::lineage::rewind_event(to_seq))],
            )
            .await?;
        seqs.first()
            .copied()
            .ok_or_else(|| crate::Error::Storage("a rewind appended no event".into()))
    }

    // ---- events ---------------------------------------------------------------

    /// Appends events atomically, assigning dense seqs; returns them in order.
    /// Updates the session's totals (usage deduplicated by provider request id),
    /// counters, live-context start and the full-text index in the same transaction.
    async fn append_events(&self, session: Ulid, events: Vec<NewEvent>) -> Result<Vec<u64>>;

    /// The live context in O(live context), with the newest `knowledge_retention`
    /// knowledge items and every pinned one.
    async fn live_context(&self, session: Ulid, knowledge_retention: usize) -> Result<LiveContext>;

    /// A page of the history: events with seq > `after_seq`, oldest first. A fork's
    /// history includes its parent's up to the fork point.
    async fn events_after(&self, session: Ulid, after_seq: u64, limit: u32) -> Result<Vec<Event>>;

    /// Events of the live context (or, with `whole_history`, of the whole log) whose
    /// stored size is at least `min_bytes`, oldest first.
    async fn large_events(
        &self,
        session: Ulid,
        min_bytes: u64,
        whole_history: bool,
    ) -> Result<Vec<SizedEvent>>;

    /// Bytes of the session's own stored events (not its parent's shared history,
    /// nor attachments): what deleting it frees, for `prune` to show.
    async fn history_bytes(&self, session: Ulid) -> Result<u64>;

    /// Creates a session from a complete history held in memory; see
    /// [`Store::import_stream`], which this calls.
    async fn import_session(&self, new: NewSession, events: Vec<Event>) -> Result<Session> {
        self.import_stream(new, Box::new(events.into_iter().map(Ok)))
            .await
    }

    /// Creates a session from a history read one event at a time, keeping seqs and
    /// times, all or nothing: the session, its events and the attachments carried
    /// inline by its media blocks (`data_base64`) are written in one transaction, so
    /// an `Err` from the stream, a gap in the seqs or a store error anywhere leaves
    /// no session, no event and no new attachment. The events must be dense from 1.
    /// Memory stays in proportion to the largest event, not the history.
    async fn import_stream(&self, new: NewSession, events: ImportStream) -> Result<Session>;

    /// Like [`Store::import_stream`], and, in the same transaction, once the stream
    /// has ended: calls `finish` with the number of events written, applies its
    /// session update and records that the new session is the import of its origin
    /// (replacing any record of the same source and original id whose session was
    /// deleted). An `Err` from `finish` leaves nothing, as one from the stream does.
    async fn import_stream_from(
        &self,
        new: NewSession,
        events: ImportStream,
        finish: ImportFinish,
    ) -> Result<Session>;

    /// The session an earlier import of (`source`, `original_id`) went into and how
    /// far it got; `None` when it was never imported or its session was deleted.
    async fn import_origin(&self, source: &str, original_id: &str) -> Result<Option<KnownImport>>;

    /// Appends `events` to `session` as [`Store::append_events`] does and records
    /// `origin` as its new import progress, in one transaction: either both happen
    /// or neither, so an interrupted re-import never appends twice.
    async fn append_imported(
        &self,
        session: Ulid,
        events: Vec<NewEvent>,
        origin: ImportOrigin,
    ) -> Result<Vec<u64>>;

    /// Full-text search over message text, newest first by the events' own times
    /// (an imported session's events keep theirs), not by when they were stored.
    async fn search(&self, query: &str, scope: &SearchScope) -> Result<Vec<SearchHit>>;

    /// Full-text search, as [`Store::search`], over one session's whole history:
    /// events a compaction replaced or a rewind took back included, and for a fork
    /// its parent's history up to the fork point (never the parent's later events).
    /// At most `limit` hits (0: no limit), newest first.
    async fn search_session(
        &self,
        session: Ulid,
        query: &str,
        limit: u32,
    ) -> Result<Vec<SearchHit>>;

    /// Full-text search over checkpoints (session id, summary, decisions, next
    /// steps, files), newest first, with the same query rules as [`Store::search`].
    async fn search_checkpoints(
        &self,
        query: &str,
        scope: &SearchScope,
    ) -> Result<Vec<CheckpointHit>>;

    // ---- knowledge ------------------------------------------------------------

    /// Every knowledge event of a session, oldest first.
    async fn knowledge(&self, session: Ulid) -> Result<Vec<Event>>;

    /// Pins or unpins the knowledge item at `seq`.
    async fn set_knowledge_pinned(&self, session: Ulid, seq: u64, pinned: bool) -> Result<()>;

    /// Every knowledge event of scope `project` in the sessions of `project` (by its
    /// key, so every checkout of one repository shares them), oldest first, with the
    /// session that holds each. Pinned flags are as `set_knowledge_pinned` left them.
    async fn project_knowledge(&self, project: &Project) -> Result<Vec<ProjectKnowledge>>;

    // ---- attachments ----------------------------------------------------------

    /// Stores bytes content-addressed; storing the same bytes twice is a no-op.
    async fn put_attachment(&self, mime: &str, bytes: Vec<u8>) -> Result<AttachmentRef>;

    async fn attachment(&self, sha256: &str) -> Result<Attachment>;

    /// The attachments no stored event refers to (a deleted session's, say),
    /// leaving out those [`Store::put_attachment`] stored within
    /// [`crate::attachment::PENDING_GRACE`] (their event may still come); with
    /// `remove`, deletes them in the same transaction. Attachments are shared by
    /// content, so one still referred to by any session (a fork, another session
    /// with the same image) is kept.
    async fn collect_attachments(&self, remove: bool) -> Result<AttachmentGarbage>;

    // ---- checkpoints ----------------------------------------------------------

    /// Stores a checkpoint, assigning the next round of its session id when
    /// `round_id` is `None`.
    async fn save_checkpoint(&self, new: NewCheckpoint) -> Result<Checkpoint>;

    /// Every checkpoint of a session id, oldest first.
    async fn checkpoints(&self, session_id: &str) -> Result<Vec<Checkpoint>>;

    async fn latest_checkpoint(&self, session_id: &str) -> Result<Option<Checkpoint>>;

    /// The latest checkpoint of each session id, newest first.
    async fn recent_checkpoints(
        &self,
        project: Option<&Project>,
        limit: u32,
    ) -> Result<Vec<Checkpoint>>;

    /// Adds checkpoints and pool signals moved from another store, keeping their
    /// ids, rounds and times, in one transaction (all or nothing). A checkpoint
    /// whose id is already stored, or a signal equal to a stored one (project,
    /// topic, action, instance, summary, time), is left as it is: importing the same
    /// file twice adds nothing.
    async fn import_progress(
        &self,
        checkpoints: Vec<Checkpoint>,
        signals: Vec<PoolSignal>,
    ) -> Result<ProgressImport>;

    // ---- pool -----------------------------------------------------------------

    async fn add_pool_signal(&self, new: NewPoolSignal) -> Result<PoolSignal>;

    /// Signals created at or after `since`, oldest first.
    async fn pool_signals(
        &self,
        project: Option<&Project>,
        since: Timestamp,
    ) -> Result<Vec<PoolSignal>>;

    /// Records that an instance was heard from now.
    ///
    /// Clients choose instance ids (and projects), so the rows are bounded: when a
    /// touch adds a NEW instance, the least recently seen instances beyond
    /// [`MAX_POOL_INSTANCES_PER_PROJECT`] in its project (by project key: every
    /// checkout of one repository counts together), and then beyond
    /// [`MAX_POOL_INSTANCES`] in the whole store, are dropped. Touching a known
    /// instance (every tool call) only updates its row. A dropped instance has
    /// been silent longer than the ones kept; it reappears on its next touch.
    async fn touch_instance(
        &self,
        project: &Project,
        instance: &str,
        client: Option<&str>,
    ) -> Result<()>;

    /// Instances heard from at or after `since`, most recent first.
    async fn pool_instances(
        &self,
        project: Option<&Project>,
        since: Timestamp,
    ) -> Result<Vec<PoolInstance>>;

    // ---- leases ---------------------------------------------------------------

    /// Takes the session's writer lease. A live lease of another holder (heartbeat
    /// newer than `stale_after`) gives `LeaseHeld` unless `force`.
    async fn acquire_lease(
        &self,
        session: Ulid,
        holder: &LeaseHolder,
        stale_after: Duration,
        force: bool,
    ) -> Result<Lease>;

    /// Refreshes the heartbeat; `LeaseHeld` if another holder took it over.
    async fn heartbeat_lease(&self, session: Ulid, holder: &LeaseHolder) -> Result<()>;

    async fn release_lease(&self, session: Ulid, holder: &LeaseHolder) -> Result<()>;

    /// The session's lease as it stands (holder and last heartbeat, stale or not);
    /// `None` when nobody holds it.
    async fn lease(&self, session: Ulid) -> Result<Option<Lease>>;

    // ---- change feed ----------------------------------------------------------

    /// A new subscription to the store's changes, from now on. Every successful
    /// write through this store value is announced (after it is durable); writes by
    /// others arrive as [`StoreChange::External`] within a backend-defined delay.
    /// A subscriber that falls behind gets `RecvError::Lagged` and should re-read
    /// everything it shows. Costs nothing while nobody subscribes.
    fn changes(&self) -> broadcast::Receiver<StoreChange>;

    // ---- copying between stores (`cairn store copy`) -------------------------------

    /// Creates `session` under its own id, name, project and creation time, its
    /// status, spend checkpoint and live-context size as given, with `events` as
    /// [`Store::import_stream`] writes them (all or nothing). `AlreadyExists` when
    /// the id or the name is taken.
    async fn import_copy(&self, session: &Session, events: ImportStream) -> Result<Session>;

    /// Stores a checkpoint of another store as it is (id, round, time); `false`
    /// when a checkpoint with its id is already here.
    async fn copy_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool>;

    /// Stores a pool signal of another store with its time; `false` when the same
    /// signal (project key, instance, topic, action, time) is already here.
    async fn copy_pool_signal(&self, signal: &PoolSignal) -> Result<bool>;

    /// Which backend, schema version, size and counts.
    async fn status(&self) -> Result<StoreStatus>;

    /// The store's size by part ([`StoreSpace`]). Reads every page of a SQLite
    /// store: for `doctor` and `store status`, not for hot paths.
    async fn space(&self) -> Result<StoreSpace>;

    /// Gives space freed by deletions (`rm`, prune, gc) back to the file system
    /// where the backend can do so without rewriting the store; returns the bytes
    /// given back (0 when there was nothing to give or the backend cannot).
    async fn reclaim_space(&self) -> Result<u64>;
    /// Rewrites the session's own events that an older version stored in a larger
    /// form into the form new writes use (`cairn store compact`), all in one
    /// transaction: an interruption leaves the session as it was, and running it
    /// again continues. What every read returns is unchanged. How many events were
    /// rewritten; 0 for a backend with nothing to convert.
    async fn compact_session(&self, _session: Ulid) -> Result<u64> {
        Ok(0)
    }

    /// Rewrites the whole store compactly (after `compact_session` has run over
    /// it): half-empty pages are packed and a store made before incremental
    /// vacuum switches to it, so later deletions give space back. Needs about the
    /// store's size in free disk while it runs. Nothing for a backend that leaves
    /// this to its operator. (What it gave back is measured by the caller, over
    /// the whole compaction: the WAL the sessions' rewrite grew counts too.)
    async fn repack(&self) -> Result<()> {
        Ok(())
    }

    // ---- authors --------------------------------------------------------------------

    /// Who wrote the session's events (`user@host`, recorded by the store with each
    /// append), the most recent writer first; read in O(authors).
    async fn session_authors(&self, session: Ulid) -> Result<Vec<SessionAuthor>>;
}
