//! The [`Agent`]: one session driven by one face. Input in ([`Agent::submit`]),
//! events out (through the [`Frontend`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use cairn_core::settings::Settings;
use cairn_core::store::SessionUpdate;
use cairn_core::{
    CommandRecord, Event, LiveContext, Message, NewEvent, Payload, Project, Session, SessionName,
    Store, Usage,
};
use cairn_llm::{LlmClient, ModelRef};
use tokio_util::sync::CancellationToken;

use crate::budget::{Budget, ChildCost, SubagentTotals};
use crate::context_manager::ContextManager;
use crate::conversation::Conversation;
use crate::lease::LeaseGuard;
use crate::tools::Toolbox;
use crate::{AgentError, AgentEvent, Frontend, resume};

/// How an agent is set up; built once by the face from the resolved settings and flags.
#[derive(Clone)]
pub struct AgentOptions {
    /// The project of the working directory. New sessions belong to it and file tools
    /// work here; a session of another project is refused unless
    /// `allow_other_project` is set.
    pub project: Project,
    pub settings: Arc<Settings>,
    pub llm: LlmClient,
    /// `--yes`: run shell commands without asking.
    pub auto_approve_shell: bool,
    /// `--force`: take the session's writer lease over from another process.
    pub force: bool,
    /// `--allow-other-project`: the person confirmed that the tools of a session
    /// belonging to another project work in that project's root.
    pub allow_other_project: bool,
}

/// Which session to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionTarget {
    /// `--name X`: resume X if it exists, else create it.
    CreateOrResume(SessionName),
    /// `--resume X`: X must exist (`NotFound`, exit 3, otherwise).
    Resume(SessionName),
    /// `--resume-recent`: the most recently active session of the project
    /// (`NotFound` when the project has none).
    ResumeRecent,
    /// A new session with a generated name (`YYYYMMDD-<project>-HHMM-xxxx`).
    New,
}

/// How a call to [`Agent::submit`] ended. Provider failures and refusals have
/// already been reported as events; the session stays usable in every case but
/// `Exit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The model finished its answer.
    Answered,
    /// The answer was interrupted (cancelled, or the stream broke); what arrived is
    /// stored, marked interrupted.
    Interrupted,
    /// The provider failed (`kind` as in [`crate::AgentEvent::Error`]).
    Failed { kind: String },
    /// The turn was stopped before or between requests: a spending limit the person
    /// declined to pass, or an input that was refused.
    Stopped { reason: StopCause },
    /// A slash command ran.
    Command,
    /// `/exit`: the face should close the agent and leave.
    Exit,
}

/// Why a turn was stopped before or between requests ([`Outcome::Stopped`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopCause {
    /// A spending limit the person declined to pass.
    SpendingLimit,
    /// The turn made [`crate::turn::MAX_REQUESTS_PER_TURN`] requests.
    RequestLimit,
    /// The live context does not fit the model's window, even compressed.
    ContextTooLong,
    /// The message carries media the model cannot take.
    UnsupportedMedia,
    /// The input was empty.
    Empty,
    /// A named agent made its `max_turns` requests without finishing.
    MaxTurns,
    /// A named agent spent its `max_spending`.
    MaxSpending,
}

impl StopCause {
    /// The name faces and sub-agent results show (`stop_reason` of `done`).
    pub fn as_str(&self) -> &'static str {
        match self {
            StopCause::SpendingLimit => "spending_limit",
            StopCause::RequestLimit => "request_limit",
            StopCause::ContextTooLong => "context_too_long",
            StopCause::UnsupportedMedia => "unsupported_media",
            StopCause::Empty => "empty",
            StopCause::MaxTurns => "max_turns",
            StopCause::MaxSpending => "max_spending",
        }
    }
}

impl std::fmt::Display for StopCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The last request of this process, for `/info`.
#[derive(Clone, Debug, PartialEq)]
pub struct LastRequest {
    pub model: String,
    pub usage: Usage,
    pub cost_usd: f64,
    pub priced: bool,
    /// Index in `live.events` of the first event added after the request was sent.
    pub(crate) events_before_answer: usize,
}

/// One session driven by one face.
pub struct Agent {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) options: AgentOptions,
    /// The session, its live context and the attachments for the next message.
    pub(crate) conversation: Conversation,
    pub(crate) model: ModelRef,
    pub(crate) lease: Option<LeaseGuard>,
    pub(crate) toolbox: Toolbox,
    /// Attachment bytes already loaded, by sha256 (media go with every request).
    pub(crate) media_cache: HashMap<String, Vec<u8>>,
    pub(crate) last_request: Option<LastRequest>,
    /// Token counts, pressure levels and hints of context compression.
    pub(crate) context: ContextManager,
    /// 0 for the session a person drives; 1 for a sub-agent it delegated to.
    pub(crate) depth: u32,
    /// Prices, sub-agents' spend, inherited spend, a limit held over.
    pub(crate) budget: Budget,
    /// For a sub-agent called as `agent_<name>`: that agent (its system prompt,
    /// tools and limits).
    pub(crate) role: Option<Arc<cairn_core::agent_def::AgentDef>>,
    /// Requests one turn may make ([`crate::turn::MAX_REQUESTS_PER_TURN`], or a
    /// named agent's `max_turns`).
    pub(crate) max_requests: usize,
    /// The MCP servers of `[mcp_servers]`, shared with the sub-agents.
    pub(crate) mcp: Arc<crate::mcp_client::McpClients>,
    /// The project's instruction files (AGENTS.md) in the system prompt.
    pub(crate) project_files: crate::project_files::ProjectFiles,
}

impl Agent {
    /// Open (resume or create) a session, take its writer lease, repair tool calls
    /// left without a result, and report `SessionOpened` (with a recap when resumed).
    ///
    /// Fails before creating anything when no model can be used (the error names the
    /// variables and config keys to set), when a named session does not exist
    /// (`--resume`), or when another process holds the session.
    pub async fn open(
        store: Arc<dyn Store>,
        options: AgentOptions,
        target: SessionTarget,
        ui: &mut dyn Frontend,
    ) -> Result<Agent, AgentError> {
        crate::compress::check_settings(&options.settings)?;
        let found = resume::find_session(&store, &options.project, &target).await?;
        let model = choose_model(&options, found.as_ref().and_then(|s| s.model.as_deref()))?;
        let (session, created) = match found {
            Some(session) => (session, false),
            None => {
                let name = match &target {
                    SessionTarget::CreateOrResume(name) => Some(name.clone()),
                    _ => None,
                };
                let session =
                    resume::create_session(&store, &options.project, name, Some(&model)).await?;
                (session, true)
            }
        };
        let toolbox = toolbox_for(&session, &options)?;
        let mut agent = Agent::new(
            store,
            options,
            Conversation::new(session),
            model,
            toolbox,
            0,
            0.0,
        );
        let force = agent.options.force;
        agent.attach(created, force, ui).await?;
        Ok(agent)
    }

    /// The one constructor: an agent for `conversation`, with no lease yet, nothing
    /// measured and nothing spent but `inherited_spent_usd` (a sub-agent's parent's).
    pub(crate) fn new(
        store: Arc<dyn Store>,
        options: AgentOptions,
        conversation: Conversation,
        model: ModelRef,
        toolbox: Toolbox,
        depth: u32,
        inherited_spent_usd: f64,
    ) -> Agent {
        let budget = Budget::new(&options.settings, inherited_spent_usd);
        let mcp = Arc::new(crate::mcp_client::McpClients::new(
            &options.settings.mcp_servers,
        ));
        Agent {
            store,
            options,
            conversation,
            model,
            lease: None,
            toolbox,
            media_cache: HashMap::new(),
            last_request: None,
            context: Default::default(),
            depth,
            budget,
            role: None,
            max_requests: crate::turn::MAX_REQUESTS_PER_TURN,
            mcp,
            project_files: Default::default(),
        }
    }

    /// Take the lease of the conversation's session, load its live context, repair it,
    /// remember the model and report the session. Used by `open`, `/session` and `/new`.
    pub(crate) async fn attach(
        &mut self,
        created: bool,
        force: bool,
        ui: &mut dyn Frontend,
    ) -> Result<(), AgentError> {
        let lease =
            LeaseGuard::acquire(self.store.clone(), self.conversation.session(), force).await?;
        if let Some(from) = &lease.took_over_from {
            ui.event(AgentEvent::Notice {
                message: format!(
                    "took session {} over from {from}",
                    self.session().name.as_str()
                ),
            });
        }
        self.lease = Some(lease);
        // O(live context): the latest compaction, what follows it, retained knowledge
        // (the project's too).
        let mut live = self.load_live().await?;
        let repaired = resume::repair_dangling(&self.store, &mut live).await?;
        self.conversation.set_live(live);
        if repaired > 0 {
            ui.event(AgentEvent::Notice {
                message: format!(
                    "{repaired} tool call{} left unfinished by an earlier run got an \
                     \"interrupted\" result",
                    if repaired == 1 { "" } else { "s" }
                ),
            });
        }
        let model = self.model.to_string();
        if self.session().model.as_deref() != Some(model.as_str()) {
            self.update_session(SessionUpdate {
                model: Some(Some(model.clone())),
                ..Default::default()
            })
            .await?;
        } else if repaired > 0 {
            self.refresh_session().await?;
        }
        self.last_request = None;
        let (subagents, children) = crate::subagent::totals(&self.store, self.session().id).await?;
        self.budget.attached(subagents, children);
        // No tokenizer is loaded here: while the provider reports prompt sizes, none
        // is needed (see `ContextManager::uncounted_figure`).
        let session = self.conversation.session();
        let recap = (!created).then(|| resume::recap(session, self.conversation.live()));
        ui.event(AgentEvent::SessionOpened {
            session: session.name.as_str().to_owned(),
            project: session.project.as_str().to_owned(),
            model,
            created,
            recap,
        });
        let root = Project::from_stored(self.toolbox.root().to_string_lossy());
        if session.project != self.options.project {
            ui.event(AgentEvent::Notice {
                message: format!(
                    "session {} belongs to project {}; its tools work in {}",
                    session.name.as_str(),
                    session.project,
                    root
                ),
            });
        }
        if root.is_broad_root() {
            ui.event(AgentEvent::Notice {
                message: format!(
                    "warning: the tools of session {} work in {root}, which holds every file \
                     you own (/ or your home directory); run cairn from a project directory \
                     to keep them there",
                    session.name.as_str()
                ),
            });
        }
        crate::session_start::prepare(self, created, ui).await
    }

    /// One line from the face: a slash command when it starts with `/`, otherwise a
    /// message to the model (with any attachments queued by `/image` / `/video`).
    /// Cancelling `cancel` interrupts the stream or the running tool; the partial
    /// answer is kept, marked interrupted.
    ///
    /// `Err` only for what the face must act on: the store failed, the session was
    /// taken over, or (non-interactive faces) a spending limit was reached —
    /// `AgentError::Core(Error::SpendingLimit)`, exit code 4.
    pub async fn submit(
        &mut self,
        input: &str,
        ui: &mut dyn Frontend,
        cancel: &CancellationToken,
    ) -> Result<Outcome, AgentError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Ok(Outcome::Stopped {
                reason: StopCause::Empty,
            });
        }
        if let Some(lease) = &self.lease {
            lease.verify(self.session().name.as_str()).await?;
        }
        if crate::commands::is_command(trimmed) {
            return crate::commands::run(self, trimmed, ui, cancel).await;
        }
        crate::turn::run(self, input.trim_end().to_owned(), ui, cancel).await
    }

    /// Attach an image or video given as bytes (an editor's image block) to the next
    /// message, checked as `/image` checks a file: by its magic bytes, its size and
    /// the model's capabilities. `Err` says why it was refused, naming `label`.
    pub async fn attach_media(
        &mut self,
        label: &str,
        kind: crate::media::MediaKind,
        bytes: Vec<u8>,
    ) -> Result<(), AgentError> {
        match crate::commands::media::queue(self, label, kind, bytes).await {
            Ok(_) => Ok(()),
            Err(crate::commands::Failure::Engine(e)) => Err(e),
            Err(crate::commands::Failure::Usage(message))
            | Err(crate::commands::Failure::Interrupted(message)) => {
                Err(AgentError::Core(cairn_core::Error::invalid(message)))
            }
        }
    }

    /// The session being driven (totals as of the last append).
    pub fn session(&self) -> &Session {
        self.conversation.session()
    }

    /// The model requests go to.
    pub fn model(&self) -> &ModelRef {
        &self.model
    }

    /// The project of the working directory.
    pub fn project(&self) -> &Project {
        &self.options.project
    }

    /// Where the file tools work.
    pub fn tool_root(&self) -> PathBuf {
        self.toolbox.root().to_path_buf()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The project's instruction files the system prompt holds.
    pub fn project_files(&self) -> &crate::project_files::ProjectFiles {
        &self.project_files
    }

    /// The live context as it stands (what the next request is built from).
    pub fn live_context(&self) -> &LiveContext {
        self.conversation.live()
    }

    /// How many sub-agents this session ran and what they cost, all runs included.
    pub fn subagents(&self) -> SubagentTotals {
        self.budget.subagents()
    }

    /// The MCP servers of `[mcp_servers]` and where each stands.
    pub async fn mcp_servers(&self) -> Vec<crate::mcp_client::ServerStatus> {
        self.mcp.status().await
    }

    /// This session's sub-agents one by one, with what each cost.
    pub fn subagent_costs(&self) -> &[ChildCost] {
        self.budget.children()
    }

    /// What counts toward the spending limits now: the session's cost and its
    /// sub-agents' since the spending checkpoint (plus, for a sub-agent, its parent's).
    pub fn spent_since_checkpoint(&self) -> f64 {
        self.budget
            .spent_since_checkpoint(self.conversation.session())
    }

    /// The last request of this process, if any.
    pub fn last_request(&self) -> Option<&LastRequest> {
        self.last_request.as_ref()
    }

    /// Release the writer lease. Dropping an agent without closing it leaves the lease
    /// to go stale (another process takes it after that, or with --force, or at once
    /// when this process is gone).
    pub async fn close(mut self) -> Result<(), AgentError> {
        // The MCP servers live as long as the session a person drives.
        if self.depth == 0 {
            self.mcp.shutdown().await;
        }
        if let Some(lease) = self.lease.take() {
            lease.release().await?;
        }
        Ok(())
    }

    /// Append events to the session, checking first that no other process took it
    /// over; the live context and the session's totals follow.
    pub(crate) async fn append(&mut self, payloads: Vec<Payload>) -> Result<Vec<u64>, AgentError> {
        if let Some(lease) = &self.lease {
            lease.check(self.session().name.as_str())?;
        }
        let events: Vec<NewEvent> = payloads.iter().cloned().map(NewEvent::now).collect();
        let seqs = self.store.append_events(self.session().id, events).await?;
        let now = jiff::Timestamp::now();
        for (seq, payload) in seqs.iter().zip(payloads) {
            if matches!(payload, Payload::Compaction(_)) {
                continue;
            }
            self.conversation.push(Event {
                seq: *seq,
                ts: now,
                payload,
            });
        }
        Ok(seqs)
    }

    pub(crate) async fn append_message(&mut self, message: Message) -> Result<u64, AgentError> {
        let seqs = self.append(vec![Payload::Message(message)]).await?;
        Ok(seqs.first().copied().unwrap_or_default())
    }

    /// Record a slash command as a `command` event (`{"name":"/model","args":[…]}`).
    pub(crate) async fn record_command(
        &mut self,
        name: &str,
        args: &[&str],
    ) -> Result<(), AgentError> {
        self.append(vec![Payload::Command(CommandRecord::new(
            format!("/{name}"),
            args,
        ))])
        .await?;
        Ok(())
    }

    pub(crate) async fn refresh_session(&mut self) -> Result<(), AgentError> {
        let session = self.store.session_by_id(self.session().id).await?;
        self.conversation.set_session(session);
        Ok(())
    }

    /// Bring the context manager up to date with the session and model.
    pub(crate) fn sync_context(&mut self) -> Result<(), AgentError> {
        let session = self.conversation.session().id;
        self.context
            .sync(session, &self.model, &self.options.settings)
    }

    /// Store the live context's size on the session's row, when it changed.
    pub(crate) async fn store_live_tokens(&mut self, live_tokens: u64) -> Result<(), AgentError> {
        if self.session().live_tokens != live_tokens {
            self.update_session(SessionUpdate {
                live_tokens: Some(live_tokens),
                ..Default::default()
            })
            .await?;
        }
        Ok(())
    }

    /// Load the live context again from the store (after knowledge changed or a
    /// compaction was appended); it is measured anew.
    pub(crate) async fn reload_live(&mut self) -> Result<(), AgentError> {
        let live = self.load_live().await?;
        self.conversation.set_live(live);
        self.context.invalidate();
        Ok(())
    }

    /// The session's live context as the store keeps it, with the knowledge of its
    /// project (the session's own project, whichever checkout this is).
    async fn load_live(&self) -> Result<LiveContext, AgentError> {
        let retention = self.options.settings.compression.knowledge_retention;
        let project = self.session().project.clone();
        Ok(crate::project_knowledge::live_with_project_knowledge(
            &self.store,
            self.session().id,
            &project,
            retention,
        )
        .await?)
    }

    /// Change the session's row in the store; the conversation keeps what it returns.
    pub(crate) async fn update_session(&mut self, update: SessionUpdate) -> Result<(), AgentError> {
        let session = self.store.update_session(self.session().id, update).await?;
        self.conversation.set_session(session);
        Ok(())
    }
}

/// `-m` (the settings' model, set by the flag) wins, then the session's model, then
/// the settings', then the default of the configured provider. Checked here, before
/// anything is created or sent.
pub(crate) fn choose_model(
    options: &AgentOptions,
    session_model: Option<&str>,
) -> Result<ModelRef, AgentError> {
    let settings = &options.settings;
    let chosen = match session_model {
        Some(session) if !settings.model_from_flag => Some(session),
        _ => settings.model.as_deref().or(session_model),
    };
    let model = match chosen {
        Some(name) => options.llm.resolve(name)?,
        None => options.llm.default_model()?,
    };
    Ok(model)
}

/// File tools work in the current project. A session's own project is a string from
/// the store (or from an imported file, written by anyone), so its root is used only
/// when the person confirmed it (`--allow-other-project`); otherwise a session of
/// another project that exists on this machine is refused, naming both.
pub(crate) fn toolbox_for(
    session: &Session,
    options: &AgentOptions,
) -> Result<Toolbox, AgentError> {
    let own = session.project.path();
    let elsewhere = session.project != options.project && own.is_dir();
    if elsewhere && !options.allow_other_project {
        return Err(AgentError::Core(cairn_core::Error::invalid(format!(
            "session {} belongs to project {}, but this is project {}; its tools would read \
             and write there. Run cairn from that project, or pass --allow-other-project to \
             confirm",
            session.name.as_str(),
            session.project,
            options.project
        ))));
    }
    let root = if elsewhere {
        own
    } else {
        options.project.path()
    };
    Toolbox::new(root).map_err(|e| AgentError::Core(cairn_core::Error::invalid(e)))
}

/// The model after switching to a session: its own when it can be used, else the
/// current one (`-m` still wins).
pub(crate) fn choose_model_for_switch(agent: &Agent, session_model: Option<&str>) -> ModelRef {
    if agent.options.settings.model_from_flag {
        return agent.model.clone();
    }
    session_model
        .and_then(|m| agent.options.llm.resolve(m).ok())
        .unwrap_or_else(|| agent.model.clone())
}
