//! `GET /api/sessions/{name}/stream?after=SEQ`: a session's new events as Server-Sent
//! Events, whoever stores them (this daemon or another cairn process on the same
//! store). Each watcher has a task that reads the store after the last seq it sent
//! whenever [`Store::changes`](cairn_core::Store::changes) announces news, so no event
//! is lost or sent twice: the seqs one watcher sees are dense. The task writes into a
//! bounded queue; a watcher that leaves it full for longer than the slow-client
//! timeout is disconnected (it can resume with `Last-Event-ID`), so it never holds
//! memory or delays anyone else.

use std::convert::Infallible;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use cairn_core::StoreChange;
use futures::Stream;
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc};
use ulid::Ulid;
use utoipa::IntoParams;

use crate::Shared;
use crate::api::session_name;
use crate::error::ApiError;

/// Events read from the store at a time.
const READ_BATCH: u32 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StreamQuery {
    /// Send the events after this seq (default: only new ones, after the session's
    /// current head). A `Last-Event-ID` header (an EventSource reconnecting) wins.
    after: Option<u64>,
}

#[utoipa::path(get, path = "/api/sessions/{name}/stream",
    params(("name" = String, Path, description = "session name"), StreamQuery),
    responses(
        (status = 200, description = "text/event-stream: one message per stored event, `id` its seq, `data` its JSONL v1 line", content_type = "text/event-stream", body = String),
        (status = 404, body = crate::error::ErrorBody),
        (status = 503, description = "too many watchers", body = crate::error::ErrorBody)))]
pub(crate) async fn stream(
    State(state): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let session = state.store.session(&session_name(&name)?).await?;
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let after = resumed.or(query.after).unwrap_or(session.head_seq);
    let permit = state
        .watcher_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            ApiError::too_many(format!(
                "too many event streams open (at most {}); close one and retry",
                state.limits.max_watchers
            ))
        })?;
    let (tx, rx) = mpsc::channel(state.limits.watcher_queue.max(1));
    // Subscribed before the first read: nothing stored in between is missed.
    let changes = state.store.changes();
    tokio::spawn(feed(state.clone(), session.id, after, changes, tx, permit));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|event| (Ok(event), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Why a watcher's feed ended.
enum Ended {
    Gone,
    Slow,
}

async fn feed(
    state: Shared,
    session: Ulid,
    mut last: u64,
    mut changes: broadcast::Receiver<StoreChange>,
    tx: mpsc::Sender<SseEvent>,
    _permit: OwnedSemaphorePermit,
) {
    loop {
        match send_new(&state, session, &mut last, &tx).await {
            Ok(()) => {}
            Err(Ended::Gone) => return,
            Err(Ended::Slow) => {
                tracing::info!("an event stream was closed: its client did not keep up");
                return;
            }
        }
        // Wait for news of this session (or of the store as a whole).
        loop {
            let change = tokio::select! {
                () = state.stopping.cancelled() => return,
                () = tx.closed() => return,
                change = changes.recv() => change,
            };
            match change {
                Ok(StoreChange::SessionAppended { session: s, .. }) if s == session => break,
                Ok(StoreChange::External | StoreChange::SessionsChanged) => break,
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => break,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

/// Send every event after `last`, advancing it as each one is queued.
async fn send_new(
    state: &Shared,
    session: Ulid,
    last: &mut u64,
    tx: &mpsc::Sender<SseEvent>,
) -> Result<(), Ended> {
    loop {
        let events = match state.store.events_after(session, *last, READ_BATCH).await {
            Ok(events) => events,
            Err(cairn_core::Error::NotFound { .. }) => {
                let _ = tx.try_send(SseEvent::default().event("end").data("session deleted"));
                return Err(Ended::Gone);
            }
            Err(error) => {
                tracing::warn!("event stream: {error}");
                let _ = tx.try_send(SseEvent::default().event("error").data(error.to_string()));
                return Err(Ended::Gone);
            }
        };
        let Some(newest) = events.last().map(|e| e.seq) else {
            return Ok(());
        };
        let full = events.len() == READ_BATCH as usize;
        for event in events {
            let data = match serde_json::to_string(&event) {
                Ok(data) => data,
                Err(error) => {
                    tracing::warn!("event {} not encoded: {error}", event.seq);
                    return Err(Ended::Gone);
                }
            };
            let message = SseEvent::default().id(event.seq.to_string()).data(data);
            match tokio::time::timeout(state.limits.slow_client_timeout, tx.send(message)).await {
                Ok(Ok(())) => *last = event.seq,
                Ok(Err(_)) => return Err(Ended::Gone),
                Err(_) => return Err(Ended::Slow),
            }
        }
        debug_assert_eq!(*last, newest);
        if !full {
            return Ok(());
        }
    }
}
