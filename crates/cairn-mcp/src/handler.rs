//! The MCP handler: cairn's tools, resources and the `resume` prompt over one
//! store. Transport-agnostic: the same type serves stdio (`cairn mcp`) and
//! streamable HTTP (`cairn mcp --http`, `/mcp` on `cairn serve`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_app::fork::Forked;
use cairn_app::inputs::{self, DEFAULT_LIMIT, MAX_LIMIT};
use cairn_app::pool_status::{self, PoolStatus, SignalReport};
use cairn_app::progress::{self, Progress, Rounds, Saved};
use cairn_app::recall::{self, RecallResult};
use cairn_app::resume_brief::{self, WhereQuery};
use cairn_app::sessions::{self, SearchResult, SessionList};
use cairn_app::where_was_i::{self, WhereWasIResult};
use cairn_core::store_calls;
use cairn_core::{Error as CoreError, NewCheckpoint, NewPoolSignal, Project, Store, Timestamp};
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult,
    CompletionInfo, ContentBlock, ErrorCode, GetPromptResult, Implementation,
    InitializeRequestParams, InitializeResult, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
    Reference, Role, ServerCapabilities, ServerConfig,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{
    ErrorData, RoleServer, ServerHandler, prompt, prompt_handler, prompt_router, tool,
    tool_handler, tool_router,
};
use serde::Serialize;

use crate::refusal::{core_invalid, invalid, refusal_result, reworded};
use crate::resources;
use crate::roots::RootsProject;
use crate::schemas::{input_schema, output_schema};

/// How often one instance's "last seen" is written while it keeps calling tools.
const TOUCH_EVERY: Duration = Duration::from_secs(15);
/// The HTTP header a client names its own instance with.
pub(crate) const INSTANCE_HEADER: &str = "cairn-instance";
/// Entries of the "last written" map before stale ones are dropped.
const MAX_TOUCHED: usize = 1024;
/// Tools whose store calls are short (an indexed row or a bounded page): over
/// stdio they run on the calling thread. Search, recall and fork can take long.
const SHORT_TOOLS: &[&str] = &[
    "save_progress",
    "get_progress",
    "where_was_i",
    "pool_signal",
    "pool_status",
    "list_sessions",
];

/// What every connection of one server shares.
pub struct McpConfig {
    pub store: Arc<dyn Store>,
    /// The project of the server's working directory or `--project`; a client
    /// that offers MCP roots works in the project of its first local root.
    pub project: Project,
    /// Seconds of silence after which an instance's topics are released.
    pub pool_ttl_secs: u64,
    /// `CAIRN_INSTANCE`: one fixed instance id for every connection.
    pub instance: Option<String>,
}

struct Shared {
    config: McpConfig,
    tools: ToolRouter<CairnMcp>,
    prompts: PromptRouter<CairnMcp>,
    /// When each (project, instance) was last written as seen.
    touched: Mutex<HashMap<(Project, String), Instant>>,
}

/// One MCP connection's handler. Cheap to create: the routers and the store
/// are shared, only the connection id is new.
#[derive(Clone)]
pub struct CairnMcp {
    shared: Arc<Shared>,
    /// Identifies this connection in instance ids (stdio: one per process).
    connection: String,
    /// The instances that sent pool signals on this connection: their topics
    /// are released when a stdio connection ends.
    signalers: Arc<Mutex<HashSet<String>>>,
    /// The project of the client's roots, when it offers them.
    roots: RootsProject,
}

/// Creates handlers for new connections.
#[derive(Clone)]
pub struct CairnMcpFactory {
    shared: Arc<Shared>,
}

impl CairnMcpFactory {
    pub fn new(config: McpConfig) -> Self {
        CairnMcpFactory {
            shared: Arc::new(Shared {
                config,
                tools: CairnMcp::tool_router(),
                prompts: CairnMcp::prompt_router(),
                touched: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn handler(&self) -> CairnMcp {
        CairnMcp {
            shared: Arc::clone(&self.shared),
            connection: connection_id(),
            signalers: Arc::default(),
            roots: RootsProject::default(),
        }
    }
}

/// A short random id for one connection.
fn connection_id() -> String {
    let id = ulid::Ulid::new().to_string().to_lowercase();
    id[id.len() - 6..].to_owned()
}

/// A tool result: readable markdown and the structured value.
fn respond<T: Serialize>(markdown: String, value: &T) -> Result<CallToolResult, ErrorData> {
    let structured = serde_json::to_value(value)
        .map_err(|e| ErrorData::internal_error(format!("cannot encode the result: {e}"), None))?;
    let mut result = CallToolResult::success(vec![ContentBlock::text(markdown)]);
    result.structured_content = Some(structured);
    Ok(result)
}

/// A store failure as a JSON-RPC error. Bad input stays `invalid params`.
fn store_error(error: CoreError) -> ErrorData {
    match error {
        CoreError::InvalidInput(_) | CoreError::InvalidName(_) => core_invalid("arguments", error),
        CoreError::NotFound { .. } => ErrorData::resource_not_found(error.to_string(), None),
        other => {
            tracing::error!(error = %other, "store error in an MCP tool");
            ErrorData::internal_error(other.to_string(), None)
        }
    }
}

impl CairnMcp {
    fn config(&self) -> &McpConfig {
        &self.shared.config
    }

    fn store(&self) -> &dyn Store {
        self.shared.config.store.as_ref()
    }

    /// The calling instance and its client name: `CAIRN_INSTANCE` when set,
    /// else the client's name plus a connection id.
    fn identity(&self, ctx: &RequestContext<RoleServer>) -> (String, Option<String>) {
        let client = ctx
            .client_info()
            .map(|info| info.name)
            .map(|name| name.trim().chars().take(128).collect::<String>())
            .filter(|name| !name.is_empty());
        if let Some(instance) = &self.config().instance {
            return (instance.clone(), client);
        }
        let connection = match ctx.extensions.get::<axum::http::request::Parts>() {
            // Over HTTP: the client's own `Cairn-Instance` header when it sends
            // one (stateless 2026-07-28 requests carry nothing else that tells
            // two clients of one name apart), else the session; stateless
            // requests without the header share one instance per client name.
            Some(parts) => match (
                parts.headers.get(INSTANCE_HEADER),
                parts.headers.get("mcp-session-id"),
            ) {
                (Some(instance), _) => short_hash(instance.as_bytes()),
                (None, Some(session)) => short_hash(session.as_bytes()),
                (None, None) => "http".to_owned(),
            },
            None => self.connection.clone(),
        };
        let name = client.clone().unwrap_or_else(|| "client".to_owned());
        (format!("{name}#{connection}"), client)
    }

    /// The project of the client's roots, else the server's.
    async fn default_project(&self, ctx: &RequestContext<RoleServer>) -> Project {
        // Over HTTP every request is served on its own, so waiting for the
        // client's answer to `roots/list` cannot block that answer; over stdio
        // it could (no input is read while the request slots are full).
        let over_http = ctx.extensions.get::<axum::http::request::Parts>().is_some();
        self.roots
            .get(over_http)
            .await
            .unwrap_or_else(|| self.config().project.clone())
    }

    /// The project of a `project` argument, or the default one.
    async fn project_arg(
        &self,
        project: Option<String>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Project, ErrorData> {
        match project {
            None => Ok(self.default_project(ctx).await),
            Some(path) => Project::from_user_path(std::path::Path::new(&path))
                .map_err(|e| invalid("project", format!("project: {e}"), None)),
        }
    }

    /// A project filter: an existing directory is resolved like `--project`; any
    /// other value is matched as stored (a project of another machine).
    fn project_filter(&self, project: Option<String>) -> Option<Project> {
        project.map(|path| {
            Project::from_user_path(std::path::Path::new(&path))
                .unwrap_or_else(|_| Project::from_stored(path))
        })
    }

    /// The stdio connection ended (EOF on stdin): its agent is gone, so the
    /// topics it holds are released at once instead of looking held until the
    /// pool TTL runs out. A fixed `CAIRN_INSTANCE` outlives its connections and
    /// keeps its topics.
    pub async fn connection_closed(&self) {
        if self.config().instance.is_some() {
            return;
        }
        let instances: Vec<String> = match self.signalers.lock() {
            Ok(mut signalers) => signalers.drain().collect(),
            Err(_) => return,
        };
        for instance in instances {
            let summary =
                format!("released automatically: the MCP stdio connection of {instance} closed");
            match pool_status::release_instance(
                self.store(),
                &instance,
                &summary,
                self.config().pool_ttl_secs,
            )
            .await
            {
                Ok(released) if !released.is_empty() => {
                    tracing::info!(%instance, topics = released.len(), "released the topics of a closed connection");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, %instance, "cannot release the topics of a closed connection")
                }
            }
        }
    }

    /// Record that the instance was heard from, at most every few seconds.
    async fn touch(&self, project: &Project, instance: &str, client: Option<&str>) {
        let key = (project.clone(), instance.to_owned());
        {
            let Ok(mut touched) = self.shared.touched.lock() else {
                return;
            };
            if touched
                .get(&key)
                .is_some_and(|at| at.elapsed() < TOUCH_EVERY)
            {
                return;
            }
            // One entry per instance ever seen: drop the stale ones so a flood
            // of short sessions does not grow this map for ever.
            if touched.len() >= MAX_TOUCHED {
                touched.retain(|_, at| at.elapsed() < TOUCH_EVERY);
            }
            touched.insert(key, Instant::now());
        }
        if let Err(e) = self.store().touch_instance(project, instance, client).await {
            tracing::warn!(error = %e, "cannot record pool instance");
        }
    }
}

fn short_hash(bytes: &[u8]) -> String {
    // FNV-1a: stable across runs, and the session id itself is never shown.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:08x}", hash >> 32)
}

#[tool_router]
impl CairnMcp {
    #[tool(
        name = "save_progress",
        description = "Save a checkpoint of your work so that you (or another agent) can resume exactly here later. \
Use one session_id per piece of work (e.g. `project-auth-v2`); each save adds a round. \
List fields accept a JSON array of strings or one comma/newline separated string.",
        input_schema = input_schema::<inputs::SaveProgress>(),
        output_schema = output_schema::<Saved>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn save_progress(
        &self,
        Parameters(args): Parameters<inputs::SaveProgress>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let inputs::SaveProgress {
            session_id,
            summary,
            files_touched,
            decisions_made,
            next_steps,
            round_id,
            project,
        } = args;
        let project = self.project_arg(project, &ctx).await?;
        let (instance, client) = self.identity(&ctx);
        let out = progress::save(
            self.store(),
            NewCheckpoint {
                session_id,
                project: project.clone(),
                summary,
                files_touched,
                decisions_made,
                next_steps,
                round_id,
                client: client.clone(),
                instance: Some(instance.clone()),
            },
        )
        .await
        .map_err(store_error)?;
        self.touch(&project, &instance, client.as_deref()).await;
        let markdown = format!(
            "Saved checkpoint `{}` for `{}`, round {} (project {}). Resume later with `where_was_i(session_id=\"{}\")`.",
            out.checkpoint_id, out.session_id, out.round_id, out.project, out.session_id
        );
        respond(markdown, &out)
    }

    #[tool(
        name = "where_was_i",
        description = "Where was I? Without arguments: the most recent session across all projects; with session_id: that one. \
Returns the last activity time, the latest checkpoint (summary, files, decisions, next steps), the project and a short resume brief. \
Covers save_progress session ids and cairn chat sessions.",
        input_schema = input_schema::<inputs::WhereWasI>(),
        output_schema = output_schema::<WhereWasIResult>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn where_was_i(
        &self,
        Parameters(args): Parameters<inputs::WhereWasI>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let query = WhereQuery {
            session_id: args.session_id,
            client: args.client,
            project: None,
        };
        let now = Timestamp::now();
        let found = where_was_i::where_was_i(self.store(), &query, now)
            .await
            .map_err(store_error)?;
        let (instance, client) = self.identity(&ctx);
        let project = self.default_project(&ctx).await;
        self.touch(&project, &instance, client.as_deref()).await;
        let markdown = match (&found.brief, &found.message) {
            (Some(brief), _) => brief.to_markdown(now),
            (None, message) => message.clone().unwrap_or_default(),
        };
        respond(markdown, &found)
    }

    #[tool(
        name = "get_progress",
        description = "Read checkpoints of a session id (read-only): the latest (default), one round (round_id), \
or the whole series oldest first (latest = false).",
        input_schema = input_schema::<inputs::GetProgress>(),
        output_schema = output_schema::<Progress>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn get_progress(
        &self,
        Parameters(args): Parameters<inputs::GetProgress>,
    ) -> Result<CallToolResult, ErrorData> {
        let inputs::GetProgress {
            session_id,
            round_id,
            latest,
        } = args;
        let latest = latest.unwrap_or(true);
        let rounds = match (round_id, latest) {
            (Some(round), _) => Rounds::One(round),
            (None, true) => Rounds::Latest,
            (None, false) => Rounds::All,
        };
        let out = progress::get(self.store(), &session_id, &rounds)
            .await
            .map_err(store_error)?;
        let markdown = match &out.message {
            Some(message) => message.clone(),
            None => progress_markdown(&out),
        };
        respond(markdown, &out)
    }

    #[tool(
        name = "pool_signal",
        description = "Tell the other agents on this project what you are doing. Actions: claimed, started, progress, \
completed, blocked, unblocked, released, handoff, signaling. `affects` lists the files or folders you touch; \
the result warns when they overlap another live agent's open topic.",
        input_schema = input_schema::<inputs::PoolSignal>(),
        output_schema = output_schema::<SignalReport>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn pool_signal(
        &self,
        Parameters(args): Parameters<inputs::PoolSignal>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let inputs::PoolSignal {
            action,
            topic,
            summary,
            affects,
            session_id,
            project,
        } = args;
        let project = self.project_arg(project, &ctx).await?;
        let (instance, client) = self.identity(&ctx);
        let outcome = pool_status::record_signal(
            self.store(),
            NewPoolSignal {
                project: project.clone(),
                topic,
                action,
                summary,
                affects,
                instance: instance.clone(),
                session_id,
                expires_at: None,
            },
            client.as_deref(),
            self.config().pool_ttl_secs,
        )
        .await
        .map_err(store_error)?;
        // The signal itself recorded that the instance was heard from.
        if let Ok(mut touched) = self.shared.touched.lock() {
            touched.insert((project, instance.clone()), Instant::now());
        }
        if let Ok(mut signalers) = self.signalers.lock() {
            signalers.insert(instance);
        }
        respond(outcome.to_markdown(), &outcome.report())
    }

    #[tool(
        name = "pool_status",
        description = "Who is working on what in this project: active instances, open topics by state (claimed, started, blocked) \
with holder and since when, blockers, handoffs, recently completed topics and file conflicts. all_projects = true covers every project.",
        input_schema = input_schema::<inputs::PoolStatus>(),
        output_schema = output_schema::<PoolStatus>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn pool_status(
        &self,
        Parameters(args): Parameters<inputs::PoolStatus>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let all = args.all_projects.unwrap_or(false);
        let project = self.project_arg(args.project, &ctx).await?;
        let (instance, client) = self.identity(&ctx);
        self.touch(&project, &instance, client.as_deref()).await;
        let status = pool_status::load(
            self.store(),
            (!all).then_some(&project),
            Timestamp::now(),
            self.config().pool_ttl_secs,
        )
        .await
        .map_err(store_error)?;
        respond(status.to_markdown(), &status)
    }

    #[tool(
        name = "list_sessions",
        description = "List sessions, newest activity first: cairn chat sessions and save_progress session ids, \
optionally for one project.",
        input_schema = input_schema::<inputs::ListSessions>(),
        output_schema = output_schema::<SessionList>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn list_sessions(
        &self,
        Parameters(args): Parameters<inputs::ListSessions>,
    ) -> Result<CallToolResult, ErrorData> {
        let project = self.project_filter(args.project);
        let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
        let out = sessions::list(self.store(), project.as_ref(), limit)
            .await
            .map_err(store_error)?;
        respond(sessions_markdown(&out), &out)
    }

    #[tool(
        name = "fork_session",
        description = "Fork a cairn chat session: a new session that shares its history up to at_seq (default: all of it) \
without copying it, to try another approach while the original stays as it is. Resume the fork with `cairn run --resume NEW`.",
        input_schema = input_schema::<inputs::ForkSession>(),
        output_schema = output_schema::<Forked>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = false)
    )]
    async fn fork_session(
        &self,
        Parameters(args): Parameters<inputs::ForkSession>,
    ) -> Result<CallToolResult, ErrorData> {
        let (fork, parent) =
            cairn_app::fork::fork(self.store(), &args.session, args.new_name, args.at_seq)
                .await
                .map_err(|e| match e {
                    CoreError::AlreadyExists { .. } => core_invalid("new_name", e),
                    CoreError::InvalidInput(_) => core_invalid("at_seq", e),
                    other => store_error(other),
                })?;
        let out = Forked::of(&fork, &parent);
        respond(out.to_markdown(), &out)
    }

    #[tool(
        name = "recall",
        description = "Read a cairn chat session's history again, verbatim, including the parts its context compression \
replaced with a summary: `query` searches it (every word must occur; scope \"project\" searches every session of its project) \
and returns excerpts with seq, session and time; `seq` returns that one event whole (long ones in parts: pass the `offset` the \
answer names). `session` defaults to the project's most recent chat session.",
        input_schema = input_schema::<inputs::Recall>(),
        output_schema = output_schema::<RecallResult>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn recall(
        &self,
        Parameters(args): Parameters<inputs::Recall>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let session = match &args.session {
            Some(name) => self.store().session(name).await.map_err(store_error)?,
            None => {
                let project = self.default_project(&ctx).await;
                self.store()
                    .most_recent_session(Some(&project))
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| {
                        store_error(CoreError::not_found(
                            "chat session of this project",
                            format!("{project} (name one with `session`)"),
                        ))
                    })?
            }
        };
        match (args.query, args.seq) {
            (Some(_), Some(_)) => Err(invalid(
                "seq",
                "give either `query` or `seq`, not both".to_owned(),
                None,
            )),
            (None, None) => Err(invalid(
                "query",
                "missing `query` (words to search for) or `seq` (an event to read)".to_owned(),
                None,
            )),
            (None, Some(seq)) => {
                let offset = usize::try_from(args.offset.unwrap_or(0)).unwrap_or(usize::MAX);
                let found = recall::event(self.store(), &session, seq, offset, recall::EVENT_BYTES)
                    .await
                    .map_err(|e| match e {
                        CoreError::NotFound { .. } => core_invalid("seq", e),
                        CoreError::InvalidInput(_) => core_invalid("offset", e),
                        other => store_error(other),
                    })?;
                let markdown = recall::render_event(&found);
                respond(
                    markdown,
                    &RecallResult {
                        search: None,
                        event: Some(found),
                    },
                )
            }
            (Some(query), None) => {
                let scope = args.scope.unwrap_or_default();
                let limit = args.limit.unwrap_or(recall::DEFAULT_RECALL_LIMIT);
                let found = recall::search(self.store(), &session, &query, scope, limit)
                    .await
                    .map_err(store_error)?;
                let markdown = recall::render_hits(&found);
                respond(
                    markdown,
                    &RecallResult {
                        search: Some(found),
                        event: None,
                    },
                )
            }
        }
    }

    #[tool(
        name = "search_sessions",
        description = "Full-text search over chat messages and checkpoints (summaries, decisions, next steps, files).",
        input_schema = input_schema::<inputs::SearchSessions>(),
        output_schema = output_schema::<SearchResult>(),
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn search_sessions(
        &self,
        Parameters(args): Parameters<inputs::SearchSessions>,
    ) -> Result<CallToolResult, ErrorData> {
        let query = args.query;
        let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
        let out = sessions::search(self.store(), &query, None, limit)
            .await
            .map_err(|e| match e {
                CoreError::InvalidInput(_) => core_invalid("query", e),
                other => store_error(other),
            })?;
        let mut markdown = format!("# Search: {query}\n\n{} hit(s)\n", out.hits.len());
        for h in &out.hits {
            markdown.push_str(&format!(
                "- {} `{}` ({}): {}\n",
                h.kind.as_str(),
                h.id,
                h.at,
                h.snippet
            ));
        }
        respond(markdown, &out)
    }
}

fn sessions_markdown(out: &SessionList) -> String {
    let scope = out
        .project
        .as_ref()
        .map_or_else(|| "all projects".to_owned(), ToString::to_string);
    let mut md = format!("# Sessions ({scope})\n\n");
    if out.sessions.is_empty() {
        md.push_str("No sessions yet.\n");
    }
    for s in &out.sessions {
        md.push_str(&format!(
            "- {} `{}` — {} — {}{}\n",
            s.kind.as_str(),
            s.id,
            s.updated_at,
            s.project,
            s.title
                .as_deref()
                .map(|t| format!(" — {t}"))
                .unwrap_or_default()
        ));
    }
    md
}

fn progress_markdown(progress: &Progress) -> String {
    let mut md = format!(
        "# Progress of `{}` ({} checkpoint(s))\n",
        progress.session_id,
        progress.checkpoints.len()
    );
    for c in &progress.checkpoints {
        md.push_str(&format!(
            "\n## Round {} — {} ({})\n{}\n",
            c.round_id, c.created_at, c.checkpoint_id, c.summary
        ));
        for (title, items) in [
            ("Files touched", &c.files_touched),
            ("Decisions made", &c.decisions_made),
            ("Next steps", &c.next_steps),
        ] {
            if !items.is_empty() {
                md.push_str(&format!("\n{title}:\n"));
                for item in items {
                    md.push_str(&format!("- {item}\n"));
                }
            }
        }
    }
    md
}

#[prompt_router]
impl CairnMcp {
    /// Where was I? Loads the latest checkpoint and a resume brief into the conversation.
    #[prompt(name = "resume")]
    async fn resume(
        &self,
        Parameters(args): Parameters<inputs::Resume>,
    ) -> Result<GetPromptResult, ErrorData> {
        let query = WhereQuery {
            session_id: args.session_id,
            client: None,
            project: None,
        };
        let now = Timestamp::now();
        let found = resume_brief::where_was_i(self.store(), &query, now)
            .await
            .map_err(store_error)?;
        let text = match found {
            Some(found) => format!(
                "{}\n\n{}",
                found.to_markdown(now),
                resume_instruction(&found)
            ),
            None => match &query.session_id {
                Some(id) => format!("No session found with id `{id}`. Nothing to resume."),
                None => "No session found: nothing has been saved yet. Nothing to resume.".into(),
            },
        };
        Ok(
            GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                .with_description("Where was I: the latest checkpoint and a resume brief"),
        )
    }
}

/// What the `resume` prompt asks, saying only what the brief holds.
fn resume_instruction(found: &resume_brief::WhereWasI) -> String {
    let checkpoint = found.latest_checkpoint.as_ref();
    let has_steps = checkpoint.is_some_and(|c| !c.next_steps.is_empty());
    let has_decisions = checkpoint.is_some_and(|c| !c.decisions_made.is_empty())
        || found.chat.as_ref().is_some_and(|c| !c.knowledge.is_empty());
    let mut text = String::from("Continue this work from where it stopped. ");
    text.push_str(if has_steps {
        "Start with the next step above"
    } else {
        "No next steps were recorded: work out the next step from the summary above"
    });
    text.push_str(if has_decisions {
        "; do not re-debate the decisions already made."
    } else {
        "."
    });
    text
}

#[tool_handler(router = self.shared.tools)]
#[prompt_handler(router = self.shared.prompts)]
impl ServerHandler for CairnMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_completions()
                .enable_prompts()
                .enable_resources()
                .enable_tools()
                .build(),
        )
        .with_server_info(Implementation::new("cairn", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "cairn keeps your work resumable and coordinates agents on one project. \
Save a checkpoint with save_progress at the end of each step; start a new session with where_was_i. \
Before editing shared files, pool_signal(claimed, topic, summary, affects) and read pool_status; \
signal completed, blocked or handoff when that changes.",
        )
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tools = &self.shared.tools;
        if !tools.has_route(&request.name) {
            let shown: String = request.name.chars().take(64).collect();
            let mut names: Vec<String> = tools
                .list_all()
                .into_iter()
                .map(|t| t.name.to_string())
                .collect();
            names.sort();
            return Err(invalid(
                "name",
                format!(
                    "unknown tool {shown:?}; cairn's tools are: {}",
                    names.join(", ")
                ),
                None,
            ));
        }
        // Over stdio, short tools run their store calls on the runtime's own
        // thread: the hand-off to the blocking pool and back cost more than
        // their transaction. HTTP serves many clients on few workers: it keeps
        // the pool, as do the tools that can take long.
        let over_http = ctx.extensions.get::<axum::http::request::Parts>().is_some();
        let inline = !over_http && SHORT_TOOLS.contains(&request.name.as_ref());
        let call = tools.call(ToolCallContext::new(self, request, ctx));
        let result = if inline {
            store_calls::on_calling_thread(call).await
        } else {
            call.await
        };
        match result {
            // Bad arguments are a tool result the model can read and correct
            // (MCP 2025-11-25); protocol errors stay JSON-RPC errors.
            Err(error) if error.code == ErrorCode::INVALID_PARAMS => {
                Ok(CallToolResponse::Complete(refusal_result(&error)))
            }
            Ok(CallToolResponse::Complete(result)) => {
                Ok(CallToolResponse::Complete(reworded(result)))
            }
            other => other,
        }
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        if request.capabilities.roots.is_some() {
            self.roots.expect_answer();
        }
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.roots.ask_after_initialized(&context.peer).await;
    }

    async fn on_roots_list_changed(&self, context: NotificationContext<RoleServer>) {
        self.roots.ask_again(&context.peer).await;
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        resources::list(self.store()).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(resources::templates())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        resources::read(self.store(), &request.uri)
            .await
            .map(Into::into)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let wants_session = match &request.r#ref {
            Reference::Prompt(p) => p.name == "resume" && request.argument.name == "session_id",
            Reference::Resource(r) => {
                r.uri.starts_with(resources::SESSION_PREFIX)
                    || r.uri.starts_with(resources::PROGRESS_PREFIX)
            }
            _ => false,
        };
        if !wants_session {
            return Ok(CompleteResult::default());
        }
        let prefix = request.argument.value.to_lowercase();
        let listed = sessions::list(self.store(), None, MAX_LIMIT)
            .await
            .map_err(store_error)?;
        let mut values: Vec<String> = Vec::new();
        for s in listed.sessions {
            if s.id.to_lowercase().starts_with(&prefix) && !values.contains(&s.id) {
                values.push(s.id);
            }
        }
        let total = values.len();
        values.truncate(CompletionInfo::MAX_VALUES);
        let info = CompletionInfo::with_pagination(
            values,
            u32::try_from(total).ok(),
            total > CompletionInfo::MAX_VALUES,
        )
        .map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_short_tool_is_a_tool() {
        let tools = CairnMcp::tool_router();
        for name in SHORT_TOOLS {
            assert!(tools.has_route(name), "{name} is not one of cairn's tools");
        }
    }
}
