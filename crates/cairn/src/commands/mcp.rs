//! `cairn mcp`: the MCP tools over stdio (what editors launch) or streamable HTTP.

use cairn_core::local_token;
use cairn_mcp::http::{HttpOptions, serve_http};
use cairn_mcp::{CairnMcpFactory, McpConfig, serve_stdio};

use crate::app::App;
use crate::args::mcp::McpArgs;
use crate::exit::UsageError;

pub(super) async fn run(app: &App, args: McpArgs) -> anyhow::Result<()> {
    let max_body_bytes = app.settings.mcp_max_body_bytes;
    // Refuse an unsafe HTTP set-up before opening anything.
    let http = match args.http {
        Some(addr) => {
            let mut options = HttpOptions {
                addr,
                token: args.token,
                max_body_bytes,
                limits: app.settings.mcp_http.clone(),
            };
            options.check().map_err(|e| UsageError(e.to_string()))?;
            // Loopback is not private on a shared machine: a token by default.
            if options.token.is_none() && !args.no_token {
                let file = local_token::token_file(&app.paths);
                options.token = Some(local_token::load_or_create(&file)?);
                eprintln!(
                    "cairn mcp: clients send `Authorization: Bearer <token>` with the token in {} \
                     (--no-token to serve without one)",
                    file.display()
                );
            }
            Some(options)
        }
        None => None,
    };
    let store = app.store().await?;
    let instance = std::env::var(cairn_core::env_vars::CAIRN_INSTANCE)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let factory = CairnMcpFactory::new(McpConfig {
        store,
        project: app.project.clone(),
        pool_ttl_secs: app.settings.pool_ttl_secs,
        instance,
    });
    match http {
        None => serve_stdio(&factory, max_body_bytes).await?,
        Some(options) => serve_http(factory, options, shutdown_requested()).await?,
    }
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_requested() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
