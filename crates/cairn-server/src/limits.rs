//! What one client can hold: connections, WebSockets, watchers, bytes and time.
//! Past a bound a client gets a clear error, never a stalled daemon.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct ServeLimits {
    /// Open HTTP connections (an upgraded WebSocket leaves this count).
    pub max_connections: usize,
    /// Time a connection has to send a request's headers.
    pub header_timeout: Duration,
    /// Bytes of a JSON request body under `/api`.
    pub max_body_bytes: usize,
    /// Bytes of one WebSocket message on `/acp` (a prompt with images is large).
    pub max_ws_message_bytes: usize,
    /// Open `/acp` WebSockets.
    pub max_acp_connections: usize,
    /// Open SSE streams.
    pub max_watchers: usize,
    /// Events queued for one SSE watcher before it counts as slow.
    pub watcher_queue: usize,
    /// How long a slow client (SSE watcher or WebSocket) may leave its queue full
    /// before it is disconnected, so it never holds memory or a turn.
    pub slow_client_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            max_ws_message_bytes: 16 * 1024 * 1024,
            max_acp_connections: 64,
            max_watchers: 1024,
            watcher_queue: 256,
            slow_client_timeout: Duration::from_secs(10),
        }
    }
}
