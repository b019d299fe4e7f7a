//! `POST /api/sessions/{name}/messages`: one message to a session, run as one turn
//! through the daemon's own ACP handler (an in-process ACP client: the same turn, the
//! same one-turn-per-session rule and lease as `/acp`), answered when the turn ends.
//! What `cairn send NAME TEXT` calls. Shell commands that need approval are refused:
//! nobody is there to approve them.

use std::sync::{Arc, Mutex};

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{
    CancelNotification, ContentBlock, InitializeRequest, PermissionOptionKind, PromptRequest,
    PromptResponse, RequestPermissionOutcome, RequestPermissionRequest, RequestPermissionResponse,
    ResumeSessionRequest, SelectedPermissionOutcome, SessionId, SessionNotification, SessionUpdate,
    TextContent,
};
use agent_client_protocol::{Agent, Client};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_acp::CairnAcp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Shared;
use crate::api::session_name;
use crate::error::{ApiError, ApiResult};

/// The message.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct SendRequest {
    /// What the person says (or a slash command such as `/info`).
    pub text: String,
}

/// The turn's answer.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct SendAnswer {
    pub session: String,
    /// The agent's text, as it streamed.
    pub answer: String,
    /// ACP stop reason: end_turn, cancelled, max_tokens, refusal, max_turn_requests.
    pub stop_reason: String,
    /// Token usage and cost of the turn (ACP `usage` and cairn's `_meta`).
    #[schema(value_type = Object)]
    pub usage: serde_json::Value,
}

#[utoipa::path(post, path = "/api/sessions/{name}/messages",
    params(("name" = String, Path, description = "session name")),
    request_body = SendRequest,
    responses(
        (status = 200, body = SendAnswer),
        (status = 404, body = crate::error::ErrorBody),
        (status = 409, description = "a turn is running in the session, or another process holds it", body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody)))]
pub(crate) async fn post(
    State(state): State<Shared>,
    Path(name): Path<String>,
    body: Result<Json<SendRequest>, JsonRejection>,
) -> ApiResult<SendAnswer> {
    let Json(request) = body.map_err(|rejection| {
        let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            "too_large"
        } else {
            "bad_request"
        };
        ApiError::new(
            rejection.status(),
            code,
            format!("request body: {}", rejection.body_text()),
        )
    })?;
    if request.text.trim().is_empty() {
        return Err(ApiError::bad_request("text: the message is empty"));
    }
    let session = state.store.session(&session_name(&name)?).await?;
    if state.acp.sessions.is_busy(session.name.as_str()) {
        return Err(busy(session.name.as_str()));
    }
    // A task of its own: when the HTTP client goes away, the turn still ends, is
    // stored and lets go of the session.
    let task = state.tasks.spawn(run_turn(
        state.clone(),
        session.name.as_str().to_owned(),
        session.project.path().to_path_buf(),
        request.text,
    ));
    match task.await {
        Ok(result) => result.map(Json),
        Err(error) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the turn failed: {error}"),
        )),
    }
}

fn busy(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "busy",
        format!("session {name} is busy: a turn is running; wait for it to end"),
    )
}

async fn run_turn(
    state: Shared,
    name: String,
    cwd: std::path::PathBuf,
    text: String,
) -> Result<SendAnswer, ApiError> {
    let answer = Arc::new(Mutex::new(String::new()));
    let collected = answer.clone();
    let session_id = SessionId::new(name.clone());
    let stopping = state.stopping.clone();
    let outcome = Client
        .v1()
        .on_receive_notification(
            async move |notification: SessionNotification, _cx| {
                if let SessionUpdate::AgentMessageChunk(chunk) = notification.update
                    && let ContentBlock::Text(text) = chunk.content
                {
                    collected
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push_str(&text.text);
                }
                Ok(())
            },
            agent_client_protocol::on_receive_notification!(),
        )
        .on_receive_request(
            async move |request: RequestPermissionRequest, responder, _cx| {
                responder.respond(refuse(&request))
            },
            agent_client_protocol::on_receive_request!(),
        )
        .connect_with(
            CairnAcp::new(state.acp.clone()),
            async move |cx: ConnectionTo<Agent>| -> Result<PromptResponse, agent_client_protocol::Error> {
                cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
                    .block_task()
                    .await?;
                cx.send_request(ResumeSessionRequest::new(session_id.clone(), cwd))
                    .block_task()
                    .await?;
                let prompt = cx
                    .send_request(PromptRequest::new(
                        session_id.clone(),
                        vec![ContentBlock::Text(TextContent::new(text))],
                    ))
                    .block_task();
                let mut prompt = std::pin::pin!(prompt);
                tokio::select! {
                    response = &mut prompt => response,
                    () = stopping.cancelled() => {
                        // The daemon stops: the turn is interrupted and stored.
                        cx.send_notification(CancelNotification::new(session_id.clone()))?;
                        prompt.await
                    }
                }
            },
        )
        .await;
    let response = outcome.map_err(|error| acp_error(&name, error))?;
    let answer = answer.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let stop_reason = serde_json::to_value(response.stop_reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "end_turn".to_owned());
    let usage = serde_json::json!({
        "usage": response.usage,
        "cairn": response.meta.as_ref().and_then(|m| m.get("cairn")),
    });
    Ok(SendAnswer {
        session: name,
        answer,
        stop_reason,
        usage,
    })
}

/// No person to ask: reject once (the agent is told the command was refused).
fn refuse(request: &RequestPermissionRequest) -> RequestPermissionResponse {
    let reject = request
        .options
        .iter()
        .find(|o| o.kind == PermissionOptionKind::RejectOnce)
        .map(|o| o.option_id.clone());
    RequestPermissionResponse::new(match reject {
        Some(id) => RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(id)),
        None => RequestPermissionOutcome::Cancelled,
    })
}

/// An ACP error as the API's: the handler's words, a status from cairn's kind.
fn acp_error(name: &str, error: agent_client_protocol::Error) -> ApiError {
    let kind = error
        .data
        .as_ref()
        .and_then(|d| d.get("cairn"))
        .and_then(|k| k.as_str())
        .unwrap_or("");
    match kind {
        "busy" => busy(name),
        "session_busy_elsewhere" | "session_taken_over" => {
            ApiError::new(StatusCode::CONFLICT, "busy", error.message)
        }
        "not_found" => ApiError::new(StatusCode::NOT_FOUND, "not_found", error.message),
        _ => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "turn_failed",
            error.message,
        ),
    }
}
