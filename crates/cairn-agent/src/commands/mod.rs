//! Slash commands: one file per command family. [`COMMANDS`] is the catalogue the
//! REPL completes from and `/help` prints. Every command that runs is recorded in the
//! session as a `command` event (`{"kind":"command","name":"/model","args":["…"]}`).

mod context;
mod done;
mod done_checkpoint;
mod fork;
mod help;
mod info;
pub(crate) mod knowledge;
mod list;
mod mcp;
pub(crate) mod media;
mod model;
mod rewind;
mod run_command;
mod summarize;
mod switch;

use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::agent::{Agent, Outcome};
use crate::{AgentError, AgentEvent, Frontend};

/// What a command's argument completes to (for the REPL's completer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgCompletion {
    None,
    /// A session name of this project.
    SessionName,
    /// A `provider:model` name.
    ModelName,
    /// A file path (relative to the working directory).
    Path,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

/// One slash command as people see it in `/help`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CommandSpec {
    /// Without the slash: `list`, `session`, …
    pub name: &'static str,
    /// Usage of the arguments, e.g. `[page]`, `NAME`.
    pub args: &'static str,
    pub description: &'static str,
    pub completes: ArgCompletion,
}

pub const CONTEXT_FILTERS: &[&str] = &["all", "user", "assistant", "tool", "system", "large"];

/// Every built-in slash command, in `/help` order.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "help",
        args: "",
        description: "show the commands",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "list",
        args: "[page]",
        description: "this project's sessions: dates, names, messages, cost (current one marked)",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "session",
        args: "NAME",
        description: "switch to another session (its own history and context)",
        completes: ArgCompletion::SessionName,
    },
    CommandSpec {
        name: "new",
        args: "[NAME]",
        description: "start a new session (generated name when none is given)",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "rename",
        args: "NAME",
        description: "rename the current session",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "fork",
        args: "NEW [SEQ]",
        description: "fork this session (at its head or at SEQ) into NEW and go on there; nothing is copied",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "rewind",
        args: "[N]",
        description: "go back to just before the Nth last user message (lists them without N); offers to restore files",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "info",
        args: "",
        description: "tokens by kind, cost (last request and total), context size vs window, compactions",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "context",
        args: "[all|user|assistant|tool|system|large [BYTES]]",
        description: "show the live context (or the whole history with `all`)",
        completes: ArgCompletion::Choice(CONTEXT_FILTERS),
    },
    CommandSpec {
        name: "model",
        args: "[NAME]",
        description: "show or switch the model (provider:model)",
        completes: ArgCompletion::ModelName,
    },
    CommandSpec {
        name: "summarize",
        args: "[FOCUS]",
        description: "compress the live context now (FOCUS steers the summary); the history keeps every event",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "done",
        args: "[NOTE]",
        description: "close a piece of work: compress the whole context and save a checkpoint (where_was_i, cairn where)",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "run",
        args: "NAME [ARGS]",
        description: "run a [[commands]] prompt; `reduce` rewrites the context as a brief that replaces it",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "remember",
        args: "[--project] [decision:|constraint:|preference:|fact:] TEXT",
        description: "pin a knowledge item to every future context of this session (--project: of every session of the project)",
        completes: ArgCompletion::Choice(&[
            "--project",
            "decision:",
            "constraint:",
            "preference:",
            "fact:",
        ]),
    },
    CommandSpec {
        name: "knowledge",
        args: "",
        description: "list the knowledge items of the session and of the project (pinned, live, history only), numbered for /forget",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "forget",
        args: "N",
        description: "unpin knowledge item N (it stays in the history)",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "image",
        args: "PATH",
        description: "attach an image (png, jpeg, gif, webp) to the next message",
        completes: ArgCompletion::Path,
    },
    CommandSpec {
        name: "video",
        args: "PATH",
        description: "attach a video (mp4, webm) to the next message",
        completes: ArgCompletion::Path,
    },
    CommandSpec {
        name: "mcp",
        args: "",
        description: "the MCP servers of [mcp_servers]: state and tools",
        completes: ArgCompletion::None,
    },
    CommandSpec {
        name: "exit",
        args: "",
        description: "leave (the session is saved; resume it with --resume NAME)",
        completes: ArgCompletion::None,
    },
];

/// The spec of a command name (without the slash).
pub fn find(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Whether a line is a slash command (`/word…`) rather than a message.
pub fn is_command(line: &str) -> bool {
    let mut chars = line.trim_start().chars();
    chars.next() == Some('/') && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// Run one slash command line.
pub(crate) async fn run(
    agent: &mut Agent,
    line: &str,
    ui: &mut dyn Frontend,
    cancel: &CancellationToken,
) -> Result<Outcome, AgentError> {
    let line = line.trim().trim_start_matches('/');
    let (name, rest) = match line.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim()),
        None => (line, ""),
    };
    let args: Vec<&str> = rest.split_whitespace().collect();
    let Some(spec) = find(name) else {
        ui.event(AgentEvent::Error {
            kind: "command".into(),
            message: format!("unknown command /{name}; /help lists the commands"),
        });
        return Ok(Outcome::Command);
    };
    agent.record_command(spec.name, &args).await?;
    let result = match spec.name {
        "help" => Ok(help::run()),
        "list" => list::run(agent, &args).await,
        "session" => switch::session(agent, &args, ui).await,
        "new" => switch::new(agent, &args, ui).await,
        "rename" => switch::rename(agent, &args).await,
        "fork" => fork::run(agent, &args, ui).await,
        "rewind" => rewind::run(agent, &args, ui).await,
        "info" => Ok(info::run(agent)),
        "context" => context::run(agent, &args).await,
        "model" => model::run(agent, &args).await,
        "summarize" => summarize::run(agent, rest, ui, cancel).await,
        "done" => done::run(agent, rest, ui, cancel).await,
        // Runs a turn or a request of its own and reports its own `done`.
        "run" => return run_command::run(agent, rest, ui, cancel).await,
        "remember" => knowledge::remember(agent, rest).await,
        "knowledge" => knowledge::list(agent).await,
        "forget" => knowledge::forget(agent, rest).await,
        "image" => media::attach(agent, rest, crate::media::MediaKind::Image).await,
        "video" => media::attach(agent, rest, crate::media::MediaKind::Video).await,
        "mcp" => mcp::run(agent).await,
        "exit" => {
            ui.event(AgentEvent::Done {
                stop_reason: "exit".into(),
            });
            return Ok(Outcome::Exit);
        }
        _ => Err(Failure::Usage(format!(
            "/{} is not available here",
            spec.name
        ))),
    };
    match result {
        Ok(Some(output)) => ui.event(AgentEvent::CommandOutput {
            command: spec.name.to_owned(),
            text: output.text,
            data: output.data,
        }),
        Ok(None) => {}
        Err(Failure::Usage(message)) => ui.event(AgentEvent::Error {
            kind: "command".into(),
            message,
        }),
        Err(Failure::Engine(e)) => return Err(e),
        Err(Failure::Interrupted(message)) => {
            ui.event(AgentEvent::Notice { message });
            ui.event(AgentEvent::Interrupted {
                partial_kept: false,
            });
            ui.event(AgentEvent::Done {
                stop_reason: "interrupted".into(),
            });
            return Ok(Outcome::Interrupted);
        }
    }
    ui.event(AgentEvent::Done {
        stop_reason: "command".into(),
    });
    Ok(Outcome::Command)
}

/// What a command shows: text for people, data for programs.
pub(crate) struct Output {
    pub text: String,
    pub data: Value,
}

impl Output {
    pub(crate) fn new(text: impl Into<String>, data: Value) -> Option<Output> {
        Some(Output {
            text: text.into(),
            data,
        })
    }
}

/// Why a command did nothing: a mistake of the person (shown, session goes on) or a
/// failure of the engine (the store broke).
pub(crate) enum Failure {
    Usage(String),
    Engine(AgentError),
    /// The person interrupted the command (Ctrl+C) before it changed anything; says
    /// so.
    Interrupted(String),
}

impl From<AgentError> for Failure {
    fn from(e: AgentError) -> Self {
        Failure::Engine(e)
    }
}

impl From<cairn_core::Error> for Failure {
    fn from(e: cairn_core::Error) -> Self {
        match e {
            // Mistakes in what was typed: say so and go on.
            cairn_core::Error::NotFound { .. }
            | cairn_core::Error::AlreadyExists { .. }
            | cairn_core::Error::InvalidName(_)
            | cairn_core::Error::InvalidInput(_)
            | cairn_core::Error::LeaseHeld { .. }
            | cairn_core::Error::LeaseLost { .. } => Failure::Usage(e.to_string()),
            other => Failure::Engine(other.into()),
        }
    }
}

pub(crate) type CommandResult = Result<Option<Output>, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_told_from_messages() {
        assert!(is_command("/info"));
        assert!(is_command("  /context large 100"));
        assert!(!is_command("/ not a command"));
        assert!(!is_command("/"));
        assert!(!is_command("//comment"));
        assert!(!is_command("what does /info do?"));
    }
}
