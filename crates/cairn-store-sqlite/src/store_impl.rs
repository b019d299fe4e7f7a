//! `Store` for `SqliteStore`: each method moves its arguments into one read or
//! write transaction on the blocking pool; a write announces its change once it
//! has committed.

use std::time::Duration;

use async_trait::async_trait;
use cairn_core::store::{
    CheckpointHit, ImportFinish, ImportStream, PoolInstance, ProjectKnowledge, SearchHit,
    SearchScope, SessionAuthor, SessionUpdate, SizedEvent, StoreSpace, StoreStatus,
};
use cairn_core::{
    Attachment, AttachmentGarbage, AttachmentRef, Checkpoint, Error, Event, ImportOrigin,
    KnownImport, Lease, LeaseHolder, LiveContext, NewCheckpoint, NewEvent, NewPoolSignal,
    NewSession, PoolSignal, Project, Result, Session, SessionFilter, SessionName, SessionSummary,
    Store, StoreChange, Timestamp,
};
use tokio::sync::broadcast;
use ulid::Ulid;

use crate::{
    SqliteStore, agent_pool, attachments, authors, checkpoints, copies, events, import_origins,
    leases, search, sessions, space,
};

#[async_trait]
impl Store for SqliteStore {
    async fn create_session(&self, new: NewSession) -> Result<Session> {
        let session = self
            .write(move |tx| Ok(crate::lineage::create(tx, &new)?.session))
            .await?;
        self.announce(StoreChange::SessionsChanged);
        Ok(session)
    }

    async fn session(&self, name: &SessionName) -> Result<Session> {
        let name = name.clone();
        self.read(move |tx| Ok(sessions::by_name(tx, &name)?.session))
            .await
    }

    async fn session_by_id(&self, id: Ulid) -> Result<Session> {
        self.read(move |tx| Ok(sessions::by_id(tx, id)?.session))
            .await
    }

    async fn list_sessions(&self, filter: &SessionFilter) -> Result<Vec<SessionSummary>> {
        let filter = filter.clone();
        self.read(move |tx| sessions::list(tx, &filter)).await
    }

    async fn count_sessions(&self, project: Option<&Project>) -> Result<u64> {
        let project = project.cloned();
        self.read(move |tx| sessions::count(tx, project.as_ref()))
            .await
    }

    async fn most_recent_session(&self, project: Option<&Project>) -> Result<Option<Session>> {
        let project = project.cloned();
        self.read(move |tx| sessions::most_recent(tx, project.as_ref()))
            .await
    }

    async fn rename_session(&self, old: &SessionName, new: &SessionName) -> Result<Session> {
        let (old, new) = (old.clone(), new.clone());
        let session = self
            .write(move |tx| sessions::rename(tx, &old, &new))
            .await?;
        self.announce(StoreChange::SessionsChanged);
        Ok(session)
    }

    async fn delete_session(&self, name: &SessionName) -> Result<()> {
        let name = name.clone();
        self.write(move |tx| sessions::delete(tx, &name)).await?;
        self.announce(StoreChange::SessionsChanged);
        Ok(())
    }

    async fn child_sessions(&self, parent: Ulid) -> Result<Vec<Session>> {
        self.read(move |tx| sessions::children(tx, parent)).await
    }

    async fn update_session(&self, id: Ulid, update: SessionUpdate) -> Result<Session> {
        let session = self
            .write(move |tx| sessions::update(tx, id, &update))
            .await?;
        self.announce(StoreChange::SessionsChanged);
        Ok(session)
    }

    async fn append_events(&self, session: Ulid, new_events: Vec<NewEvent>) -> Result<Vec<u64>> {
        let seqs = self
            .write(move |tx| events::append(tx, session, &new_events))
            .await?;
        if let Some(&head_seq) = seqs.last() {
            self.announce(StoreChange::SessionAppended { session, head_seq });
        }
        Ok(seqs)
    }

    async fn live_context(&self, session: Ulid, knowledge_retention: usize) -> Result<LiveContext> {
        self.read(move |tx| events::live_context(tx, session, knowledge_retention))
            .await
    }

    async fn events_after(&self, session: Ulid, after_seq: u64, limit: u32) -> Result<Vec<Event>> {
        self.read(move |tx| events::events_after(tx, session, after_seq, limit))
            .await
    }

    async fn large_events(
        &self,
        session: Ulid,
        min_bytes: u64,
        whole_history: bool,
    ) -> Result<Vec<SizedEvent>> {
        self.read(move |tx| events::large_events(tx, session, min_bytes, whole_history))
            .await
    }

    async fn import_stream(&self, new: NewSession, events: ImportStream) -> Result<Session> {
        self.import_recording(new, events, None).await
    }

    async fn import_stream_from(
        &self,
        new: NewSession,
        events: ImportStream,
        finish: ImportFinish,
    ) -> Result<Session> {
        self.import_recording(new, events, Some(finish)).await
    }

    async fn import_origin(&self, source: &str, original_id: &str) -> Result<Option<KnownImport>> {
        let (source, original_id) = (source.to_owned(), original_id.to_owned());
        self.read(move |tx| import_origins::find(tx, &source, &original_id))
            .await
    }

    async fn append_imported(
        &self,
        session: Ulid,
        new_events: Vec<NewEvent>,
        origin: ImportOrigin,
    ) -> Result<Vec<u64>> {
        let seqs = self
            .write(move |tx| {
                let seqs = events::append(tx, session, &new_events)?;
                import_origins::record(tx, session, &origin)?;
                Ok(seqs)
            })
            .await?;
        if let Some(&head_seq) = seqs.last() {
            self.announce(StoreChange::SessionAppended { session, head_seq });
        }
        Ok(seqs)
    }

    async fn search(&self, query: &str, scope: &SearchScope) -> Result<Vec<SearchHit>> {
        let (query, scope) = (query.to_owned(), scope.clone());
        self.read(move |tx| search::search(tx, &query, &scope))
            .await
    }

    async fn search_session(
        &self,
        session: Ulid,
        query: &str,
        limit: u32,
    ) -> Result<Vec<SearchHit>> {
        let query = query.to_owned();
        self.read(move |tx| search::search_session(tx, session, &query, limit))
            .await
    }

    async fn search_checkpoints(
        &self,
        query: &str,
        scope: &SearchScope,
    ) -> Result<Vec<CheckpointHit>> {
        let (query, scope) = (query.to_owned(), scope.clone());
        self.read(move |tx| search::search_checkpoints(tx, &query, &scope))
            .await
    }

    async fn knowledge(&self, session: Ulid) -> Result<Vec<Event>> {
        self.read(move |tx| events::knowledge(tx, session)).await
    }

    async fn project_knowledge(&self, project: &Project) -> Result<Vec<ProjectKnowledge>> {
        let project = project.clone();
        self.read(move |tx| crate::project_knowledge::project_knowledge(tx, &project))
            .await
    }

    async fn set_knowledge_pinned(&self, session: Ulid, seq: u64, pinned: bool) -> Result<()> {
        self.write(move |tx| events::set_knowledge_pinned(tx, session, seq, pinned))
            .await?;
        self.announce(StoreChange::KnowledgeChanged { session });
        Ok(())
    }

    async fn put_attachment(&self, mime: &str, bytes: Vec<u8>) -> Result<AttachmentRef> {
        let mime = mime.to_owned();
        self.write(move |tx| attachments::put_pending(tx, &mime, &bytes))
            .await
    }

    async fn compact_session(&self, session: Ulid) -> Result<u64> {
        self.write(move |tx| events::compact(tx, session)).await
    }

    async fn collect_attachments(&self, remove: bool) -> Result<AttachmentGarbage> {
        if remove {
            self.write(move |tx| attachments::collect(tx, true)).await
        } else {
            self.read(move |tx| attachments::collect(tx, false)).await
        }
    }

    async fn attachment(&self, sha256: &str) -> Result<Attachment> {
        let sha256 = sha256.to_owned();
        self.read(move |tx| attachments::get(tx, &sha256)).await
    }

    async fn save_checkpoint(&self, new: NewCheckpoint) -> Result<Checkpoint> {
        let checkpoint = self.write(move |tx| checkpoints::save(tx, &new)).await?;
        self.announce(StoreChange::CheckpointsChanged);
        Ok(checkpoint)
    }

    async fn checkpoints(&self, session_id: &str) -> Result<Vec<Checkpoint>> {
        let session_id = session_id.to_owned();
        self.read(move |tx| checkpoints::of_session(tx, &session_id))
            .await
    }

    async fn latest_checkpoint(&self, session_id: &str) -> Result<Option<Checkpoint>> {
        let session_id = session_id.to_owned();
        self.read(move |tx| checkpoints::latest(tx, &session_id))
            .await
    }

    async fn recent_checkpoints(
        &self,
        project: Option<&Project>,
        limit: u32,
    ) -> Result<Vec<Checkpoint>> {
        let project = project.cloned();
        self.read(move |tx| checkpoints::recent(tx, project.as_ref(), limit))
            .await
    }

    async fn import_progress(
        &self,
        checkpoints: Vec<Checkpoint>,
        signals: Vec<PoolSignal>,
    ) -> Result<cairn_core::store::ProgressImport> {
        let done = self
            .write(move |tx| crate::progress_import::import(tx, &checkpoints, &signals))
            .await?;
        if done.checkpoints_added > 0 {
            self.announce(StoreChange::CheckpointsChanged);
        }
        if done.signals_added > 0 {
            self.announce(StoreChange::PoolChanged);
        }
        Ok(done)
    }

    async fn add_pool_signal(&self, new: NewPoolSignal) -> Result<PoolSignal> {
        let signal = self
            .write(move |tx| agent_pool::add_signal(tx, &new))
            .await?;
        self.announce(StoreChange::PoolChanged);
        Ok(signal)
    }

    async fn pool_signals(
        &self,
        project: Option<&Project>,
        since: Timestamp,
    ) -> Result<Vec<PoolSignal>> {
        let project = project.cloned();
        self.read(move |tx| agent_pool::signals(tx, project.as_ref(), since))
            .await
    }

    async fn touch_instance(
        &self,
        project: &Project,
        instance: &str,
        client: Option<&str>,
    ) -> Result<()> {
        let (project, instance) = (project.clone(), instance.to_owned());
        let client = client.map(str::to_owned);
        self.write(move |tx| agent_pool::touch(tx, &project, &instance, client.as_deref()))
            .await?;
        self.announce(StoreChange::PoolChanged);
        Ok(())
    }

    async fn pool_instances(
        &self,
        project: Option<&Project>,
        since: Timestamp,
    ) -> Result<Vec<PoolInstance>> {
        let project = project.cloned();
        self.read(move |tx| agent_pool::instances(tx, project.as_ref(), since))
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
        let lease = self
            .write(move |tx| leases::acquire(tx, session, &holder, stale_after, force))
            .await?;
        self.announce(StoreChange::LeaseChanged { session });
        Ok(lease)
    }

    async fn heartbeat_lease(&self, session: Ulid, holder: &LeaseHolder) -> Result<()> {
        let holder = holder.clone();
        self.write(move |tx| leases::heartbeat(tx, session, &holder))
            .await
    }

    async fn release_lease(&self, session: Ulid, holder: &LeaseHolder) -> Result<()> {
        let holder = holder.clone();
        self.write(move |tx| leases::release(tx, session, &holder))
            .await?;
        self.announce(StoreChange::LeaseChanged { session });
        Ok(())
    }

    async fn lease(&self, session: Ulid) -> Result<Option<Lease>> {
        self.read(move |tx| leases::get(tx, session)).await
    }

    fn changes(&self) -> broadcast::Receiver<StoreChange> {
        self.subscribe()
    }

    // ---- copying between stores ---------------------------------------------------

    async fn import_copy(&self, session: &Session, events: ImportStream) -> Result<Session> {
        let session = session.clone();
        let mut events = Some(events);
        let copied = self
            .write(move |tx| {
                // As in an import: a stream cannot be read twice after a busy retry.
                let Some(events) = events.take() else {
                    return Err(Error::Storage(
                        "the store was busy in the middle of the copy of a session and its \
                         events cannot be read twice; nothing of it was copied, run it again"
                            .into(),
                    )
                    .into());
                };
                copies::import_session(tx, &session, events)
            })
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
            .write(move |tx| copies::checkpoint(tx, &checkpoint))
            .await?;
        if added {
            self.announce(StoreChange::CheckpointsChanged);
        }
        Ok(added)
    }

    async fn copy_pool_signal(&self, signal: &PoolSignal) -> Result<bool> {
        let signal = signal.clone();
        let added = self
            .write(move |tx| copies::pool_signal(tx, &signal))
            .await?;
        if added {
            self.announce(StoreChange::PoolChanged);
        }
        Ok(added)
    }

    async fn status(&self) -> Result<StoreStatus> {
        self.read(|tx| copies::status(tx)).await
    }

    async fn space(&self) -> Result<StoreSpace> {
        let path = self.path().to_path_buf();
        self.read(move |tx| space::space(tx, &path)).await
    }

    async fn reclaim_space(&self) -> Result<u64> {
        self.outside_transaction(space::reclaim).await
    }

    async fn repack(&self) -> Result<()> {
        self.outside_transaction(|conn, _| space::repack(conn))
            .await
    }

    async fn history_bytes(&self, session: Ulid) -> Result<u64> {
        self.read(move |tx| authors::history_bytes(tx, session))
            .await
    }

    async fn session_authors(&self, session: Ulid) -> Result<Vec<SessionAuthor>> {
        self.read(move |tx| authors::of_session(tx, session)).await
    }
}

impl SqliteStore {
    /// One import transaction, recording where the session came from when known.
    async fn import_recording(
        &self,
        new: NewSession,
        events: ImportStream,
        finish: Option<ImportFinish>,
    ) -> Result<Session> {
        let mut input = Some((events, finish));
        let session = self
            .write(move |tx| {
                // A busy store is retried before the first event is read; a stream
                // cannot be read twice, so a retry after that is refused.
                let Some((events, finish)) = input.take() else {
                    return Err(Error::Storage(
                        "the store was busy in the middle of the import and its input \
                         cannot be read twice; nothing was imported, run it again"
                            .into(),
                    )
                    .into());
                };
                let session = events::import(tx, &new, events)?;
                let Some(finish) = finish else {
                    return Ok(session);
                };
                let end = finish(session.head_seq)?;
                import_origins::record(tx, session.id, &end.origin)?;
                if end.update == SessionUpdate::default() {
                    return Ok(session);
                }
                sessions::update(tx, session.id, &end.update)
            })
            .await?;
        self.announce(StoreChange::SessionsChanged);
        self.announce(StoreChange::SessionAppended {
            session: session.id,
            head_seq: session.head_seq,
        });
        Ok(session)
    }
}
