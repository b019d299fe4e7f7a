//! cairn-agent: the chat engine behind `cairn run`, UI-agnostic — input in, events out.
//!
//! The REPL, one-shot mode and (later) the WebSocket face all drive the same
//! [`Agent`]:
//!
//! ```no_run
//! # async fn demo(store: std::sync::Arc<dyn cairn_core::Store>,
//! #               options: cairn_agent::AgentOptions,
//! #               ui: &mut dyn cairn_agent::Frontend) -> Result<(), cairn_agent::AgentError> {
//! use cairn_agent::{Agent, Outcome, SessionTarget};
//! use tokio_util::sync::CancellationToken;
//!
//! let mut agent = Agent::open(store, options, SessionTarget::ResumeRecent, ui).await?;
//! // A line typed by a person: a message, or a slash command such as `/info`.
//! let cancel = CancellationToken::new(); // cancel it on Ctrl+C to interrupt the stream
//! match agent.submit("what did we agree yesterday?", ui, &cancel).await? {
//!     Outcome::Exit => {}
//!     _ => { /* read the next line */ }
//! }
//! agent.close().await?;
//! # Ok(()) }
//! ```
//!
//! Everything that happens is reported to the [`Frontend`] as [`AgentEvent`]s (text
//! and thinking deltas, tool calls and results, usage, cost, notices, errors, command
//! output), and the yes/no questions only a person can answer (run this shell command?
//! continue past the spending limit?) are asked through [`Frontend::ask`]. Every
//! message, tool call, tool result, usage record and command is appended to the store
//! the moment it exists, so nothing acknowledged is lost if the process dies.

pub mod after_turn;
pub mod agent;
mod budget;
pub mod commands;
pub mod compress;
pub mod compression;
mod context_manager;
mod conversation;
pub mod error;
pub mod events;
mod file_snapshot;
pub mod frontend;
pub mod lease;
pub mod mcp_client;
mod mcp_http;
pub mod media;
mod pressure;
pub mod project_files;
mod project_knowledge;
pub mod request;
mod request_size;
pub mod resume;
pub mod run_commands;
mod session_start;
pub mod spending;
mod start_brief;
pub mod subagent;
pub mod system_prompt;
pub mod tools;
mod toolset;
pub mod turn;

pub use agent::{Agent, AgentOptions, Outcome, SessionTarget, StopCause};
pub use commands::{ArgCompletion, COMMANDS, CommandSpec};
pub use error::AgentError;
pub use events::{AgentEvent, Recap};
pub use frontend::{Collect, Frontend, Question, SpendingLimitKind};
