//! Slash commands: one file per command family. [`COMMANDS`] is the catalogue the
//! REPL completes from and `/help` prints.

use serde::Serialize;

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
