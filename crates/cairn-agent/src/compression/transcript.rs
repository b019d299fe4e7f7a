//! Events rendered as plain text for a compressor, a `/run` prompt or the extractive
//! fallback, with long texts and tool outputs cut in the middle so the cost of
//! reading them stays bounded.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde_json::Value;

use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, Event, Message};

/// How much of each part of an event is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TranscriptLimits {
    /// Tool output bytes shown; 0 replaces the output by a note naming its size.
    pub tool_output_bytes: usize,
    /// Bytes shown of one user or assistant text (and of thinking).
    pub text_bytes: usize,
    /// Bytes shown of one tool call's arguments.
    pub tool_input_bytes: usize,
    /// Whether thinking blocks are shown at all.
    pub thinking: bool,
}

impl TranscriptLimits {
    pub const GENEROUS: TranscriptLimits = TranscriptLimits {
        tool_output_bytes: 2_000,
        text_bytes: 8_000,
        tool_input_bytes: 1_000,
        thinking: true,
    };
}

/// Tool names by call id, so a result can name the tool that produced it.
pub fn tool_names(events: &[Event]) -> HashMap<&str, &str> {
    events
        .iter()
        .filter_map(|e| e.payload.as_message())
        .flat_map(|m| m.tool_uses())
        .map(|(id, name, _)| (id, name))
        .collect()
}

/// The text of one event; empty for events that are not messages.
pub fn render_event(
    event: &Event,
    limits: &TranscriptLimits,
    names: &HashMap<&str, &str>,
) -> String {
    let mut out = String::new();
    if let Some(message) = event.payload.as_message() {
        render_message(event.seq, message, limits, names, &mut out);
    }
    out
}

fn render_message(
    seq: u64,
    message: &Message,
    limits: &TranscriptLimits,
    names: &HashMap<&str, &str>,
    out: &mut String,
) {
    let role = message.role.as_str();
    for block in &message.content {
        match block {
            ContentBlock::Text { text } => {
                let _ = writeln!(
                    out,
                    "[#{seq} {role}] {}",
                    cut_middle(text.trim(), limits.text_bytes)
                );
            }
            ContentBlock::Thinking { text, .. } if limits.thinking => {
                let _ = writeln!(
                    out,
                    "[#{seq} {role} thinking] {}",
                    cut_middle(text.trim(), limits.text_bytes / 2)
                );
            }
            ContentBlock::Thinking { .. } => {}
            ContentBlock::ToolUse { name, input, .. } => {
                let args = match input {
                    Value::Object(map) if map.is_empty() => String::new(),
                    other => other.to_string(),
                };
                let _ = writeln!(
                    out,
                    "[#{seq} tool call {name}] {}",
                    cut_middle(&args, limits.tool_input_bytes)
                );
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                let name = names.get(tool_use_id.as_str()).copied().unwrap_or("tool");
                let text = result_text(content);
                let error = if *is_error { ", error" } else { "" };
                if limits.tool_output_bytes == 0 {
                    let _ = writeln!(
                        out,
                        "[#{seq} tool result {name}{error}] output omitted ({} bytes; kept in the session log)",
                        text.len()
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "[#{seq} tool result {name}{error}, {} bytes] {}",
                        text.len(),
                        cut_middle(text.trim(), limits.tool_output_bytes)
                    );
                }
            }
            ContentBlock::Image(m) => {
                let _ = writeln!(out, "[#{seq} {role} image {}]", m.mime);
            }
            ContentBlock::Video(m) => {
                let _ = writeln!(out, "[#{seq} {role} video {}]", m.mime);
            }
            ContentBlock::Other(_) => {
                let _ = writeln!(out, "[#{seq} {role} {}]", block.type_name());
            }
        }
    }
}

fn result_text(content: &ToolResultContent) -> String {
    match content {
        ToolResultContent::Text(t) => t.clone(),
        ToolResultContent::Blocks(blocks) => {
            let mut out = String::new();
            for b in blocks {
                match b {
                    ContentBlock::Text { text } => out.push_str(text),
                    other => {
                        let _ = write!(out, "[{}]", other.type_name());
                    }
                }
                out.push('\n');
            }
            out
        }
    }
}

/// `text` if it is at most `max` bytes, else its head and tail around a note saying
/// how much was left out. Cuts on character boundaries.
pub fn cut_middle(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let head_end = text.floor_char_boundary(max * 3 / 4);
    let tail_start = text.ceil_char_boundary(text.len() - max / 4);
    let left_out = tail_start - head_end;
    format!(
        "{} […{left_out} bytes left out…] {}",
        &text[..head_end],
        &text[tail_start..]
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::{Payload, Role};

    fn ev(seq: u64, message: Message) -> Event {
        Event {
            seq,
            ts: jiff::Timestamp::UNIX_EPOCH,
            payload: Payload::Message(message),
        }
    }

    #[test]
    fn long_parts_are_cut_and_results_name_their_tool() {
        let events = vec![
            ev(
                1,
                Message::new(
                    Role::Assistant,
                    vec![ContentBlock::ToolUse {
                        id: "c1".into(),
                        name: "read_file".into(),
                        input: serde_json::json!({"path": "src/lib.rs"}),
                    }],
                ),
            ),
            ev(
                2,
                Message::new(
                    Role::Tool,
                    vec![ContentBlock::ToolResult {
                        tool_use_id: "c1".into(),
                        content: ToolResultContent::Text("é".repeat(10_000)),
                        is_error: false,
                    }],
                ),
            ),
        ];
        let names = tool_names(&events);
        let limits = TranscriptLimits::GENEROUS;
        let call = render_event(&events[0], &limits, &names);
        assert_eq!(call, "[#1 tool call read_file] {\"path\":\"src/lib.rs\"}\n");
        let result = render_event(&events[1], &limits, &names);
        assert!(
            result.starts_with("[#2 tool result read_file, 20000 bytes] é"),
            "{result}"
        );
        assert!(result.contains("bytes left out"));
        assert!(result.len() < 2_200);
        let dropped = render_event(
            &events[1],
            &TranscriptLimits {
                tool_output_bytes: 0,
                ..limits
            },
            &names,
        );
        assert_eq!(
            dropped,
            "[#2 tool result read_file] output omitted (20000 bytes; kept in the session log)\n"
        );
    }
}
