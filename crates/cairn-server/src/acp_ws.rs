//! `/acp`: the Agent Client Protocol over WebSocket, one JSON-RPC message per text
//! frame, served by the same handler as `cairn acp` ([`CairnAcp`]) through the SDK's
//! `Lines` transport. Every connection shares the daemon's session table.
//!
//! Bounds: at most `max_acp_connections` sockets (503 past it, before the upgrade);
//! messages and frames over `max_ws_message_bytes` close the socket; a client that
//! stops reading has `slow_client_timeout` to catch up before it is disconnected, so
//! the turn it started is interrupted and stored, never held up by it.

use std::io;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use cairn_acp::CairnAcp;
use futures::{SinkExt, StreamExt};
use tokio::sync::OwnedSemaphorePermit;

use crate::Shared;
use crate::error::ApiError;

/// Messages queued for one socket's writer.
const OUTGOING_QUEUE: usize = 256;

pub(crate) async fn upgrade(State(state): State<Shared>, ws: WebSocketUpgrade) -> Response {
    let Ok(permit) = state.acp_slots.clone().try_acquire_owned() else {
        return ApiError::too_many(format!(
            "too many ACP connections open (at most {}); close one and retry",
            state.limits.max_acp_connections
        ))
        .into_response();
    };
    let max = state.limits.max_ws_message_bytes;
    let tasks = state.tasks.clone();
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| tasks.track_future(serve_socket(state, socket, permit)))
}

async fn serve_socket(state: Shared, socket: WebSocket, _permit: OwnedSemaphorePermit) {
    let (mut ws_out, ws_in) = socket.split();
    let (lines_tx, mut lines_rx) = futures::channel::mpsc::channel::<String>(OUTGOING_QUEUE);
    // The writer: a client that does not take a message within the timeout is gone.
    let slow = state.limits.slow_client_timeout;
    let writer = tokio::spawn(async move {
        while let Some(line) = lines_rx.next().await {
            match tokio::time::timeout(slow, ws_out.send(Message::Text(line.into()))).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::debug!("ACP socket closed while writing: {error}");
                    break;
                }
                Err(_) => {
                    tracing::info!("an ACP socket was closed: its client did not keep up");
                    break;
                }
            }
        }
        let _ = ws_out.close().await;
    });
    let outgoing = lines_tx.sink_map_err(|e| io::Error::new(io::ErrorKind::BrokenPipe, e));
    // Text frames are messages; the stream ends when the client closes, or when the
    // daemon stops (the handler then interrupts and stores the turns in flight).
    let incoming = ws_in
        .take_until(state.stopping.clone().cancelled_owned())
        .filter_map(|message| async move {
            match message {
                Ok(Message::Text(text)) => Some(Ok(text.as_str().to_owned())),
                Ok(Message::Binary(_)) => Some(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "binary WebSocket frames are not ACP: send one JSON-RPC message per text frame",
                ))),
                Ok(Message::Close(_)) => None,
                Ok(Message::Ping(_) | Message::Pong(_)) => None,
                Err(error) => Some(Err(io::Error::other(error))),
            }
        });
    let transport = agent_client_protocol::Lines::new(outgoing, incoming);
    let handler = CairnAcp::new(state.acp.clone());
    if let Err(error) =
        agent_client_protocol::ConnectTo::<agent_client_protocol::Client>::connect_to(
            handler, transport,
        )
        .await
    {
        tracing::debug!("ACP connection ended: {error}");
    }
    writer.abort();
}
