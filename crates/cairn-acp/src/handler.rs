//! The ACP agent: one handler per connection, whatever carries it (stdio for
//! `cairn acp`, a WebSocket for a daemon). Requests that set a session up run in the
//! dispatch loop (they are short store calls); a prompt runs in a task of its own so
//! `session/cancel` and permission answers keep flowing while it streams.

use std::path::Path;
use std::sync::Arc;

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{
    AgentCapabilities, AvailableCommand, AvailableCommandInput, AvailableCommandsUpdate,
    CancelNotification, CloseSessionRequest, CloseSessionResponse, ForkSessionRequest,
    ForkSessionResponse, Implementation, InitializeRequest, InitializeResponse,
    ListSessionsRequest, LoadSessionRequest, LoadSessionResponse, NewSessionRequest,
    NewSessionResponse, PromptCapabilities, PromptRequest, ResumeSessionRequest,
    ResumeSessionResponse, SessionCapabilities, SessionCloseCapabilities, SessionForkCapabilities,
    SessionId, SessionListCapabilities, SessionResumeCapabilities, SessionUpdate,
    UnstructuredCommandInput,
};
use agent_client_protocol::{Agent as AcpAgentRole, Client, ConnectTo, Error};
use cairn_agent::{Agent, AgentEvent, Collect, SessionTarget};
use cairn_core::{Error as CoreError, SessionName};
use serde_json::json;
use tokio_util::task::TaskTracker;

use crate::config::AcpConfig;
use crate::error::{engine_error, invalid};
use crate::frontend::{send_update, text_chunk};
use crate::sessions::{ConnId, Joined, Unavailable};
use crate::{list, prompt, replay};

/// The cairn ACP agent for one connection. `ConnectTo<Client>`: connect it to any
/// transport the SDK offers.
pub struct CairnAcp {
    config: AcpConfig,
}

impl CairnAcp {
    pub fn new(config: AcpConfig) -> Self {
        CairnAcp { config }
    }
}

/// What the handlers share for the life of the connection.
struct State {
    config: AcpConfig,
    /// This connection, in the process's session table (`config.sessions`).
    conn: ConnId,
    /// The turns this connection started, waited for when it ends.
    turns: TaskTracker,
}

impl State {
    fn sessions(&self) -> &crate::sessions::Sessions {
        self.config.sessions.table()
    }
}

impl ConnectTo<Client> for CairnAcp {
    async fn connect_to(self, client: impl ConnectTo<AcpAgentRole>) -> Result<(), Error> {
        let conn = self.config.sessions.table().connect();
        let state = Arc::new(State {
            config: self.config,
            conn,
            turns: TaskTracker::new(),
        });
        let result = AcpAgentRole
            .v1()
            .name("cairn")
            .on_receive_request(
                async move |_request: InitializeRequest, responder, _cx| {
                    responder.respond(initialize())
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                {
                    let state = state.clone();
                    async move |request: NewSessionRequest, responder, cx| {
                        responder.respond_with_result(new_session(&state, request, &cx).await)
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                {
                    let state = state.clone();
                    async move |request: LoadSessionRequest, responder, cx| {
                        let opened = open(&state, &request.cwd, &request.session_id, true, &cx)
                            .await
                            .map(|()| LoadSessionResponse::new());
                        responder.respond_with_result(opened)
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                {
                    let state = state.clone();
                    async move |request: ResumeSessionRequest, responder, cx| {
                        let opened = open(&state, &request.cwd, &request.session_id, false, &cx)
                            .await
                            .map(|()| ResumeSessionResponse::new());
                        responder.respond_with_result(opened)
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                {
                    let state = state.clone();
                    async move |request: ForkSessionRequest, responder, cx| {
                        responder.respond_with_result(fork_session(&state, request, &cx).await)
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                {
                    let state = state.clone();
                    async move |request: ListSessionsRequest, responder, _cx| {
                        responder.respond_with_result(list_sessions(&state, request).await)
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                {
                    let state = state.clone();
                    async move |request: CloseSessionRequest, responder, _cx| {
                        responder
                            .respond_with_result(close_session(&state, &request.session_id).await)
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                {
                    let state = state.clone();
                    async move |request: PromptRequest, responder, cx| {
                        let name = request.session_id.0.to_string();
                        let (mut guard, cancel) =
                            match state.sessions().begin_turn(state.conn, &name) {
                                Ok(turn) => turn,
                                Err(why) => {
                                    return responder.respond_with_error(unavailable(&name, why));
                                }
                            };
                        let task_state = state.clone();
                        // A task of its own, not the connection's: when the client goes
                        // away mid-turn, the turn still stores what it received, marked
                        // interrupted, and releases the lease.
                        state.turns.spawn(async move {
                            let result = match guard.as_mut() {
                                Some(slot) => prompt::run(slot, request, cx, cancel).await,
                                None => Err(unavailable(&name, Unavailable::NotOpen)),
                            };
                            if let Some(agent) = task_state.sessions().end_turn(&name, guard) {
                                close_quietly(agent).await;
                            }
                            if let Err(error) = responder.respond_with_result(result) {
                                tracing::debug!("prompt response not sent: {error}");
                            }
                        });
                        Ok(())
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_notification(
                {
                    let state = state.clone();
                    async move |notification: CancelNotification, _cx| {
                        state.sessions().cancel(notification.session_id.0.as_ref());
                        Ok(())
                    }
                },
                agent_client_protocol::on_receive_notification!(),
            )
            .connect_to(client)
            .await;
        // The client is gone: interrupt the turns it started, release the leases of the
        // sessions only it had open, and let the turns store what they received.
        for agent in state.sessions().release(state.conn) {
            close_quietly(agent).await;
        }
        state.turns.close();
        state.turns.wait().await;
        result
    }
}

/// cairn speaks ACP v1; a client asking for a later version is told so.
fn initialize() -> InitializeResponse {
    let capabilities = AgentCapabilities::new()
        .load_session(true)
        .prompt_capabilities(PromptCapabilities::new().image(true).embedded_context(true))
        .session_capabilities(
            SessionCapabilities::new()
                .list(SessionListCapabilities::new())
                .resume(SessionResumeCapabilities::new())
                .fork(SessionForkCapabilities::new())
                .close(SessionCloseCapabilities::new()),
        );
    InitializeResponse::new(ProtocolVersion::V1)
        .agent_capabilities(capabilities)
        .agent_info(Implementation::new("cairn", env!("CARGO_PKG_VERSION")).title("cairn"))
}

/// `session/new`: a new cairn session in the project of `cwd`, with a generated name
/// or the one asked for in `_meta.cairn.name`.
async fn new_session(
    state: &State,
    request: NewSessionRequest,
    cx: &ConnectionTo<Client>,
) -> Result<NewSessionResponse, Error> {
    let options = state
        .config
        .workspace
        .options_for(&request.cwd)
        .map_err(invalid)?;
    let target = match requested_name(request.meta.as_ref())? {
        Some(name) => {
            match state.config.store.session(&name).await {
                Ok(_) => {
                    let exists = CoreError::AlreadyExists {
                        what: "session",
                        name: name.as_str().to_owned(),
                    };
                    return Err(engine_error(exists.into()).data(json!({
                        "cairn": "already_exists",
                        "hint": "open it with session/load, or ask for another name",
                    })));
                }
                Err(CoreError::NotFound { .. }) => {}
                Err(e) => return Err(engine_error(e.into())),
            }
            SessionTarget::CreateOrResume(name)
        }
        None => SessionTarget::New,
    };
    let mut opened = Collect::default();
    let agent = Agent::open(state.config.store.clone(), options, target, &mut opened)
        .await
        .map_err(engine_error)?;
    let name = agent.session().name.as_str().to_owned();
    if let Some(old) = state.sessions().insert(state.conn, &name, agent).await {
        close_quietly(old).await;
    }
    let session_id = SessionId::new(name);
    // Sent after the response, which tells the client the session id.
    let later = cx.clone();
    let later_id = session_id.clone();
    cx.spawn(async move {
        send_update(&later, &later_id, available_commands());
        Ok(())
    })?;
    Ok(NewSessionResponse::new(session_id))
}

/// `session/load` (with replay) and `session/resume` (without): the existing session
/// named by the id, its lease taken like any `cairn run`.
async fn open(
    state: &State,
    cwd: &Path,
    session_id: &SessionId,
    replay: bool,
    cx: &ConnectionTo<Client>,
) -> Result<(), Error> {
    let name = SessionName::parse(session_id.0.as_ref()).map_err(|e| invalid(e.to_string()))?;
    // Open on another connection of this process (or this one): share its engine,
    // whose lease this process already holds.
    match state
        .sessions()
        .join(state.conn, name.as_str())
        .map_err(|why| unavailable(name.as_str(), why))?
    {
        Joined::Open(guard) => {
            if replay && let Some(slot) = guard.as_ref() {
                for update in replay::updates(slot.agent.live_context(), &slot.agent.tool_root()) {
                    send_update(cx, session_id, update);
                }
            }
            drop(guard);
            send_update(cx, session_id, available_commands());
            return Ok(());
        }
        Joined::Closed => {}
    }
    let options = state.config.workspace.options_for(cwd).map_err(invalid)?;
    let mut opened = Collect::default();
    let agent = Agent::open(
        state.config.store.clone(),
        options,
        SessionTarget::Resume(name.clone()),
        &mut opened,
    )
    .await
    .map_err(engine_error)?;
    if replay {
        for update in replay::updates(agent.live_context(), &agent.tool_root()) {
            send_update(cx, session_id, update);
        }
    }
    for event in opened.events {
        if let AgentEvent::Notice { message } = event {
            send_update(
                cx,
                session_id,
                SessionUpdate::AgentThoughtChunk(text_chunk(&format!("{message}\n"))),
            );
        }
    }
    send_update(cx, session_id, available_commands());
    if let Some(old) = state
        .sessions()
        .insert(state.conn, name.as_str(), agent)
        .await
    {
        close_quietly(old).await;
    }
    Ok(())
}

/// `session/fork` (unstable in ACP): a fork of the session at its head, sharing its
/// history without copying it (`cairn_app::fork`), named by `_meta.cairn.name` or
/// `<parent>-fork-<n>`, then opened like `session/resume`.
async fn fork_session(
    state: &State,
    request: ForkSessionRequest,
    cx: &ConnectionTo<Client>,
) -> Result<ForkSessionResponse, Error> {
    let parent =
        SessionName::parse(request.session_id.0.as_ref()).map_err(|e| invalid(e.to_string()))?;
    let store = state.config.store.as_ref();
    let name = match requested_name(request.meta.as_ref())? {
        Some(name) => name,
        None => free_fork_name(store, &parent).await?,
    };
    let (fork, _) = cairn_app::fork::fork(store, &parent, name, None)
        .await
        .map_err(|e| engine_error(e.into()))?;
    let session_id = SessionId::new(fork.name.as_str().to_owned());
    open(state, &request.cwd, &session_id, false, cx).await?;
    Ok(ForkSessionResponse::new(session_id))
}

/// The first free `<parent>-fork-<n>` (a shorter parent name when it would be too long).
async fn free_fork_name(
    store: &dyn cairn_core::Store,
    parent: &SessionName,
) -> Result<SessionName, Error> {
    let stem: String = parent.as_str().chars().take(100).collect();
    for n in 1..1000 {
        let candidate =
            SessionName::parse(&format!("{stem}-fork-{n}")).map_err(|e| invalid(e.to_string()))?;
        match store.session(&candidate).await {
            Err(CoreError::NotFound { .. }) => return Ok(candidate),
            Ok(_) => continue,
            Err(e) => return Err(engine_error(e.into())),
        }
    }
    Err(invalid(format!(
        "session {parent} has 999 forks named {stem}-fork-N; name the fork in _meta.cairn.name"
    )))
}

async fn list_sessions(
    state: &State,
    request: ListSessionsRequest,
) -> Result<agent_client_protocol::v1::schema::ListSessionsResponse, Error> {
    let project = match &request.cwd {
        Some(cwd) => state.config.workspace.project_of(cwd).map_err(invalid)?,
        None => state.config.project.clone(),
    };
    list::page(
        state.config.store.as_ref(),
        project,
        request.cursor.as_deref(),
    )
    .await
}

async fn close_session(
    state: &State,
    session_id: &SessionId,
) -> Result<CloseSessionResponse, Error> {
    let name = session_id.0.as_ref();
    match state.sessions().close(state.conn, name).await {
        Ok(Some(agent)) => {
            agent.close().await.map_err(engine_error)?;
            Ok(CloseSessionResponse::new())
        }
        // Still open on another connection of the process: only this one lets go.
        Ok(None) => Ok(CloseSessionResponse::new()),
        Err(()) => Err(unavailable(name, Unavailable::NotOpen)),
    }
}

/// The slash commands, for the client's command menu (those the client owns left out).
fn available_commands() -> SessionUpdate {
    let commands = cairn_agent::COMMANDS
        .iter()
        .filter(|c| !prompt::CLIENT_OWNED_COMMANDS.contains(&c.name))
        .map(|c| {
            let command = AvailableCommand::new(c.name, c.description);
            if c.args.is_empty() {
                command
            } else {
                command.input(AvailableCommandInput::Unstructured(
                    UnstructuredCommandInput::new(c.args),
                ))
            }
        })
        .collect();
    SessionUpdate::AvailableCommandsUpdate(AvailableCommandsUpdate::new(commands))
}

/// `_meta.cairn.name` of a `session/new`, checked against the name rule.
fn requested_name(
    meta: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<Option<SessionName>, Error> {
    let Some(raw) = meta
        .and_then(|m| m.get("cairn"))
        .and_then(|c| c.get("name"))
    else {
        return Ok(None);
    };
    let Some(raw) = raw.as_str() else {
        return Err(invalid(
            "_meta.cairn.name must be a string (a session name)",
        ));
    };
    SessionName::parse(raw)
        .map(Some)
        .map_err(|e| invalid(format!("_meta.cairn.name: {e}")))
}

fn unavailable(name: &str, why: Unavailable) -> Error {
    match why {
        Unavailable::NotOpen => invalid(format!(
            "session {name} is not open on this connection: session/new or session/load it first"
        )),
        Unavailable::Busy => Error::new(
            agent_client_protocol::ErrorCode::INVALID_REQUEST,
            format!(
                "session {name} is busy: a turn is running; wait for it to end or send \
                 session/cancel"
            ),
        )
        .data(json!({"cairn": "busy"})),
    }
}

async fn close_quietly(agent: Agent) {
    if let Err(error) = agent.close().await {
        tracing::warn!("closing a replaced session: {error}");
    }
}
