//! The checks of `cairn doctor` that need nothing outside cairn: the store, the
//! config layers, the providers and the disk.

use std::path::Path;
use std::time::Duration;

use cairn_llm::LlmClient;

use super::{Check, Status};
use crate::app::App;
use crate::output;

/// A provider that does not accept a TCP connection in this time is unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Free space under which writes are at risk.
const LOW_DISK: u64 = 1 << 30;
const VERY_LOW_DISK: u64 = 100 << 20;

pub(super) async fn store(app: &App) -> Vec<Check> {
    let label = app.store_label();
    match app.existing_store().await {
        Ok(None) => vec![Check::new(
            "store",
            Status::Ok,
            format!("{label}: not created yet (the first session or checkpoint creates it)"),
        )],
        Ok(Some(store)) => match store.count_sessions(None).await {
            Ok(n) => vec![
                Check::new(
                    "store",
                    Status::Ok,
                    format!("{label}: opens, {} session(s)", output::grouped(n)),
                ),
                orphaned_attachments(store.as_ref()).await,
                size(store.as_ref()).await,
            ],
            Err(e) => vec![Check::new(
                "store",
                Status::Fail,
                format!("{label}: cannot read: {e}"),
            )],
        },
        Err(e) => vec![Check::new(
            "store",
            Status::Fail,
            format!("{label}: cannot open: {e:#}"),
        )],
    }
}

/// Attachments no session refers to any more (left by deleted sessions): a
/// warning with their count and size, and the command that removes them.
async fn orphaned_attachments(store: &dyn cairn_core::Store) -> Check {
    match store.collect_attachments(false).await {
        Ok(g) if g.count == 0 => Check::new("attachments", Status::Ok, "no orphaned attachments"),
        Ok(g) => Check::new(
            "attachments",
            Status::Warn,
            format!(
                "{} orphaned attachment(s), {}: `cairn sessions gc` removes them",
                output::grouped(g.count),
                output::bytes(g.bytes)
            ),
        ),
        Err(e) => Check::new(
            "attachments",
            Status::Fail,
            format!("cannot look for orphaned attachments: {e}"),
        ),
    }
}

/// Where the store's bytes go (events, indexes, attachments, free pages).
async fn size(store: &dyn cairn_core::Store) -> Check {
    match store.space().await {
        Ok(space) => Check {
            space: Some(space.clone()),
            ..Check::new(
                "size",
                Status::Ok,
                crate::commands::store::space_summary(&space),
            )
        },
        Err(e) => Check::new(
            "size",
            Status::Warn,
            format!("cannot measure the store: {e}"),
        ),
    }
}

/// Settings were resolved before any command ran (a file with an error stops cairn
/// with its line and key), so here every layer that was read parsed.
pub(super) fn config(app: &App) -> Vec<Check> {
    let mut found = Vec::new();
    let user = app.paths.config_file();
    let sources = &app.settings.sources;
    if !sources.iter().any(|s| s == &user) {
        found.push(Check::new(
            "config",
            Status::Ok,
            format!("{}: absent (defaults apply)", user.display()),
        ));
    }
    for source in sources {
        let layer = if source == &user { "user" } else { "project" };
        found.push(Check::new(
            "config",
            Status::Ok,
            format!("{}: parsed ({layer} layer)", source.display()),
        ));
    }
    for warning in &app.settings.warnings {
        found.push(Check::new("config", Status::Warn, warning.clone()));
    }
    found
}

/// Each configured provider: its key present (never shown) and its base URL
/// accepting connections. One that is not configured is only listed.
pub(super) async fn providers(app: &App, network: bool) -> Vec<Check> {
    let client = match LlmClient::from_settings(&app.settings) {
        Ok(client) => client,
        Err(e) => return vec![Check::new("provider", Status::Fail, e.message)],
    };
    let mut found = Vec::new();
    let mut usable = 0;
    for check in client.provider_checks() {
        let name = check.kind.as_str();
        let Some(base_url) = check.base_url else {
            let problem = check.problem.unwrap_or_default();
            // A bad base URL is a mistake; a provider nobody set up is not.
            let status = if problem.contains("must start with") {
                Status::Fail
            } else {
                Status::Ok
            };
            let detail = if status == Status::Ok {
                format!("{name}: not configured")
            } else {
                format!("{name}: {problem}")
            };
            found.push(Check::new("provider", status, detail));
            continue;
        };
        let key = if check.key_present {
            "key set"
        } else {
            "no key (a local server)"
        };
        // The default Ollama address counts only when something listens there.
        let is_default_ollama = name == "ollama" && !check.key_present;
        if !network {
            found.push(Check::new(
                "provider",
                Status::Ok,
                format!("{name}: {key}, {base_url} (not contacted: --offline)"),
            ));
            usable += usize::from(!is_default_ollama);
            continue;
        }
        match reach(&base_url).await {
            Ok(()) => {
                usable += 1;
                found.push(Check::new(
                    "provider",
                    Status::Ok,
                    format!("{name}: {key}, {base_url} reachable"),
                ));
            }
            Err(why) if is_default_ollama && app.settings.providers.ollama.base_url.is_none() => {
                found.push(Check::new(
                    "provider",
                    Status::Ok,
                    format!("{name}: no local server at {base_url} ({why})"),
                ));
            }
            Err(why) => found.push(Check::new(
                "provider",
                Status::Fail,
                format!("{name}: {key}, but {base_url} is unreachable: {why}"),
            )),
        }
    }
    if usable == 0 {
        found.push(Check::new(
            "provider",
            Status::Warn,
            "no provider is usable: `cairn run` needs one (set ANTHROPIC_API_KEY, \
             OPENAI_API_KEY, GEMINI_API_KEY or OLLAMA_BASE_URL); the MCP server and the \
             store work without",
        ));
    }
    found
}

/// A TCP connection to the URL's host and port (no request is sent: no key leaves).
async fn reach(base_url: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(base_url).map_err(|e| format!("bad URL: {e}"))?;
    let host = url.host_str().ok_or("no host in the URL")?.to_owned();
    let port = url.port_or_known_default().ok_or("no port for the URL")?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer in {} s", CONNECT_TIMEOUT.as_secs())),
    }
}

pub(super) fn disk(app: &App) -> Vec<Check> {
    let dir = existing_ancestor(&app.paths.data_dir);
    match rustix::fs::statvfs(dir) {
        Ok(stats) => {
            let free = stats.f_bavail.saturating_mul(stats.f_frsize);
            let status = if free < VERY_LOW_DISK {
                Status::Fail
            } else if free < LOW_DISK {
                Status::Warn
            } else {
                Status::Ok
            };
            vec![Check::new(
                "disk",
                status,
                format!("{}: {} free", dir.display(), output::bytes(free)),
            )]
        }
        Err(e) => vec![Check::new(
            "disk",
            Status::Warn,
            format!("{}: cannot tell the free space: {e}", dir.display()),
        )],
    }
}

fn existing_ancestor(path: &Path) -> &Path {
    path.ancestors()
        .find(|p| p.exists())
        .unwrap_or_else(|| Path::new("/"))
}
