use clap::Args;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  cairn mcp\n  cairn mcp --http 127.0.0.1:7777")]
pub struct McpArgs {}
