//! One module per command family; `dispatch` is the only place that routes.

mod acp;
mod config;
pub(crate) mod docs;
mod doctor;
mod import;
mod mcp;
mod mcp_servers;
mod pool;
mod progress;
mod progress_transfer;
mod project_servers;
mod run;
mod send;
mod serve;
mod sessions;
mod store;
mod usage;

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
        Command::Serve(args) => serve::run(app, args).await,
        Command::Send(args) => send::run(app, args).await,
        Command::Doctor(args) => doctor::run(app, args).await,
        Command::Usage(args) => usage::run(app, args).await,
        // Also answered before the app starts (they need no project or store).
        Command::Completions(args) => docs::completions(args.shell),
        Command::Man => docs::man(),
        Command::Store(command) => store::run(app, command).await,
        Command::McpServers(command) => mcp_servers::run(app, command).await,
    }
}
