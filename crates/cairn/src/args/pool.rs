use cairn_core::PoolAction;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub(crate) enum PoolCommand {
    /// Tell the other agents what you are doing (the MCP pool_signal tool).
    #[command(
        after_help = "Actions: claimed, started, progress, completed, blocked, unblocked, \
released, handoff, signaling.\n\nExamples:\n  cairn pool signal claimed auth-refresh --summary \"taking the token refresh\" \
--affects src/auth/\n  cairn pool signal completed auth-refresh --summary \"merged\""
    )]
    Signal(SignalArgs),
    /// Who is working on what: open topics, blockers, conflicts (the MCP pool_status tool).
    #[command(after_help = "Examples:\n  cairn pool status\n  cairn pool status --all --json")]
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SignalArgs {
    /// claimed, started, progress, completed, blocked, unblocked, released, handoff or signaling.
    #[arg(value_parser = PoolAction::parse)]
    pub action: PoolAction,

    /// What the signal is about, e.g. auth-refresh.
    pub topic: String,

    /// What happened, what blocks you, or notes for whoever takes over; `-` reads stdin.
    #[arg(long, short = 's')]
    pub summary: String,

    /// Files or folders this work touches (repeat the flag or separate with commas).
    #[arg(long, value_name = "PATHS")]
    pub affects: Vec<String>,

    /// Your checkpoint session id, if any.
    #[arg(long = "session", value_name = "SESSION_ID")]
    pub session_id: Option<String>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Every project, not only the current one.
    #[arg(long)]
    pub all: bool,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
