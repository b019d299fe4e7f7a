use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  cairn serve\n  cairn serve --detach\n  cairn serve --stop\n  \
CAIRN_TOKEN=s3cret cairn serve --bind 0.0.0.0:7420\n\n\
One daemon over your store: ACP over WebSocket at ws://ADDR/acp (one JSON-RPC message per text \
frame), MCP over streamable HTTP at /mcp, a JSON API at /api (OpenAPI: /api/openapi.json; live \
events: /api/sessions/NAME/stream), and the dashboard at /. Any address other than loopback \
needs a token; clients send `Authorization: Bearer TOKEN`, or `?token=TOKEN` on a WebSocket or \
event stream. `cairn send NAME TEXT` talks to a running daemon."
)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7420")]
    pub bind: SocketAddr,

    /// Token clients must present; required for any non-loopback address.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CAIRN_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Model as provider:model for the sessions this daemon drives (otherwise each
    /// session's own, then the settings').
    #[arg(short = 'm', long, value_name = "PROVIDER:MODEL")]
    pub model: Option<String>,

    /// Run in the background: the pid goes to $CAIRN_HOME/serve.pid.
    #[arg(long, conflicts_with = "stop")]
    pub detach: bool,

    /// Stop the daemon started with --detach (or any `cairn serve` of this CAIRN_HOME).
    #[arg(long)]
    pub stop: bool,

    /// Write logs to this file instead of stderr.
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,

    /// Most ACP WebSockets open at once (503 past it).
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_acp_connections: usize,

    /// Most event streams (SSE watchers) open at once (503 past it).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub max_watchers: usize,

    /// Seconds a client that stops reading (event stream or WebSocket) is waited for
    /// before it is disconnected.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub slow_client_secs: u64,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  cairn send auth-refactor \"the CI run failed: see build.log\"\n  \
echo \"summarize the last hour\" | cairn send auth-refactor -\n\n\
Posts the message to the session through the running `cairn serve` (found through \
$CAIRN_HOME/serve.addr), waits for the turn to end and prints the answer. Fails clearly when \
no daemon runs. Shell commands that need approval are refused (nobody is there to approve)."
)]
pub(crate) struct SendArgs {
    /// The session's name.
    pub name: String,

    /// The message; `-` reads it from stdin.
    pub text: String,

    /// The daemon's token, when it was started with one.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CAIRN_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Print the whole answer as JSON (answer, stop reason, usage).
    #[arg(long)]
    pub json: bool,
}
