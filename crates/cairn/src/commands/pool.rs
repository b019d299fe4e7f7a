//! `cairn pool signal|status`: the agent pool MCP agents coordinate through,
//! for people and scripts, from the same store.

use std::io::Write;

use cairn_app::pool_status;
use cairn_core::list_param::{self, MAX_SUMMARY_BYTES};
use cairn_core::{Error, NewPoolSignal, Timestamp};

use crate::app::App;
use crate::args::pool::{PoolCommand, SignalArgs, StatusArgs};
use crate::output;

pub(super) async fn run(app: &App, command: PoolCommand) -> anyhow::Result<()> {
    match command {
        PoolCommand::Signal(args) => signal(app, args).await,
        PoolCommand::Status(args) => status(app, args).await,
    }
}

/// The pool instance of the command line: `CAIRN_INSTANCE`, else one shared
/// `cairn-cli` instance (a person at a terminal is one participant).
pub(super) fn cli_instance() -> String {
    std::env::var(cairn_core::env_vars::CAIRN_INSTANCE)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "cairn-cli".to_owned())
}

async fn signal(app: &App, args: SignalArgs) -> anyhow::Result<()> {
    let action = args.action;
    list_param::check_id("TOPIC", &args.topic)?;
    let summary = super::progress::text_or_stdin(args.summary)?;
    if summary.trim().is_empty() {
        return Err(Error::invalid("--summary: must not be empty").into());
    }
    list_param::check_text("--summary", &summary, MAX_SUMMARY_BYTES)?;
    let affects = list_param::from_cli("--affects", &args.affects)?;
    if let Some(session) = &args.session_id {
        list_param::check_id("--session", session)?;
    }
    let store = app.store().await?;
    let outcome = pool_status::record_signal(
        store.as_ref(),
        NewPoolSignal {
            project: app.project.clone(),
            topic: args.topic.trim().to_owned(),
            action,
            summary,
            affects,
            instance: cli_instance(),
            session_id: args.session_id,
            expires_at: None,
        },
        Some("cairn-cli"),
        app.settings.pool_ttl_secs,
    )
    .await?;
    if args.json {
        return output::print_json(&outcome);
    }
    let mut out = output::stdout();
    writeln!(out, "{}", output::printable(&outcome.to_markdown()))?;
    out.flush()?;
    Ok(())
}

async fn status(app: &App, args: StatusArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let status = pool_status::load(
        store.as_ref(),
        (!args.all).then_some(&app.project),
        Timestamp::now(),
        app.settings.pool_ttl_secs,
    )
    .await?;
    if args.json {
        return output::print_json(&status);
    }
    let mut out = output::stdout();
    write!(out, "{}", output::printable(&status.to_markdown()))?;
    out.flush()?;
    Ok(())
}
