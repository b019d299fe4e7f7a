//! `session/prompt`: one line from the person — a message or a slash command — run by
//! the same engine call as the REPL and `cairn run -p` (`Agent::submit`), streamed to
//! the client, ending with an honest stop reason, the turn's token usage and its cost.

use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{
    ContentBlock, EmbeddedResourceResource, PromptRequest, PromptResponse, Usage as AcpUsage,
};
use agent_client_protocol::{Client, Error};
use base64::Engine;
use cairn_agent::media::MediaKind;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::error::{engine_error, invalid};
use crate::frontend::AcpFrontend;
use crate::sessions::Slot;
use crate::stop;

/// Slash commands that would change which session the engine drives (or end it):
/// in ACP the client owns that (session/new, session/load), so they are refused
/// rather than leave the sessionId naming another session.
pub(crate) const CLIENT_OWNED_COMMANDS: &[&str] = &["session", "new", "rename", "exit"];

pub(crate) async fn run(
    slot: &mut Slot,
    request: PromptRequest,
    cx: ConnectionTo<Client>,
    cancel: CancellationToken,
) -> Result<PromptResponse, Error> {
    let session_id = request.session_id.clone();
    let root = slot.agent.tool_root();
    let window = slot.agent.model().context_window();
    let text = prompt_text(slot, request.prompt).await?;
    let mut ui = AcpFrontend::new(
        cx,
        session_id,
        root,
        window,
        cancel.clone(),
        &mut slot.always_allowed,
    );
    if let Some(command) = client_owned_command(&text) {
        ui.agent_text(&format!(
            "/{command} is not available here: your editor opens, creates and closes \
             sessions (the session id is the cairn session name)\n"
        ));
        return Ok(PromptResponse::new(
            agent_client_protocol::v1::schema::StopReason::EndTurn,
        ));
    }
    let outcome = slot
        .agent
        .submit(&text, &mut ui, &cancel)
        .await
        .map_err(engine_error)?;
    if let Some(message) = stop::stop_message(&outcome, &ui.turn) {
        ui.agent_text(&format!("\n{message}\n"));
    }
    let reason = stop::stop_reason(&outcome, &ui.turn).map_err(|message| {
        Error::new(agent_client_protocol::ErrorCode::INTERNAL_ERROR, message).data(json!({
            "cairn": ui.turn.error.as_ref().map(|(kind, _)| kind.clone()),
        }))
    })?;
    let report = &ui.turn;
    let usage = AcpUsage::new(
        report.usage.total(),
        report.usage.input_tokens
            + report.usage.cache_read_tokens
            + report.usage.cache_write_tokens,
        report.usage.output_tokens,
    )
    .thought_tokens(report.usage.reasoning_tokens)
    .cached_read_tokens(report.usage.cache_read_tokens)
    .cached_write_tokens(report.usage.cache_write_tokens);
    let session = slot.agent.session();
    let meta = json!({"cairn": {
        "stopReason": report.stop_reason,
        "requests": report.requests,
        "costUsd": report.cost_usd,
        "sessionCostUsd": session.cost_usd,
    }});
    Ok(PromptResponse::new(reason)
        .usage(usage)
        .meta(meta.as_object().cloned()))
}

/// The prompt's blocks as one line for the engine: text as it is, embedded files as
/// marked context, links by name; images are attached to the message (checked like
/// `/image`).
async fn prompt_text(slot: &mut Slot, blocks: Vec<ContentBlock>) -> Result<String, Error> {
    let mut parts: Vec<String> = Vec::new();
    let mut images = 0;
    for block in blocks {
        match block {
            ContentBlock::Text(text) => parts.push(text.text),
            ContentBlock::ResourceLink(link) => {
                parts.push(format!("@{} ({})", link.name, link.uri))
            }
            ContentBlock::Resource(embedded) => match embedded.resource {
                EmbeddedResourceResource::TextResourceContents(file) => parts.push(format!(
                    "<context uri=\"{}\">\n{}\n</context>",
                    file.uri, file.text
                )),
                EmbeddedResourceResource::BlobResourceContents(blob) => {
                    return Err(invalid(format!(
                        "embedded resource {}: binary resources are not supported; send \
                         images as image blocks",
                        blob.uri
                    )));
                }
                _ => return Err(invalid("an embedded resource of an unknown kind")),
            },
            ContentBlock::Image(image) => {
                images += 1;
                let label = format!("image {images} ({})", image.mime_type);
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(image.data.as_bytes())
                    .map_err(|e| invalid(format!("{label}: data is not base64: {e}")))?;
                slot.agent
                    .attach_media(&label, MediaKind::Image, bytes)
                    .await
                    .map_err(|e| invalid(e.to_string()))?;
            }
            ContentBlock::Audio(_) => {
                return Err(invalid(
                    "audio prompts are not supported (promptCapabilities.audio is false)",
                ));
            }
            _ => return Err(invalid("a prompt block of an unknown kind")),
        }
    }
    let text = parts.join("\n");
    if text.trim().is_empty() {
        return Err(invalid("the prompt has no text"));
    }
    Ok(text)
}

fn client_owned_command(text: &str) -> Option<&str> {
    let line = text.trim().strip_prefix('/')?;
    let name = line.split_whitespace().next()?;
    CLIENT_OWNED_COMMANDS.contains(&name).then_some(name)
}
