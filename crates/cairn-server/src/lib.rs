//! cairn-server: `cairn serve`, one daemon over one store with four faces:
//!
//! - `/acp`: the Agent Client Protocol over WebSocket, one JSON-RPC message per text
//!   frame, served by the same handler as `cairn acp` ([`cairn_acp::CairnAcp`]) through
//!   the SDK's `Lines` transport. Every connection shares one session table, so a
//!   session is open (and leased) once in the daemon, and runs one turn at a time;
//! - `/mcp`: the MCP handler over streamable HTTP, the router of `cairn mcp --http`;
//! - `/api`: JSON for the dashboard and scripts (OpenAPI at `/api/openapi.json`),
//!   with Server-Sent Events for a session's new events;
//! - `/`: the web dashboard ([`dashboard`]).
//!
//! The guard in front of them all ([`guard`]) checks `Host`, `Origin` and the token;
//! [`limits`] bounds what one client can hold.

mod acp_ws;
mod api;
mod attachments;
pub mod daemon_files;
mod dashboard;
mod error;
mod guard;
pub mod limits;
mod messages;
mod openapi;
mod stream;
mod usage;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use cairn_acp::AcpConfig;
use cairn_core::Store;
use cairn_mcp::CairnMcpFactory;
use cairn_mcp::http::HttpOptions;
use cairn_mcp::http_serve::{ConnectionLimits, serve_connections};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use limits::ServeLimits;
pub use messages::{SendAnswer, SendRequest};

/// How long shutdown waits for turns in flight to store what they received.
const TURN_GRACE: Duration = Duration::from_secs(20);

/// Why the daemon did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to serve on {addr} without a token: any address other than 127.0.0.1/::1 is \
         reachable from other machines. Set --token or CAIRN_TOKEN (clients then send \
         `Authorization: Bearer <token>`), or bind 127.0.0.1"
    )]
    TokenRequired { addr: SocketAddr },
    #[error("the token must not be empty")]
    EmptyToken,
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// How the daemon is exposed.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    /// Required for any non-loopback address; never stored or logged.
    pub token: Option<String>,
    pub limits: ServeLimits,
}

impl ServeOptions {
    /// Refuse unsafe combinations before anything listens.
    pub fn check(&self) -> Result<(), ServeError> {
        match &self.token {
            Some(token) if token.trim().is_empty() => Err(ServeError::EmptyToken),
            Some(_) => Ok(()),
            None if self.addr.ip().is_loopback() => Ok(()),
            None => Err(ServeError::TokenRequired { addr: self.addr }),
        }
    }
}

/// What the daemon serves.
pub struct Daemon {
    pub store: Arc<dyn Store>,
    /// The ACP face; its `sessions` table is shared by every `/acp` connection and by
    /// `POST /api/sessions/{name}/messages`.
    pub acp: AcpConfig,
    pub mcp: CairnMcpFactory,
    /// The MCP endpoint's own limits (`[mcp]` settings).
    pub mcp_options: HttpOptions,
    /// The pool TTL (`/api/pool`).
    pub pool_ttl_secs: u64,
}

/// What every handler reads.
pub(crate) struct AppState {
    pub store: Arc<dyn Store>,
    pub acp: AcpConfig,
    pub limits: ServeLimits,
    pub pool_ttl_secs: u64,
    /// Open `/acp` WebSockets (bounded).
    pub acp_slots: Arc<Semaphore>,
    /// Open SSE watchers (bounded).
    pub watcher_slots: Arc<Semaphore>,
    /// Cancelled when the daemon stops: WebSockets close, streams end.
    pub stopping: CancellationToken,
    /// The `/acp` connections and in-process turns, waited for at shutdown.
    pub tasks: TaskTracker,
}

pub(crate) type Shared = Arc<AppState>;

/// Listen on `options.addr`; the bound address (port 0 resolved) is returned with the
/// listener so the caller can publish it before serving.
pub async fn bind(options: &ServeOptions) -> Result<(TcpListener, SocketAddr), ServeError> {
    options.check()?;
    let listener = TcpListener::bind(options.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: options.addr,
            source,
        })?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serve until `shutdown` resolves; then close the WebSockets and streams, let the
/// turns in flight store what they received (marked interrupted) and release every
/// lease.
pub async fn serve(
    daemon: Daemon,
    options: ServeOptions,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    options.check()?;
    let stopping = CancellationToken::new();
    let state: Shared = Arc::new(AppState {
        store: daemon.store.clone(),
        acp: daemon.acp.clone(),
        limits: options.limits.clone(),
        pool_ttl_secs: daemon.pool_ttl_secs,
        acp_slots: Arc::new(Semaphore::new(options.limits.max_acp_connections)),
        watcher_slots: Arc::new(Semaphore::new(options.limits.max_watchers)),
        stopping: stopping.clone(),
        tasks: TaskTracker::new(),
    });
    let bound = listener.local_addr()?;
    let app = router(
        state.clone(),
        &daemon,
        &options,
        bound,
        stopping.child_token(),
    );
    let connection_limits = ConnectionLimits {
        max_connections: options.limits.max_connections,
        header_timeout: options.limits.header_timeout,
    };
    let stop = stopping.clone();
    serve_connections(listener, app, connection_limits, async move {
        shutdown.await;
        tracing::info!("cairn serve: stopping");
        stop.cancel();
    })
    .await;
    stopping.cancel();
    // The WebSockets are closing: each connection interrupts its turns, which store
    // what they received and release their leases.
    state.tasks.close();
    if tokio::time::timeout(TURN_GRACE, state.tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("turns still running after {TURN_GRACE:?}; closing anyway");
    }
    daemon.acp.sessions.shut_down().await;
    Ok(())
}

fn router(
    state: Shared,
    daemon: &Daemon,
    options: &ServeOptions,
    bound: SocketAddr,
    cancel: CancellationToken,
) -> Router {
    let guard = guard::Guard::new(options.token.as_deref(), bound);
    let mut mcp_options = daemon.mcp_options.clone();
    mcp_options.addr = bound;
    mcp_options.token = options.token.clone();
    let mcp = cairn_mcp::http::router(daemon.mcp.clone(), &mcp_options, cancel);
    Router::new()
        .nest(
            "/api",
            api::router().layer(axum::extract::DefaultBodyLimit::max(
                options.limits.max_body_bytes,
            )),
        )
        .route("/acp", axum::routing::get(acp_ws::upgrade))
        .with_state(state)
        .merge(mcp)
        .merge(dashboard::router())
        .layer(axum::middleware::from_fn_with_state(guard, guard::check))
}
