use std::path::PathBuf;

use cairn_core::{Role, SessionName};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub(crate) enum SessionsCommand {
    /// List sessions, newest activity first.
    #[command(after_help = "Examples:\n  \
        cairn sessions list                 # this project's sessions\n  \
        cairn sessions list --all --limit 20\n  \
        cairn sessions list --project ~/src/api --json")]
    List(ListArgs),
    /// Show a session's metadata and totals.
    #[command(after_help = "Examples:\n  cairn sessions show auth-refactor\n  \
        cairn sessions show auth-refactor --json")]
    Show(ShowArgs),
    /// Print the live context exactly as a model would get it on resume.
    #[command(after_help = "Examples:\n  \
        cairn sessions context auth-refactor\n  \
        cairn sessions context auth-refactor --all --role user\n  \
        cairn sessions context auth-refactor --large 20000 --json")]
    Context(ContextArgs),
    /// Rename a session.
    #[command(after_help = "Example:\n  cairn sessions rename auth-refactor auth-v2")]
    Rename(RenameArgs),
    /// Fork a session: a new session sharing its history up to SEQ (default: all
    /// of it), without copying it.
    #[command(after_help = "Examples:\n  \
        cairn sessions fork auth-refactor auth-try-jwt\n  \
        cairn sessions fork auth-refactor auth-from-42 --at 42 --json")]
    Fork(ForkArgs),
    /// Move a session's live context back to just before a user message; the
    /// rewound events stay in the history.
    #[command(after_help = "Examples:\n  \
        cairn sessions context auth-refactor --role user   # find the seq\n  \
        cairn sessions rewind auth-refactor --to 42\n  \
        cairn sessions rewind auth-refactor --to 42 --restore-files")]
    Rewind(RewindArgs),
    /// Delete a session and its whole history.
    #[command(after_help = "Examples:\n  cairn sessions rm old-spike\n  \
        cairn sessions rm old-spike --yes     # no question (scripts)")]
    Rm(RmArgs),
    /// Write a session as session JSONL v1 (stdout by default).
    #[command(after_help = "Examples:\n  \
        cairn sessions export auth-refactor -o auth-refactor.jsonl\n  \
        cairn sessions export auth-refactor | gzip > auth.jsonl.gz")]
    Export(ExportArgs),
    /// Create a session from a session JSONL v1 file.
    #[command(after_help = "Examples:\n  \
        cairn sessions import auth-refactor.jsonl\n  \
        cairn sessions import auth-refactor.jsonl --name auth-copy\n  \
        gunzip -c auth.jsonl.gz | cairn sessions import -")]
    Import(ImportArgs),
    /// Remove attachments no session refers to any more (left by deleted
    /// sessions); `rm` and `prune` do this themselves.
    #[command(after_help = "Examples:\n  \
        cairn sessions gc --dry-run   # count and size only\n  \
        cairn sessions gc --json")]
    Gc(GcArgs),
    /// Delete sessions not active since a time (opt-in retention; cairn never
    /// deletes on its own). This project's sessions unless --all.
    #[command(after_help = "Examples:\n  \
        cairn sessions prune --older-than 90d --dry-run\n  \
        cairn sessions prune --older-than 2026-01-01 --all --yes")]
    Prune(PruneArgs),
    /// Full-text search over messages and checkpoints (save_progress summaries,
    /// decisions, next steps), newest first by the time of each.
    #[command(after_help = "Examples:\n  \
        cairn sessions search 'refresh token'\n  \
        cairn sessions search jwt --all --limit 50 --json")]
    Search(SearchArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Every project's sessions (default: the current project's, or those of the
    /// project given with the global `--project PATH`).
    #[arg(long, conflicts_with = "project")]
    pub all: bool,
    /// At most N rows (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: u32,
    /// Skip the first N rows.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub offset: u32,
    /// Show each session's sub-agents and forks under it (with --json: nested
    /// `children`).
    #[arg(long)]
    pub tree: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    pub name: SessionName,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ContextArgs {
    pub name: SessionName,
    /// The whole history, with compaction boundaries marked, instead of the live context.
    #[arg(long)]
    pub all: bool,
    /// Only messages of this role.
    #[arg(long, value_name = "ROLE", value_parser = role_parser())]
    pub role: Option<Role>,
    /// Only events whose stored size is at least BYTES (default 1000).
    #[arg(long, value_name = "BYTES", num_args = 0..=1, default_missing_value = "1000")]
    pub large: Option<u64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RenameArgs {
    pub old: SessionName,
    pub new: SessionName,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ForkArgs {
    /// The session to fork.
    pub name: SessionName,
    /// The new session's name.
    pub new: SessionName,
    /// The last event of NAME the fork shares (default: its newest).
    #[arg(long, value_name = "SEQ")]
    pub at: Option<u64>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RewindArgs {
    pub name: SessionName,
    /// The user message to go back to just before (its seq).
    #[arg(long, value_name = "SEQ")]
    pub to: u64,
    /// Also put back the files the agent changed (write_file / edit_file) since
    /// then, in the current project. A file changed outside cairn since the agent
    /// wrote it is left alone unless --yes.
    #[arg(long)]
    pub restore_files: bool,
    /// With --restore-files: overwrite files changed outside cairn too.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Take the session over from a process that drives it (`cairn run`, an
    /// editor): that process stops writing to the session.
    #[arg(long)]
    pub force: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RmArgs {
    pub name: SessionName,
    /// Also delete the session's forks (and theirs); without it a session with
    /// forks is not deleted.
    #[arg(long)]
    pub with_forks: bool,
    /// Do not ask; required when not at a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    pub name: SessionName,
    /// jsonl: session JSONL v1 (re-importable); md: Markdown; html: one
    /// self-contained page (images inline) to share.
    #[arg(long, value_name = "FORMAT", default_value = "jsonl",
          value_parser = ["jsonl", "md", "html"])]
    pub format: String,
    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The session JSONL v1 file; `-` reads stdin.
    pub file: PathBuf,
    /// Import under this name instead of the one in the file.
    #[arg(long, value_name = "NEW")]
    pub name: Option<SessionName>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// Count and size what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Sessions whose last activity is before this: an age (90d, 12w) or a date
    /// (2026-01-01).
    #[arg(long, value_name = "AGE|DATE", value_parser = super::period::instant)]
    pub older_than: cairn_core::Timestamp,
    /// Every project's sessions (default: the current project's, or those of the
    /// project given with the global `--project PATH`).
    #[arg(long, conflicts_with = "project")]
    pub all: bool,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask; required when not at a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    pub query: String,
    /// Search every project (default: the current project).
    #[arg(long)]
    pub all: bool,
    /// At most N hits (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

/// A message role, its possible values listed in `--help` and in the error.
fn role_parser() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new(["system", "user", "assistant", "tool"])
        .try_map(|raw| Role::parse(&raw).ok_or("not a role"))
}
