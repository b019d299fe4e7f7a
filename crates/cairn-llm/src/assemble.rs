//! Builds one answer from stream deltas, whatever the wire format: text and thinking
//! in order, tool calls whose JSON arguments arrive in fragments split anywhere.

use cairn_core::{ContentBlock, Usage};
use serde_json::{Map, Value};

use crate::{ChatResponse, StopReason, StreamEvent};

/// A tool call whose arguments are still arriving.
#[derive(Debug)]
struct PendingTool {
    /// The wire format's key: OpenAI `tool_calls[].index`, Anthropic content-block index.
    key: u64,
    id: String,
    name: String,
    arguments: String,
    /// Where its block sits in `content`.
    slot: usize,
    announced: bool,
}

/// The answer under construction plus the events not yet handed to the caller.
#[derive(Debug)]
pub(crate) struct Turn {
    response: ChatResponse,
    pending_tools: Vec<PendingTool>,
    events: Vec<StreamEvent>,
    /// Whether any output (text, thinking, tool call) was produced: once it was, a
    /// failed attempt is no longer retried (it would repeat what the person saw).
    produced_output: bool,
}

impl Turn {
    pub(crate) fn new(model: &str) -> Self {
        Turn {
            response: ChatResponse::empty(model),
            pending_tools: Vec::new(),
            events: Vec::new(),
            produced_output: false,
        }
    }

    pub(crate) fn produced_output(&self) -> bool {
        self.produced_output
    }

    /// Events ready for the caller, in order.
    pub(crate) fn drain_events(&mut self) -> std::vec::Drain<'_, StreamEvent> {
        self.events.drain(..)
    }

    pub(crate) fn text(&mut self, delta: &str) {
        if delta.is_empty() {
            return;
        }
        self.produced_output = true;
        match self.response.content.last_mut() {
            Some(ContentBlock::Text { text }) => text.push_str(delta),
            _ => self.response.content.push(ContentBlock::text(delta)),
        }
        self.events.push(StreamEvent::TextDelta(delta.to_owned()));
    }

    /// Start a new text block even if the previous block is text (Anthropic blocks).
    pub(crate) fn start_text_block(&mut self) {
        if !matches!(self.response.content.last(), Some(ContentBlock::Text { text }) if text.is_empty())
        {
            self.response.content.push(ContentBlock::text(""));
        }
    }

    pub(crate) fn thinking(&mut self, delta: &str) {
        if delta.is_empty() {
            return;
        }
        self.produced_output = true;
        match self.response.content.last_mut() {
            Some(ContentBlock::Thinking {
                text,
                signature: None,
            }) => text.push_str(delta),
            _ => self.response.content.push(ContentBlock::Thinking {
                text: delta.to_owned(),
                signature: None,
            }),
        }
        self.events
            .push(StreamEvent::ThinkingDelta(delta.to_owned()));
    }

    /// Start a new thinking block (Anthropic `content_block_start` of type thinking).
    pub(crate) fn start_thinking_block(&mut self) {
        self.response.content.push(ContentBlock::Thinking {
            text: String::new(),
            signature: None,
        });
    }

    /// The signature of the latest thinking block (Anthropic `signature_delta`).
    pub(crate) fn thinking_signature(&mut self, fragment: &str) {
        let latest = self
            .response
            .content
            .iter_mut()
            .rev()
            .find(|b| matches!(b, ContentBlock::Thinking { .. }));
        match latest {
            Some(ContentBlock::Thinking { signature, .. }) => {
                signature.get_or_insert_with(String::new).push_str(fragment)
            }
            _ => self.response.content.push(ContentBlock::Thinking {
                text: String::new(),
                signature: Some(fragment.to_owned()),
            }),
        }
    }

    /// A block kept verbatim (Anthropic `redacted_thinking`), to be sent back as is.
    pub(crate) fn opaque_block(&mut self, block: Map<String, Value>) {
        self.produced_output = true;
        self.response.content.push(ContentBlock::Other(block));
    }

    /// A tool call begins, or more of its id/name arrives (OpenAI may split them).
    pub(crate) fn tool_start(&mut self, key: u64, id: Option<&str>, name: Option<&str>) {
        let index = match self.pending_tools.iter().position(|t| t.key == key) {
            Some(index) => index,
            None => {
                self.produced_output = true;
                self.response.content.push(ContentBlock::ToolUse {
                    id: String::new(),
                    name: String::new(),
                    input: Value::Null,
                });
                self.pending_tools.push(PendingTool {
                    key,
                    id: String::new(),
                    name: String::new(),
                    arguments: String::new(),
                    slot: self.response.content.len() - 1,
                    announced: false,
                });
                self.pending_tools.len() - 1
            }
        };
        let tool = &mut self.pending_tools[index];
        if let Some(id) = id.filter(|id| !id.is_empty())
            && tool.id.is_empty()
        {
            tool.id = id.to_owned();
        }
        if let Some(name) = name {
            tool.name.push_str(name);
        }
        if !tool.announced && !tool.name.is_empty() {
            tool.announced = true;
            if tool.id.is_empty() {
                tool.id = format!("call_{key}");
            }
            self.events.push(StreamEvent::ToolCallStarted {
                id: tool.id.clone(),
                name: tool.name.clone(),
            });
        }
    }

    pub(crate) fn tool_arguments(&mut self, key: u64, fragment: &str) {
        if !self.pending_tools.iter().any(|t| t.key == key) {
            self.tool_start(key, None, None);
        }
        if let Some(tool) = self.pending_tools.iter_mut().find(|t| t.key == key) {
            tool.arguments.push_str(fragment);
        }
    }

    /// Arguments of tool `key` are complete: parse them and announce the call.
    ///
    /// Arguments that are not valid JSON (some local models produce such) are kept
    /// as a JSON string holding the raw text, so the agent can answer the model with
    /// an error instead of losing the turn.
    pub(crate) fn tool_finish(&mut self, key: u64) {
        let Some(index) = self.pending_tools.iter().position(|t| t.key == key) else {
            return;
        };
        let tool = self.pending_tools.remove(index);
        let id = if tool.id.is_empty() {
            format!("call_{key}")
        } else {
            tool.id
        };
        let raw = tool.arguments.trim();
        let input = if raw.is_empty() {
            Value::Object(Map::new())
        } else {
            serde_json::from_str(raw).unwrap_or_else(|_| Value::String(tool.arguments.clone()))
        };
        self.response.content[tool.slot] = ContentBlock::ToolUse {
            id: id.clone(),
            name: tool.name.clone(),
            input: input.clone(),
        };
        self.events.push(StreamEvent::ToolCall {
            id,
            name: tool.name,
            input,
        });
    }

    pub(crate) fn finish_all_tools(&mut self) {
        let mut keys: Vec<u64> = self.pending_tools.iter().map(|t| t.key).collect();
        keys.sort_unstable();
        for key in keys {
            self.tool_finish(key);
        }
    }

    pub(crate) fn set_usage(&mut self, usage: Usage) {
        self.response.usage = usage;
    }

    pub(crate) fn usage_mut(&mut self) -> &mut Usage {
        &mut self.response.usage
    }

    pub(crate) fn set_stop_reason(&mut self, reason: StopReason) {
        self.response.stop_reason = Some(reason);
    }

    pub(crate) fn stop_reason(&self) -> Option<&StopReason> {
        self.response.stop_reason.as_ref()
    }

    /// Whether the answer so far holds a tool call.
    pub(crate) fn produced_tool_call(&self) -> bool {
        self.response
            .content
            .iter()
            .any(|b| matches!(b, ContentBlock::ToolUse { .. }))
    }

    pub(crate) fn set_request_id_if_absent(&mut self, id: &str) {
        if self.response.request_id.is_none() && !id.is_empty() {
            self.response.request_id = Some(id.to_owned());
        }
    }

    pub(crate) fn set_request_id(&mut self, id: Option<String>) {
        self.response.request_id = id;
    }

    /// What was received so far, for an error: text, thinking and finished tool
    /// calls (a tool call whose arguments were cut off is dropped, since it cannot
    /// be run and would need a result).
    pub(crate) fn partial(&self) -> ChatResponse {
        let unfinished: Vec<usize> = self.pending_tools.iter().map(|t| t.slot).collect();
        let mut partial = self.response.clone();
        partial.content = partial
            .content
            .into_iter()
            .enumerate()
            .filter(|(slot, block)| !unfinished.contains(slot) && !is_empty_block(block))
            .map(|(_, block)| block)
            .collect();
        partial
    }

    /// The finished answer (call after [`Turn::finish_all_tools`]).
    pub(crate) fn into_response(mut self) -> ChatResponse {
        self.response.content.retain(|b| !is_empty_block(b));
        self.response
    }
}

fn is_empty_block(block: &ContentBlock) -> bool {
    match block {
        ContentBlock::Text { text } => text.is_empty(),
        ContentBlock::Thinking { text, signature } => text.is_empty() && signature.is_none(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_arguments_split_mid_json_are_joined() {
        let mut turn = Turn::new("openai:gpt-4.1");
        turn.text("Let me look.");
        turn.tool_start(0, Some("call_a"), Some("read_file"));
        for piece in ["{\"pa", "th\": \"src/", "main.rs\", \"ra", "nge\": [1, 2]}"] {
            turn.tool_arguments(0, piece);
        }
        turn.tool_start(1, Some("call_b"), Some("list_files"));
        turn.finish_all_tools();
        let response = turn.into_response();
        assert_eq!(response.content.len(), 3);
        let calls: Vec<_> = response.tool_calls().collect();
        assert_eq!(
            calls[0],
            (
                "call_a",
                "read_file",
                &json!({"path":"src/main.rs","range":[1,2]})
            )
        );
        assert_eq!(calls[1], ("call_b", "list_files", &json!({})));
    }

    #[test]
    fn partial_drops_unfinished_tool_calls() {
        let mut turn = Turn::new("m");
        turn.thinking("hmm");
        turn.text("part");
        turn.tool_start(0, Some("c"), Some("shell"));
        turn.tool_arguments(0, "{\"cmd\": \"l");
        let partial = turn.partial();
        assert_eq!(partial.text(), "part");
        assert_eq!(partial.tool_calls().count(), 0);
        assert_eq!(partial.content.len(), 2);
    }

    #[test]
    fn invalid_arguments_are_kept_raw() {
        let mut turn = Turn::new("m");
        turn.tool_start(3, None, Some("x"));
        turn.tool_arguments(3, "{not json");
        turn.finish_all_tools();
        let response = turn.into_response();
        let (id, _, input) = response.tool_calls().next().unwrap();
        assert_eq!(id, "call_3");
        assert_eq!(input, &json!("{not json"));
    }
}
