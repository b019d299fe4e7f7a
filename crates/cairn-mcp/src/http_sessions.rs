//! Bounds on MCP sessions over HTTP: each `initialize` keeps a session worker
//! in memory, so their number is capped (in all and per client name), and a
//! session that calls nothing after its handshake is closed soon instead of
//! after the idle time of real sessions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tokio_util::sync::CancellationToken;

/// How often expired sessions are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub(crate) struct SessionLimits {
    pub max_sessions: usize,
    pub max_per_client: usize,
    pub unused_ttl: Duration,
}

struct Tracked {
    client: String,
    opened: Instant,
    used: bool,
}

#[derive(Default)]
struct State {
    live: HashMap<String, Tracked>,
    /// `initialize` requests admitted and not answered yet, per client.
    pending: HashMap<String, usize>,
}

impl State {
    fn count(&self, client: Option<&str>) -> usize {
        match client {
            None => self.live.len() + self.pending.values().sum::<usize>(),
            Some(client) => {
                self.live.values().filter(|t| t.client == client).count()
                    + self.pending.get(client).copied().unwrap_or(0)
            }
        }
    }
}

/// Admits new sessions and closes unused ones.
pub(crate) struct SessionGate {
    manager: Arc<LocalSessionManager>,
    limits: SessionLimits,
    state: Mutex<State>,
}

/// Why a new session was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionRefused {
    #[error(
        "too many live MCP sessions ({max}, `[mcp] max_sessions`): close one (HTTP DELETE with \
         its Mcp-Session-Id) or retry later; sessions that call nothing close after {unused_secs} s"
    )]
    Total { max: usize, unused_secs: u64 },
    #[error(
        "client {client:?} has too many live MCP sessions ({max}, `[mcp] \
         max_sessions_per_client`): reuse a session or close one (HTTP DELETE)"
    )]
    PerClient { client: String, max: usize },
}

/// A place held for one `initialize` until its answer is known.
pub(crate) struct Admission {
    gate: Arc<SessionGate>,
    client: String,
    settled: bool,
}

impl Admission {
    /// The handshake gave a session: it is live from now on.
    pub(crate) fn opened(mut self, session_id: &str) {
        let mut state = self.gate.state();
        release_pending(&mut state, &self.client);
        state.live.insert(
            session_id.to_owned(),
            Tracked {
                client: self.client.clone(),
                opened: Instant::now(),
                used: false,
            },
        );
        self.settled = true;
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.settled {
            release_pending(&mut self.gate.state(), &self.client);
        }
    }
}

fn release_pending(state: &mut State, client: &str) {
    if let Some(n) = state.pending.get_mut(client) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            state.pending.remove(client);
        }
    }
}

impl SessionGate {
    pub(crate) fn new(manager: Arc<LocalSessionManager>, limits: SessionLimits) -> Arc<Self> {
        Arc::new(SessionGate {
            manager,
            limits,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic elsewhere: use it anyway.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Room for one more session of `client`, or why not.
    pub(crate) fn admit(self: &Arc<Self>, client: &str) -> Result<Admission, SessionRefused> {
        let mut state = self.state();
        if state.count(None) >= self.limits.max_sessions {
            return Err(SessionRefused::Total {
                max: self.limits.max_sessions,
                unused_secs: self.limits.unused_ttl.as_secs(),
            });
        }
        if state.count(Some(client)) >= self.limits.max_per_client {
            return Err(SessionRefused::PerClient {
                client: client.to_owned(),
                max: self.limits.max_per_client,
            });
        }
        *state.pending.entry(client.to_owned()).or_default() += 1;
        Ok(Admission {
            gate: Arc::clone(self),
            client: client.to_owned(),
            settled: false,
        })
    }

    /// The session called something: it is kept for the usual idle time.
    pub(crate) fn used(&self, session_id: &str) {
        if let Some(tracked) = self.state().live.get_mut(session_id) {
            tracked.used = true;
        }
    }

    /// Every second: forget sessions that ended, close unused ones past their
    /// time, and give freed memory back to the system.
    pub(crate) async fn sweep_until(self: Arc<Self>, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = cancel.cancelled() => return,
            }
            let existing: Vec<String> = self
                .manager
                .sessions
                .read()
                .await
                .keys()
                .map(ToString::to_string)
                .collect();
            let (expired, freed) = {
                let mut state = self.state();
                let before = state.live.len();
                state.live.retain(|id, _| existing.contains(id));
                let ended = before - state.live.len();
                let expired = state
                    .live
                    .iter()
                    .filter(|(_, t)| !t.used && t.opened.elapsed() >= self.limits.unused_ttl)
                    .map(|(id, _)| id.clone())
                    .collect::<Vec<_>>();
                for id in &expired {
                    state.live.remove(id);
                }
                let freed = ended + expired.len();
                (expired, freed)
            };
            for id in expired {
                let id: Arc<str> = Arc::from(id);
                if let Err(e) = self.manager.close_session(&id).await {
                    tracing::warn!(error = %e, "cannot close an unused MCP session");
                }
            }
            if freed > 0 {
                release_memory();
            }
        }
    }
}

/// glibc keeps freed memory in its arenas; after a burst of sessions ends,
/// hand it back so an idle server is small again.
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
