//! The `cairn` binary: parse arguments, resolve settings once, dispatch.

mod app;
mod args;
mod commands;
mod exit;
mod output;
mod progress;

use clap::Parser;

fn main() -> std::process::ExitCode {
    tune_malloc();
    let cli = args::Cli::parse();
    // Documentation commands need no settings, project or store.
    match &cli.command {
        args::Command::Completions(a) => return exit::report(commands::docs::completions(a.shell)),
        args::Command::Man => return exit::report(commands::docs::man()),
        _ => {}
    }
    let log_file = match &cli.command {
        args::Command::Serve(serve) => serve.log_file.clone(),
        _ => None,
    };
    if let Err(e) = init_logging(log_file.as_deref()) {
        eprintln!("error: cannot open the log file: {e}");
        return std::process::ExitCode::from(1);
    }
    // `cairn mcp` over stdio answers one client: on one thread, a request crosses
    // no thread between stdin and stdout (BENCHMARKS.md, issue 14).
    let one_thread = matches!(&cli.command, args::Command::Mcp(mcp) if mcp.http.is_none());
    // A resume's read (`sessions context`) has nothing to run beside its store
    // calls: it starts no worker or pool thread and reads on the main thread
    // (BENCHMARKS.md, "Resume in 6 ms").
    let store_on_main = matches!(
        &cli.command,
        args::Command::Sessions(args::sessions::SessionsCommand::Context(_))
    );
    let one_thread = one_thread || store_on_main;
    let mut builder = if one_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async move {
        let app = app::App::new(cli.project.as_deref(), cli.store.as_deref())?;
        let command = commands::dispatch(&app, cli.command);
        if store_on_main {
            cairn_core::store_calls::on_calling_thread(command).await
        } else {
            command.await
        }
    });
    exit::report(result)
}

/// Logs go to stderr (stdout carries protocol or `--json` output), or to the file of
/// `cairn serve --log-file`.
fn init_logging(file: Option<&std::path::Path>) -> std::io::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env(cairn_core::env_vars::CAIRN_LOG)
        // rmcp and the ACP SDK log a WARN for every request they answer with an error
        // (bad arguments from a client): that is the client's problem, not the server's.
        // rmcp's client worker logs a lost MCP server as an ERROR; cairn's tool error
        // already says so, in words. A store being upgraded says so (it takes a while).
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(
                "warn,cairn_server=info,cairn_store_sqlite::connections=info,rmcp=error,\
                 rmcp::transport::worker=off,agent_client_protocol=error",
            )
        });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match file {
        None => {
            // Colours only for a person: not in a pipe, a client's log or a file.
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let _ = builder
                .with_ansi(ansi)
                .with_writer(std::io::stderr)
                .try_init();
        }
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            let _ = builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .try_init();
        }
    }
    Ok(())
}

/// glibc gives every thread that allocates an arena of its own and keeps in each
/// what was freed there; the store works on a pool of blocking threads, so a long
/// import or a busy daemon held the peak of every thread at once (12 Claude Code
/// transcripts: 124 MB resident with the default, 56 MB with two arenas). With
/// two, an import's preparing thread and the store's writer shared one and
/// waited on its lock 17,000–25,000 times per 100 MB (`perf`, sched_switch in
/// `__lll_lock_wait_private`); three cut that to a third and the import's time
/// by a tenth for 2–4 MB more (BENCHMARKS.md, "malloc arenas"); eight separate
/// no better and hold 88 MB.
///
/// Blocks of 256 KiB and more (batches of an import, tool outputs) are mapped
/// and given back when freed: glibc otherwise raises that bound as such blocks
/// are freed and keeps the later ones in its heaps (a Claude Code import's peak
/// 55–63 MB, 50–55 MB so). Called before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    const ARENAS: libc::c_int = 3;
    const MAPPED_FROM: libc::c_int = 256 * 1024;
    // SAFETY: mallopt only sets allocator parameters; no thread allocates yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        libc::mallopt(libc::M_MMAP_THRESHOLD, MAPPED_FROM);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
