//! cairn-acp: cairn as an Agent Client Protocol (ACP) agent.
//!
//! An editor (Zed, JetBrains, Neovim, Emacs…) or any ACP client drives cairn sessions
//! through the official ACP SDK (`agent-client-protocol`); this crate maps ACP onto the
//! same engine as `cairn run` (`cairn_agent::Agent`) and the same store:
//!
//! - the ACP `sessionId` **is** the cairn session name, so `cairn sessions list` and
//!   `cairn run --resume NAME` see the session an editor drives, and back;
//! - `session/load` replays the live context (never the whole history), `session/list`
//!   pages the project's sessions from the index, `session/resume` reattaches without
//!   replay;
//! - `session/prompt` runs one turn (or a slash command) and streams it as
//!   `session/update` notifications; shell commands are approved through
//!   `session/request_permission`; `session/cancel` interrupts the turn, keeping what
//!   arrived, marked interrupted.
//!
//! The handler is transport-neutral: [`CairnAcp`] implements the SDK's
//! `ConnectTo<Client>`, so `cairn acp` connects it to stdio ([`serve_stdio`]) and a
//! daemon can connect the same handler to a WebSocket (one JSON-RPC message per frame)
//! through the SDK's `Lines` or `Channel` transports.

mod config;
mod error;
mod frontend;
mod handler;
mod list;
mod prompt;
mod replay;
mod sessions;
mod stop;
mod tool_calls;

pub use config::{AcpConfig, Workspace};
pub use error::AcpError;
pub use handler::CairnAcp;
pub use sessions::SharedSessions;

/// Serve one ACP client over this process's stdin and stdout until the client closes
/// stdin. Nothing but ACP messages is written to stdout; logs go to stderr.
pub async fn serve_stdio(config: AcpConfig) -> Result<(), AcpError> {
    use agent_client_protocol::ConnectTo;
    CairnAcp::new(config)
        .connect_to(agent_client_protocol::Stdio::new())
        .await
        .map_err(AcpError::from)
}
