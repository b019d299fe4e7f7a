//! Command-line arguments: plain clap types, no logic. One module per command family.

pub(crate) mod acp;
pub(crate) mod config;
pub(crate) mod import;
pub(crate) mod mcp;
pub(crate) mod mcp_servers;
pub(crate) mod period;
pub(crate) mod pool;
pub(crate) mod progress;
pub(crate) mod run;
pub(crate) mod serve;
pub(crate) mod sessions;
pub(crate) mod store;
pub(crate) mod usage;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cairn",
    version,
    about = "Durable sessions, checkpoints and coordination for AI coding agents",
    after_help = "Examples:\n  cairn run --name auth-refactor\n  cairn sessions list --all\n  cairn mcp"
)]
pub(crate) struct Cli {
    /// Act as if started in this project directory.
    #[arg(long, global = true, value_name = "PATH")]
    pub project: Option<PathBuf>,

    /// Use this store: sqlite:///ABSOLUTE/PATH or postgres://USER@HOST/DATABASE
    /// (over CAIRN_STORE_URL and `[store] url`; a password here shows in `ps`).
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Chat with an AI in a durable, resumable named session.
    Run(run::RunArgs),
    /// List, inspect, search, export and import sessions.
    #[command(subcommand)]
    Sessions(sessions::SessionsCommand),
    /// Show where the settings live and what they resolve to.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Serve the Agent Client Protocol over stdio, for editors (Zed, JetBrains, …).
    Acp(acp::AcpArgs),
    /// Serve the MCP tools over stdio (default) or streamable HTTP.
    Mcp(mcp::McpArgs),
    /// Where was I? The latest checkpoint and a resume brief.
    Where(progress::WhereArgs),
    /// Save and read checkpoints (the same records as the MCP save_progress tool).
    #[command(subcommand)]
    Progress(progress::ProgressCommand),
    /// Import the session history of Claude Code or Codex (incremental: run it again
    /// to take in what is new).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Coordinate with other agents working on the same project.
    #[command(subcommand)]
    Pool(pool::PoolCommand),
    /// Print a shell completion script: `cairn completions bash > ~/.local/share/bash-completion/completions/cairn`.
    Completions(CompletionsArgs),
    /// Tokens by kind and cost: by day, week, model, project or session.
    Usage(usage::UsageArgs),
    /// Check that all is well: store, config files, providers, MCP clients, disk.
    Doctor(DoctorArgs),
    /// Print cairn's manual page (roff): `cairn man > ~/.local/share/man/man1/cairn.1`.
    Man,
    /// One daemon for editors, browsers and scripts: ACP over WebSocket, MCP, an HTTP
    /// API and the web dashboard.
    Serve(serve::ServeArgs),
    /// Send a message to a session through the running `cairn serve`, print the answer.
    Send(serve::SendArgs),
    /// The store in use (status) and copying everything into another store.
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// The MCP servers `cairn run` uses as tools: list them, or test one.
    #[command(subcommand, name = "mcp-servers")]
    McpServers(mcp_servers::McpServersCommand),
}

#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
    /// Do not contact the providers' servers.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
