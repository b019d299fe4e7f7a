use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum McpServersCommand {
    /// The servers of `[mcp_servers]` in config.toml, and those the project's
    /// `.mcp.json` proposes with their approval.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Start server NAME, list its tools and stop it.
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Use the servers of this project's `.mcp.json` (exactly as they are now: a
    /// changed file asks again).
    Approve,
    /// Never use the servers of this project's `.mcp.json` (until it changes).
    Deny,
}
