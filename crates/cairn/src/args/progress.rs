use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  cairn where\n  cairn where project-auth-v2 --json")]
pub(crate) struct WhereArgs {
    /// A checkpoint session id or chat session name; default: the most recent session
    /// across all projects.
    pub session_id: Option<String>,

    /// Only checkpoints saved by this MCP client (e.g. claude-code).
    #[arg(long, value_name = "NAME")]
    pub client: Option<String>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProgressCommand {
    /// Save a checkpoint (the same record as the MCP save_progress tool).
    #[command(
        after_help = "Examples:\n  cairn progress save auth-v2 --summary \"Token refresh works\" \
--files src/auth.rs,src/token.rs --next \"write tests\"\n  git log -1 --format=%B | cairn progress save auth-v2 --summary -"
    )]
    Save(SaveArgs),
    /// Show the latest checkpoint of a session id, or every one with --all.
    #[command(
        after_help = "Examples:\n  cairn progress get auth-v2\n  cairn progress get auth-v2 --all --json"
    )]
    Get(GetArgs),
    /// Write checkpoints and pool history as JSONL, to move them to another store.
    #[command(
        after_help = "Examples:\n  cairn progress export -o progress.jsonl\n  cairn progress export auth-v2 billing -o two.jsonl"
    )]
    Export(ExportArgs),
    /// Add the checkpoints and pool history of a `progress export` file (all or
    /// nothing; what is already here is skipped, so importing twice adds nothing).
    #[command(after_help = "Example:\n  cairn progress import progress.jsonl")]
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Only these session ids (default: every one), with their pool signals.
    pub session_ids: Vec<String>,
    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The export file; `-` reads stdin.
    pub file: std::path::PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SaveArgs {
    /// Any id for this piece of work, e.g. project-auth-v2.
    pub session_id: String,

    /// What was done and where things stand; `-` reads it from stdin.
    #[arg(long, short = 's')]
    pub summary: String,

    /// Files touched (repeat the flag or separate with commas).
    #[arg(long = "files", value_name = "PATHS")]
    pub files: Vec<String>,

    /// Decisions made (repeat the flag or separate with commas).
    #[arg(long = "decisions", value_name = "TEXT")]
    pub decisions: Vec<String>,

    /// Next steps, in order (repeat the flag or separate with commas).
    #[arg(long = "next", value_name = "TEXT")]
    pub next: Vec<String>,

    /// Round id; default: the next round number of the session id.
    #[arg(long, value_name = "ROUND")]
    pub round: Option<String>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The session id used with save.
    pub session_id: String,

    /// Every checkpoint, oldest first.
    #[arg(long, conflicts_with = "round")]
    pub all: bool,

    /// Only this round.
    #[arg(long, value_name = "ROUND")]
    pub round: Option<String>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
