//! What the fake LLM answers: a queue of scripted turns, one per request received.
//!
//! A turn is written once and rendered in whichever wire format the request used
//! (OpenAI chat completions or Anthropic Messages), streamed or not, as the request
//! asked. Scripts are plain serde types, so a JSON file can hold them too (the
//! `fake-llm` binary reads one):
//!
//! ```json
//! [{"type": "reply", "parts": [{"type": "text", "text": "Hello"}]},
//!  {"type": "error", "status": 429, "message": "slow down", "retry_after": "1"}]
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One scripted answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Turn {
    /// A successful answer.
    Reply(Reply),
    /// An HTTP error in the provider's own error format.
    Error(ErrorReply),
}

impl Turn {
    /// A reply with one text part.
    pub fn text(text: impl Into<String>) -> Turn {
        Turn::Reply(Reply::new().text(text))
    }

    /// A compressor's answer: `summary` (the structured summary cairn asks for:
    /// goal, progress, decisions, files, next steps, knowledge) as JSON text, with a
    /// usage of 800 tokens in and 100 out.
    pub fn summary(summary: &Value) -> Turn {
        Reply::new()
            .text(summary.to_string())
            .usage(FakeUsage {
                input: 800,
                output: 100,
                ..FakeUsage::default()
            })
            .into()
    }

    /// An HTTP error (e.g. 500) with the provider's error body.
    pub fn error(status: u16, message: impl Into<String>) -> Turn {
        Turn::Error(ErrorReply {
            status,
            message: message.into(),
            error_type: None,
            ..ErrorReply::default()
        })
    }

    /// A 429 asking the client to wait `retry_after` (a `retry-after` header value:
    /// seconds or an HTTP date).
    pub fn rate_limited(retry_after: impl Into<String>) -> Turn {
        Turn::Error(ErrorReply {
            status: 429,
            message: "Rate limit reached for requests".into(),
            error_type: None,
            retry_after: Some(retry_after.into()),
            ..ErrorReply::default()
        })
    }
}

impl From<Reply> for Turn {
    fn from(reply: Reply) -> Self {
        Turn::Reply(reply)
    }
}

/// An error answer. The body is `{"error":{"message","type","code"}}` for OpenAI,
/// `{"type":"error","error":{"type","message"}}` for Anthropic and
/// `{"error":{"code","message","status","details"}}` for Gemini (`error_type` is the
/// status name, `code` an `ErrorInfo` reason such as `API_KEY_INVALID`, `retry_after`
/// a `RetryInfo.retryDelay` in seconds instead of a header).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub status: u16,
    pub message: String,
    /// Error type; by default derived from the status (`rate_limit_error`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// OpenAI `error.code` (e.g. `context_length_exceeded`, `insufficient_quota`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `retry-after` header value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// `retry-after-ms` header value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// Any other response headers (e.g. `x-should-retry`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// One piece of an answer, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text {
        text: String,
    },
    /// Anthropic `thinking` block (with a signature); OpenAI-compatible
    /// `delta.reasoning_content`.
    Thinking {
        text: String,
        #[serde(default = "default_signature")]
        signature: String,
    },
    /// A tool call; `arguments` is the JSON text, streamed in `chunk_size` pieces so
    /// it is split mid-JSON.
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
}

fn default_signature() -> String {
    "sig-fake".to_owned()
}

/// Token counts the fake reports, in cairn's non-overlapping terms. On the wire:
/// OpenAI `prompt_tokens = input + cache_read + cache_write`, `cached_tokens =
/// cache_read`, `completion_tokens = output + reasoning`, `reasoning_tokens =
/// reasoning`; Anthropic `input_tokens = input`, `cache_read_input_tokens`,
/// `cache_creation_input_tokens`, `output_tokens = output + reasoning`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FakeUsage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

/// Something going wrong in the middle of a streamed answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// After `after_events` events, send a chunk that is not valid JSON, then close.
    Malformed { after_events: usize },
    /// After `after_events` events, drop the connection without finishing the body.
    Cut { after_events: usize },
    /// After `after_events` events, go silent for `ms` milliseconds, then go on.
    Stall { after_events: usize, ms: u64 },
}

/// A successful answer and how to deliver it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Reply {
    pub parts: Vec<Part>,
    pub usage: FakeUsage,
    /// Wire stop reason; by default `tool_calls`/`tool_use` when a tool call is in
    /// the parts, else `stop`/`end_turn`. Give the wire's own word
    /// (`length`, `max_tokens`, …) to override.
    pub stop_reason: Option<String>,
    /// Characters per streamed text / argument chunk.
    pub chunk_size: usize,
    /// Pause before the response headers (tests first-byte timeouts).
    pub headers_delay_ms: u64,
    /// Pause between two streamed events.
    pub chunk_delay_ms: u64,
    pub fault: Option<Fault>,
    /// Sent as `x-request-id` (OpenAI) / `request-id` (Anthropic) header; none when
    /// unset, so the client falls back to the body id.
    pub request_id: Option<String>,
    /// Gemini only: answer with no candidate, just `promptFeedback.blockReason` (e.g.
    /// `SAFETY`), as Gemini does when it refuses the prompt itself.
    pub prompt_blocked: Option<String>,
}

impl Default for Reply {
    fn default() -> Self {
        Reply {
            parts: Vec::new(),
            usage: FakeUsage {
                input: 10,
                output: 5,
                ..FakeUsage::default()
            },
            stop_reason: None,
            chunk_size: 4,
            headers_delay_ms: 0,
            chunk_delay_ms: 0,
            fault: None,
            request_id: None,
            prompt_blocked: None,
        }
    }
}

impl Reply {
    pub fn new() -> Self {
        Reply::default()
    }

    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.parts.push(Part::Text { text: text.into() });
        self
    }

    pub fn thinking(mut self, text: impl Into<String>, signature: impl Into<String>) -> Self {
        self.parts.push(Part::Thinking {
            text: text.into(),
            signature: signature.into(),
        });
        self
    }

    pub fn tool_call(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        input: Value,
    ) -> Self {
        self.parts.push(Part::ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: input.to_string(),
        });
        self
    }

    /// A tool call with arguments given as raw text (e.g. invalid JSON).
    pub fn raw_tool_call(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        self.parts.push(Part::ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        });
        self
    }

    pub fn usage(mut self, usage: FakeUsage) -> Self {
        self.usage = usage;
        self
    }

    pub fn stop_reason(mut self, reason: impl Into<String>) -> Self {
        self.stop_reason = Some(reason.into());
        self
    }

    pub fn chunk_size(mut self, chars: usize) -> Self {
        self.chunk_size = chars.max(1);
        self
    }

    pub fn headers_delay_ms(mut self, ms: u64) -> Self {
        self.headers_delay_ms = ms;
        self
    }

    pub fn chunk_delay_ms(mut self, ms: u64) -> Self {
        self.chunk_delay_ms = ms;
        self
    }

    pub fn fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    pub fn prompt_blocked(mut self, reason: impl Into<String>) -> Self {
        self.prompt_blocked = Some(reason.into());
        self
    }

    pub(crate) fn has_tool_call(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::ToolCall { .. }))
    }
}

/// Split `text` into pieces of `size` characters (never inside a UTF-8 character).
pub(crate) fn chunks(text: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(size.max(1))
        .map(|c| c.iter().collect())
        .collect()
}
