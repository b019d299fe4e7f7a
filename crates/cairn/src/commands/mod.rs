//! One module per command family; `dispatch` is the only place that routes.

mod acp;
mod config;
mod import;
mod mcp;
mod mcp_servers;
mod pool;
mod progress;
mod run;
mod sessions;

use crate::app::App;
use crate::args::Command;

pub(crate) async fn dispatch(app: &App, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run(args) => run::run(app, args).await,
        Command::Sessions(command) => sessions::run(app, command).await,
        Command::Config(command) => config::run(app, command).await,
        Command::Acp(args) => acp::run(app, args).await,
        Command::Mcp(args) => mcp::run(app, args).await,
        Command::Where(args) => progress::where_was_i(app, args).await,
        Command::Progress(command) => progress::run(app, command).await,
        Command::Pool(command) => pool::run(app, command).await,
        Command::Import(command) => import::run(app, command).await,
        Command::McpServers(command) => mcp_servers::run(app, command).await,
    }
}
