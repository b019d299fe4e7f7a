//! `session/load`: the session's live context replayed to the client as
//! `session/update` notifications, O(live context) like every resume (invariant 3):
//! the latest compaction's summary and retained knowledge first, as one agent
//! message marked as such, then the live events — user and agent messages, thinking,
//! tool calls with their results. What was interrupted says so.

use std::collections::HashMap;
use std::path::Path;

use agent_client_protocol::v1::schema::SessionUpdate;
use cairn_core::live_messages::preamble_text;
use cairn_core::{ContentBlock, LiveContext, Message, Role};

use crate::frontend::text_chunk;
use crate::tool_calls;

/// The mark that opens the replay of a compacted session.
pub(crate) const COMPACTED_MARK: &str = "[cairn] Earlier conversation, compacted. The model \
     keeps this summary and knowledge of it:";

/// The updates that show `live` to a client, in order.
pub(crate) fn updates(live: &LiveContext, root: &Path) -> Vec<SessionUpdate> {
    let mut out = Vec::new();
    if let Some(preamble) = preamble_text(live) {
        out.push(SessionUpdate::AgentMessageChunk(text_chunk(&format!(
            "{COMPACTED_MARK}\n\n{preamble}\n"
        ))));
    }
    let messages: Vec<&Message> = live
        .events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .collect();
    let results: HashMap<&str, (&str, bool)> = messages
        .iter()
        .flat_map(|m| m.content.iter())
        .filter_map(|block| match block {
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => Some((tool_use_id.as_str(), (content.as_text(), *is_error))),
            _ => None,
        })
        .collect();
    for message in messages {
        let interrupted = message
            .extra
            .get("interrupted")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        match message.role {
            Role::User => {
                for block in &message.content {
                    if let Some(text) = shown_text(block) {
                        out.push(SessionUpdate::UserMessageChunk(text_chunk(&text)));
                    }
                }
            }
            Role::Assistant => {
                for block in &message.content {
                    match block {
                        ContentBlock::Thinking { text, .. } => {
                            out.push(SessionUpdate::AgentThoughtChunk(text_chunk(text)));
                        }
                        ContentBlock::ToolUse { id, name, input } => {
                            let result = results.get(id.as_str()).copied();
                            out.push(SessionUpdate::ToolCall(tool_calls::replayed(
                                root, id, name, input, result,
                            )));
                        }
                        other => {
                            if let Some(text) = shown_text(other) {
                                out.push(SessionUpdate::AgentMessageChunk(text_chunk(&text)));
                            }
                        }
                    }
                }
                if interrupted {
                    out.push(SessionUpdate::AgentMessageChunk(text_chunk(
                        "\n[interrupted: the answer stopped here]\n",
                    )));
                }
            }
            // Tool results are shown with their calls; system messages are cairn's own.
            Role::Tool | Role::System => {}
        }
    }
    out
}

fn shown_text(block: &ContentBlock) -> Option<String> {
    match block {
        ContentBlock::Text { text } => Some(text.clone()),
        ContentBlock::Image(media) => Some(format!("[image {}]", media.mime)),
        ContentBlock::Video(media) => Some(format!("[video {}]", media.mime)),
        _ => None,
    }
}
