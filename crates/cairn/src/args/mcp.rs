use std::net::SocketAddr;

use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  cairn mcp\n  cairn mcp --http 127.0.0.1:7777\n  \
CAIRN_TOKEN=s3cret cairn mcp --http 0.0.0.0:7777\n\n\
stdio (the default) is what Claude Code, Cursor and Codex launch. Over HTTP the endpoint is \
http://ADDR/mcp and clients send `Authorization: Bearer TOKEN`: without --token, the token is \
generated once into $CAIRN_HOME/http-token (readable by you only), where local clients read it. \
--no-token serves loopback without one (any local user can then use your store)."
)]
pub(crate) struct McpArgs {
    /// Serve streamable HTTP on this address instead of stdio.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:7777")]
    pub http: Option<SocketAddr>,

    /// Bearer token HTTP clients must send (`Authorization: Bearer TOKEN`);
    /// required for any non-loopback address.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CAIRN_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Serve a loopback address without a bearer token: any user of this
    /// machine can then read and write your store.
    #[arg(long, conflicts_with = "token")]
    pub no_token: bool,
}
