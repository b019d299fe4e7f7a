//! `cairn sessions …`: one file per verb, all over the `Store` trait.

mod context;
mod export;
mod fork;
mod gc;
mod import;
mod list;
mod prune;
mod rename;
mod rewind;
mod rm;
mod search;
mod show;
mod tree;

use cairn_core::{Session, SessionName, Store};

use crate::app::App;
use crate::args::sessions::SessionsCommand;

pub(super) async fn run(app: &App, command: SessionsCommand) -> anyhow::Result<()> {
    match command {
        SessionsCommand::List(args) => list::run(app, args).await,
        SessionsCommand::Show(args) => show::run(app, args).await,
        SessionsCommand::Context(args) => context::run(app, args).await,
        SessionsCommand::Rename(args) => rename::run(app, args).await,
        SessionsCommand::Fork(args) => fork::run(app, args).await,
        SessionsCommand::Rewind(args) => rewind::run(app, args).await,
        SessionsCommand::Rm(args) => rm::run(app, args).await,
        SessionsCommand::Export(args) => export::run(app, args).await,
        SessionsCommand::Import(args) => import::run(app, args).await,
        SessionsCommand::Search(args) => search::run(app, args).await,
        SessionsCommand::Gc(args) => gc::run(app, args).await,
        SessionsCommand::Prune(args) => prune::run(app, args).await,
    }
}

/// The session called `name`; `NotFound` (exit 3) when there is none.
async fn find(store: &dyn Store, name: &SessionName) -> anyhow::Result<Session> {
    Ok(store.session(name).await?)
}
