//! The `cairn` binary: parse arguments, resolve settings once, dispatch.

mod app;
mod args;
mod commands;
mod exit;
mod output;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    // Documentation commands need no settings, project or store.
    match &cli.command {
        args::Command::Completions(a) => return exit::report(commands::docs::completions(a.shell)),
        args::Command::Man => return exit::report(commands::docs::man()),
        _ => {}
    }
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        let app = app::App::new(cli.project.as_deref(), cli.store.as_deref())?;
        commands::dispatch(&app, cli.command).await
    });
    exit::report(result)
}

/// Logs go to stderr only (stdout carries protocol or `--json` output).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env(cairn_core::env_vars::CAIRN_LOG)
        // rmcp and the ACP SDK log a WARN for every request they answer with an error
        // (bad arguments from a client): that is the client's problem, not the server's.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("warn,rmcp=error,agent_client_protocol=error")
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
