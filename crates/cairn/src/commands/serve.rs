//! `cairn serve`: the daemon (cairn-server) over this store, in the foreground or
//! detached, and `--stop`. The daemon publishes its pid and address in $CAIRN_HOME
//! (never its token) so `cairn serve --stop` and `cairn send` find it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_acp::{AcpConfig, SharedSessions, Workspace};
use cairn_mcp::http::HttpOptions;
use cairn_mcp::{CairnMcpFactory, McpConfig};
use cairn_server::daemon_files;
use cairn_server::{Daemon, ServeLimits, ServeOptions};

use super::acp::CliWorkspace;
use crate::app::App;
use crate::args::serve::ServeArgs;
use crate::exit::UsageError;

/// How long `--detach` waits for the daemon to publish its address, and `--stop` for
/// it to end (turns in flight are stored first).
const START_WAIT: Duration = Duration::from_secs(15);
const STOP_WAIT: Duration = Duration::from_secs(40);

pub(super) async fn run(app: &App, args: ServeArgs) -> anyhow::Result<()> {
    let home = app.paths.data_dir.clone();
    if args.stop {
        return stop(&home).await;
    }
    let options = ServeOptions {
        addr: args.bind,
        token: args.token.clone(),
        limits: ServeLimits {
            max_acp_connections: args.max_acp_connections.max(1),
            max_watchers: args.max_watchers.max(1),
            slow_client_timeout: Duration::from_secs(args.slow_client_secs.max(1)),
            max_body_bytes: app.settings.mcp_max_body_bytes,
            ..ServeLimits::default()
        },
    };
    // Refuse an unsafe set-up before anything starts.
    options.check().map_err(|e| UsageError(e.to_string()))?;
    if let Some(pid) = running_pid(&home) {
        return Err(UsageError(format!(
            "cairn serve is already running (pid {pid}, address in {}); stop it with \
             `cairn serve --stop`",
            daemon_files::addr_file(&home).display()
        ))
        .into());
    }
    if args.detach {
        return detach(&home, &args).await;
    }
    let workspace = CliWorkspace {
        paths: app.paths.clone(),
        project: app.project.clone(),
        settings: app.settings.clone(),
        model: args.model.clone(),
        told: Default::default(),
    };
    // Fail now when no model can be used at all.
    workspace
        .options_for(app.project.path())
        .map_err(|e| anyhow::anyhow!(e))?;
    let store = app.store().await?;
    let instance = std::env::var(cairn_core::env_vars::CAIRN_INSTANCE)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let daemon = Daemon {
        store: store.clone(),
        acp: AcpConfig {
            store: store.clone(),
            workspace: Arc::new(workspace),
            project: app.project.clone(),
            sessions: SharedSessions::default(),
        },
        mcp: CairnMcpFactory::new(McpConfig {
            store,
            project: app.project.clone(),
            pool_ttl_secs: app.settings.pool_ttl_secs,
            instance,
        }),
        mcp_options: HttpOptions {
            addr: args.bind,
            token: args.token.clone(),
            max_body_bytes: app.settings.mcp_max_body_bytes,
            limits: app.settings.mcp_http.clone(),
        },
        pool_ttl_secs: app.settings.pool_ttl_secs,
    };
    let (listener, local) = cairn_server::bind(&options).await?;
    std::fs::create_dir_all(&home)?;
    daemon_files::write_atomic(
        &daemon_files::pid_file(&home),
        &std::process::id().to_string(),
    )?;
    daemon_files::write_atomic(&daemon_files::addr_file(&home), &local.to_string())?;
    // Tests and scripts read this line to learn the port of `127.0.0.1:0`.
    eprintln!("cairn serve: listening on http://{local}");
    tracing::info!("cairn serve listening on http://{local}");
    let served = cairn_server::serve(daemon, options, listener, shutdown_requested()).await;
    daemon_files::remove(&home);
    served?;
    eprintln!("cairn serve: stopped");
    Ok(())
}

/// The pid of a live daemon of this home, if one runs (a stale pid file is ignored).
fn running_pid(home: &Path) -> Option<u32> {
    let pid = daemon_files::read_pid(home)?;
    alive(pid).then_some(pid)
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Start this same command again in the background (its own session, no terminal),
/// wait until it listens, print where.
async fn detach(home: &Path, args: &ServeArgs) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()?;
    let log = match &args.log_file {
        Some(path) => path.clone(),
        None => home.join("serve.log"),
    };
    std::fs::create_dir_all(home)?;
    let _ = std::fs::remove_file(daemon_files::addr_file(home));
    let mut command = std::process::Command::new(exe);
    // Every argument but --detach; the token travels in the environment, not in `ps`.
    let forwarded: Vec<std::ffi::OsString> = std::env::args_os()
        .skip(1)
        .filter(|a| a != "--detach")
        .collect();
    let forwarded = strip_token_flag(forwarded);
    command.args(&forwarded);
    if !forwarded.iter().any(|a| a == "--log-file") {
        command.arg("--log-file").arg(&log);
    }
    if let Some(token) = &args.token {
        command.env(cairn_core::env_vars::CAIRN_TOKEN, token);
    }
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe; the child leaves this terminal's session so
    // closing the terminal does not stop it.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = command.spawn()?;
    let pid = child.id();
    let started = Instant::now();
    while started.elapsed() < START_WAIT {
        if let Some(addr) = daemon_files::read_addr(home) {
            println!("cairn serve: running in the background (pid {pid}) on http://{addr}");
            println!("logs: {}; stop it with `cairn serve --stop`", log.display());
            return Ok(());
        }
        if !alive(pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!(
        "cairn serve did not start (pid {pid}); see its log: {}",
        log.display()
    )
}

/// `--token X` and `--token=X` left out of the forwarded arguments.
fn strip_token_flag(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut skip_next = false;
    for arg in args {
        if skip_next {
            skip_next = false;
            continue;
        }
        if arg == "--token" {
            skip_next = true;
            continue;
        }
        if arg.to_string_lossy().starts_with("--token=") {
            continue;
        }
        out.push(arg);
    }
    out
}

/// `--stop`: SIGTERM to the daemon of this home, then wait for it to end.
async fn stop(home: &Path) -> anyhow::Result<()> {
    let Some(pid) = running_pid(home) else {
        daemon_files::remove(home);
        return Err(UsageError(format!(
            "no cairn serve is running for {} (no live pid in {})",
            home.display(),
            daemon_files::pid_file(home).display()
        ))
        .into());
    };
    let raw = libc::pid_t::try_from(pid)?;
    // SAFETY: sends SIGTERM to the pid the daemon published.
    if unsafe { libc::kill(raw, libc::SIGTERM) } != 0 {
        anyhow::bail!(
            "cannot stop cairn serve (pid {pid}): {}",
            std::io::Error::last_os_error()
        );
    }
    let started = Instant::now();
    while started.elapsed() < STOP_WAIT {
        if !alive(pid) || daemon_files::read_pid(home) != Some(pid) {
            println!("cairn serve: stopped (pid {pid})");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("cairn serve (pid {pid}) did not stop within {STOP_WAIT:?}")
}

/// Ctrl-C or SIGTERM.
async fn shutdown_requested() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
