//! `cairn import …`: bring another tool's session history into the store.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub(crate) enum ImportCommand {
    /// Claude Code transcripts (default: $CLAUDE_CONFIG_DIR/projects, else
    /// ~/.claude/projects).
    #[command(after_help = "Examples:\n  \
        cairn import claude-code\n  \
        cairn import claude-code ~/.claude/projects/-home-me-app --dry-run\n  \
        cairn import claude-code 4f1c2d.jsonl --json")]
    ClaudeCode(ImportToolArgs),
    /// Codex rollouts, .jsonl or .jsonl.zst (default: $CODEX_HOME, else ~/.codex:
    /// its sessions/ and archived_sessions/).
    #[command(after_help = "Examples:\n  \
        cairn import codex\n  \
        cairn import codex ~/.codex/sessions/2026/11 --dry-run")]
    Codex(ImportToolArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ImportToolArgs {
    /// Transcript files or folders (walked); default: the tool's usual folders.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Say what would be imported, updated or skipped; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}
