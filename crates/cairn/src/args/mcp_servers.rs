use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum McpServersCommand {
    /// The servers of `[mcp_servers]` in config.toml.
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
}
