//! `Store` for `PostgresStore`: each method moves its arguments into one read or
//! write transaction; a write announces its change once it has committed.

use std::time::Duration;

use async_trait::async_trait;
use cairn_core::store::{
    CheckpointHit, ImportFinish, ImportStream, PoolInstance, ProjectKnowledge, SearchHit,
    SearchScope, SessionAuthor, SessionUpdate, SizedEvent, StoreSpace, StoreStatus,
};
use cairn_core::{
    Attachment, AttachmentGarbage, AttachmentRef, Checkpoint, Event, ImportOrigin, KnownImport,
    Lease, LeaseHolder, LiveContext, NewCheckpoint, NewEvent, NewPoolSignal, NewSession,
    PoolSignal, Project, Result, Session, SessionFilter, SessionName, SessionSummary, Store,
    StoreChange, Timestamp,
};
use tokio::sync::broadcast;
use ulid::Ulid;

use crate::{
    PostgresStore, agent_pool, attachments, authors, checkpoints, copies, events, import_origins,
    leases, search, sessions, space,
};

/// How often a write that met a deadlock is run again before giving up.
const DEADLOCK_RETRIES: usize = 3;

#[async_trait]
impl Store for PostgresStore {
    async fn create_session(&self, new: NewSession) -> Result<Session> {
        self.write(Some(StoreChange::SessionsChanged), |tx| {
            Box::pin(async move { Ok(crate::lineage::create(tx, &new).await?.session) })
        })
        .await
    }

    async fn session(&self, name: &SessionName) -> Result<Session> {
        let name = name.clone();
        self.read(|tx| Box::pin(async move { Ok(sessions::by_name(tx, &name).await?.session) }))
            .await
    }

    async fn session_by_id(&self, id: Ulid) -> Result<Session> {
        self.read(|tx| Box::pin(async move { Ok(sessions::by_id(tx, id).await?.session) }))
            .await
    }

    async fn list_sessions(&self, filter: &SessionFilter) -> Result<Vec<SessionSummary>> {
        let filter = filter.clone();
        self.read(|tx| Box::pin(async move { sessions::list(tx, &filter).await }))
            .await
    }

    async fn count_sessions(&self, project: Option<&Project>) -> Result<u64> {
        let project = project.cloned();
        self.read(|tx| Box::pin(async move { sessions::count(tx, project.as_ref()).await }))
            .await
    }

    async fn most_recent_session(&self, project: Option<&Project>) -> Result<Option<Session>> {
        let project = project.cloned();
        self.read(|tx| Box::pin(async move { sessions::most_recent(tx, project.as_ref()).await }))
            .await
    }

    async fn rename_session(&self, old: &SessionName, new: &SessionName) -> Result<Session> {
        let (old, new) = (old.clone(), new.clone());
        self.write(Some(StoreChange::SessionsChanged), |tx| {
            Box::pin(async move { sessions::rename(tx, &old, &new).await })
        })
        .await
    }

    async fn delete_session(&self, name: &SessionName) -> Result<()> {
        let name = name.clone();
        self.write(Some(StoreChange::SessionsChanged), |tx| {
            Box::pin(async move { sessions::delete(tx, &name).await })
        })
        .await
    }

    async fn update_session(&self, id: Ulid, update: SessionUpdate) -> Result<Session> {
        self.write(Some(StoreChange::SessionsChanged), |tx| {
            Box::pin(async move { sessions::update(tx, id, &update).await })
        })
        .await
    }

    async fn child_sessions(&self, parent: Ulid) -> Result<Vec<Session>> {
        self.read(|tx| Box::pin(async move { sessions::children(tx, parent).await }))
            .await
    }

    async fn append_events(&self, session: Ulid, new_events: Vec<NewEvent>) -> Result<Vec<u64>> {
        if new_events.is_empty() {
            // Nothing to write; the session must still exist.
            self.session_by_id(session).await?;
            return Ok(Vec::new());
        }
        // Two appends storing the same new payloads in opposite orders can deadlock
        // (each waits for the other's insert); the one PostgreSQL cancels runs again.
        let mut attempt = 0;
        let seqs = loop {
            let batch = new_events.clone();
            let result = self
                .write_raw(true, |tx| {
                    Box::pin(async move { events::append(tx, session, &batch).await })
                })
                .await;
            match result {
                Err(e) if e.is_retryable() && attempt < DEADLOCK_RETRIES => attempt += 1,
                other => break self.run(async { other }).await?,
            }
        };
        if let Some(&head_seq) = seqs.last() {
            self.announce(StoreChange::SessionAppended { session, head_seq });
        }
        Ok(seqs)
    }

    async fn live_context(&self, session: Ulid, knowledge_retention: usize) -> Result<LiveContext> {
        self.read(|tx| {
            Box::pin(async move { events::live_context(tx, session, knowledge_retention).await })
        })
        .await
    }

    async fn events_after(&self, session: Ulid, after_seq: u64, limit: u32) -> Result<Vec<Event>> {
        self.read(|tx| {
            Box::pin(async move { events::events_after(tx, session, after_seq, limit).await })
        })
        .await
    }

    async fn large_events(
        &self,
        session: Ulid,
        min_bytes: u64,
        whole_history: bool,
    ) -> Result<Vec<SizedEvent>> {
        self.read(|tx| {
            Box::pin(
                async move { events::large_events(tx, session, min_bytes, whole_history).await },
            )
        })
        .await
    }

    async fn import_stream(&self, new: NewSession, events: ImportStream) -> Result<Session> {
        let session = self
            .run(self.write_raw(true, |tx| {
                Box::pin(async move { events::import(tx, &new, events).await })
            }))
            .await?;
        self.announce(StoreChange::SessionsChanged);
        self.announce(StoreChange::SessionAppended {
            session: session.id,
            head_seq: session.head_seq,
        });
        Ok(session)
    }

    async fn import_stream_from(
        &self,
        new: NewSession,
        events: ImportStream,
        finish: ImportFinish,
    ) -> Result<Session> {
        let session = self
            .run(self.write_raw(true, |tx| {
                Box::pin(async move {
                    let session = events::import(tx, &new, events).await?;
                    let end = finish(session.head_seq)?;
                    import_origins::record(tx, session.id, &end.origin).await?;
                    if end.update == SessionUpdate::default() {
                        return Ok(session);
                    }
                    sessions::update(tx, session.id, &end.update).await
                })
            }))
            .await?;
        self.announce(StoreChange::SessionsChanged);
        self.announce(StoreChange::SessionAppended {
            session: session.id,
            head_seq: session.head_seq,
        });
        Ok(session)
    }

    async fn import_origin(&self, source: &str, original_id: &str) -> Result<Option<KnownImport>> {
        let (source, original_id) = (source.to_owned(), original_id.to_owned());
        self.read(|tx| {
            Box::pin(async move { import_origins::find(tx, &source, &original_id).await })
        })
        .await
    }

    async fn append_imported(
        &self,
        session: Ulid,
        new_events: Vec<NewEvent>,
        origin: ImportOrigin,
    ) -> Result<Vec<u64>> {
        let seqs = self
            .run(self.write_raw(true, |tx| {
                Box::pin(async move {
                    let seqs = events::append(tx, session, &new_events).await?;
                    import_origins::record(tx, session, &origin).await?;
                    Ok(seqs)
                })
            }))
            .await?;
        if let Some(&head_seq) = seqs.last() {
            self.announce(StoreChange::SessionAppended { session, head_seq });
        }
        Ok(seqs)
    }

    async fn search(&self, query: &str, scope: &SearchScope) -> Result<Vec<SearchHit>> {
        let (query, scope) = (query.to_owned(), scope.clone());
        self.read_each(|client| {
            let (query, scope) = (query.clone(), scope.clone());
            Box::pin(async move { search::search(client, &query, &scope).await })
        })
        .await
    }

    async fn search_session(
        &self,
        session: Ulid,
        query: &str,
        limit: u32,
    ) -> Result<Vec<SearchHit>> {
        let query = query.to_owned();
        self.read(|tx| {
            Box::pin(async move { search::search_session(tx, session, &query, limit).await })
        })
        .await
    }

    async fn search_checkpoints(
        &self,
        query: &str,
        scope: &SearchScope,
    ) -> Result<Vec<CheckpointHit>> {
        let (query, scope) = (query.to_owned(), scope.clone());
        self.read_each(|client| {
            let (query, scope) = (query.clone(), scope.clone());
            Box::pin(async move { search::search_checkpoints(client, &query, &scope).await })
        })
        .await
    }

    async fn knowledge(&self, session: Ulid) -> Result<Vec<Event>> {
        self.read(|tx| Box::pin(async move { events::knowledge(tx, session).await }))
            .await
    }

    async fn project_knowledge(&self, project: &Project) -> Result<Vec<ProjectKnowledge>> {
        let project = project.clone();
        self.read(|tx| {
            Box::pin(async move { crate::project_knowledge::project_knowledge(tx, &project).await })
        })
        .await
    }

    async fn set_knowledge_pinned(&self, session: Ulid, seq: u64, pinned: bool) -> Result<()> {
        self.write(Some(StoreChange::KnowledgeChanged { session }), |tx| {
            Box::pin(async move { events::set_knowledge_pinned(tx, session, seq, pinned).await })
        })
        .await
    }

    async fn put_attachment(&self, mime: &str, bytes: Vec<u8>) -> Result<AttachmentRef> {
        let mime = mime.to_owned();
        self.write(None, |tx| {
            Box::pin(async move { attachments::put_pending(tx, &mime, &bytes).await })
        })
        .await
    }

    async fn collect_attachments(&self, remove: bool) -> Result<AttachmentGarbage> {
        if remove {
            self.write(None, |tx| {
                Box::pin(async move { attachments::collect(tx, true).await })
            })
            .await
        } else {
            self.read(|tx| Box::pin(async move { attachments::collect(tx, false).await }))
                .await
        }
    }

    async fn attachment(&self, sha256: &str) -> Result<Attachment> {
        let sha256 = sha256.to_owned();
        self.read(|tx| Box::pin(async move { attachments::get_one(tx, &sha256).await }))
            .await
    }

    async fn save_checkpoint(&self, new: NewCheckpoint) -> Result<Checkpoint> {
        self.write(Some(StoreChange::CheckpointsChanged), |tx| {
            Box::pin(async move { checkpoints::save(tx, &new).await })
        })
        .await
    }

    async fn checkpoints(&self, session_id: &str) -> Result<Vec<Checkpoint>> {
        let session_id = session_id.to_owned();
        self.read(|tx| Box::pin(async move { checkpoints::of_session(tx, &session_id).await }))
            .await
    }

    async fn latest_checkpoint(&self, session_id: &str) -> Result<Option<Checkpoint>> {
        let session_id = session_id.to_owned();
        self.read(|tx| Box::pin(async move { checkpoints::latest(tx, &session_id).await }))
            .await
    }

    async fn recent_checkpoints(
        &self,
        project: Option<&Project>,
        limit: u32,
    ) -> Result<Vec<Checkpoint>> {
        let project = project.cloned();
        self.read(|tx| {
            Box::pin(async move { checkpoints::recent(tx, project.as_ref(), limit).await })
        })
        .await
    }

    async fn import_progress(
        &self,
        checkpoints: Vec<Checkpoint>,
        signals: Vec<PoolSignal>,
    ) -> Result<cairn_core::store::ProgressImport> {
        let done = self
            .write(Some(StoreChange::CheckpointsChanged), |tx| {
                Box::pin(
                    async move { crate::progress_import::import(tx, &checkpoints, &signals).await },
                )
            })
            .await?;
        if done.signals_added > 0 {
            self.announce(StoreChange::PoolChanged);
        }
        Ok(done)
    }

    async fn add_pool_signal(&self, new: NewPoolSignal) -> Result<PoolSignal> {
        self.write(Some(StoreChange::PoolChanged), |tx| {
            Box::pin(async move { agent_pool::add_signal(tx, &new).await })
        })
        .await
    }

    async fn pool_signals(
        &self,
        project: Option<&Project>,
        since: Timestamp,
    ) -> Result<Vec<PoolSignal>> {
        let project = project.cloned();
        self.read(|tx| {
            Box::pin(async move { agent_pool::signals(tx, project.as_ref(), since).await })
        })
        .await
    }

    async fn touch_instance(
        &self,
        project: &Project,
        instance: &str,
        client: Option<&str>,
    ) -> Result<()> {
        // Two new instances dropping the least recent ones at once may deadlock;
        // the server aborts one, which runs again.
        let mut attempt = 0;
        loop {
            let (project, instance) = (project.clone(), instance.to_owned());
            let client = client.map(str::to_owned);
            let result = self
                .write_raw(true, |tx| {
                    Box::pin(async move {
                        agent_pool::touch(tx, &project, &instance, client.as_deref()).await
                    })
                })
                .await;
            match result {
                Err(e) if e.is_retryable() && attempt < DEADLOCK_RETRIES => attempt += 1,
                other => {
                    self.run(async { other }).await?;
                    self.announce(StoreChange::PoolChanged);
                    return Ok(());
                }
            }
        }
    }

    async fn pool_instances(
        &self,
        project: Option<&Project>,
        since: Timestamp,
    ) -> Result<Vec<PoolInstance>> {
        let project = project.cloned();
        self.read(|tx| {
            Box::pin(async move { agent_pool::instances(tx, project.as_ref(), since).await })
        })
        .await
    }

    async fn acquire_lease(
        &self,
        session: Ulid,
        holder: &LeaseHolder,
        stale_after: Duration,
        force: bool,
    ) -> Result<Lease> {
        let holder = holder.clone();
        self.write(Some(StoreChange::LeaseChanged { session }), |tx| {
            Box::pin(async move { leases::acquire(tx, session, &holder, stale_after, force).await })
        })
        .await
    }

    async fn heartbeat_lease(&self, session: Ulid, holder: &LeaseHolder) -> Result<()> {
        let holder = holder.clone();
        self.write(None, |tx| {
            Box::pin(async move { leases::heartbeat(tx, session, &holder).await })
        })
        .await
    }

    async fn release_lease(&self, session: Ulid, holder: &LeaseHolder) -> Result<()> {
        let holder = holder.clone();
        self.write(Some(StoreChange::LeaseChanged { session }), |tx| {
            Box::pin(async move { leases::release(tx, session, &holder).await })
        })
        .await
    }

    async fn lease(&self, session: Ulid) -> Result<Option<Lease>> {
        self.read(|tx| Box::pin(async move { leases::get_lease(tx, session).await }))
            .await
    }

    fn changes(&self) -> broadcast::Receiver<StoreChange> {
        self.subscribe()
    }

    // ---- copying between stores ---------------------------------------------------

    async fn import_copy(&self, session: &Session, events: ImportStream) -> Result<Session> {
        let session = session.clone();
        let copied = self
            .run(self.write_raw(true, |tx| {
                Box::pin(async move { copies::import_session(tx, &session, events).await })
            }))
            .await?;
        self.announce(StoreChange::SessionsChanged);
        self.announce(StoreChange::SessionAppended {
            session: copied.id,
            head_seq: copied.head_seq,
        });
        Ok(copied)
    }

    async fn copy_checkpoint(&self, checkpoint: &Checkpoint) -> Result<bool> {
        let checkpoint = checkpoint.clone();
        let added = self
            .run(self.write_raw(true, |tx| {
                Box::pin(async move { copies::checkpoint(tx, &checkpoint).await })
            }))
            .await?;
        if added {
            self.announce(StoreChange::CheckpointsChanged);
        }
        Ok(added)
    }

    async fn copy_pool_signal(&self, signal: &PoolSignal) -> Result<bool> {
        let signal = signal.clone();
        let added = self
            .run(self.write_raw(true, |tx| {
                Box::pin(async move { copies::pool_signal(tx, &signal).await })
            }))
            .await?;
        if added {
            self.announce(StoreChange::PoolChanged);
        }
        Ok(added)
    }

    async fn status(&self) -> Result<StoreStatus> {
        self.read(|tx| Box::pin(async move { copies::status(tx).await }))
            .await
    }

    async fn space(&self) -> Result<StoreSpace> {
        self.read(|tx| Box::pin(async move { space::space(tx).await }))
            .await
    }

    /// PostgreSQL's autovacuum makes freed space reusable; giving it back to the
    /// file system takes `VACUUM FULL`, which locks every table: an operator's call.
    async fn reclaim_space(&self) -> Result<u64> {
        Ok(0)
    }

    async fn compact_session(&self, session: Ulid) -> Result<u64> {
        self.write(None, |tx| {
            Box::pin(async move { events::compact(tx, session).await })
        })
        .await
    }

    async fn history_bytes(&self, session: Ulid) -> Result<u64> {
        self.read(|tx| Box::pin(async move { authors::history_bytes(tx, session).await }))
            .await
    }

    async fn session_authors(&self, session: Ulid) -> Result<Vec<SessionAuthor>> {
        self.read(|tx| Box::pin(async move { authors::of_session(tx, session).await }))
            .await
    }
}
