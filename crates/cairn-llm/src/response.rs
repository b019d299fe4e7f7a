//! What comes back from one model turn.

use cairn_core::{ContentBlock, Message, Role, Usage};

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A natural end of the answer (OpenAI `stop`, Anthropic `end_turn`).
    EndTurn,
    /// The model wants tool results (OpenAI `tool_calls`, Anthropic `tool_use`).
    ToolUse,
    /// The output limit was reached (OpenAI `length`, Anthropic `max_tokens`).
    MaxTokens,
    StopSequence,
    /// OpenAI `content_filter`, Anthropic `refusal`.
    Refusal,
    /// Anthropic `pause_turn` or anything else, kept as the provider wrote it.
    Other(String),
}

impl StopReason {
    /// Map an OpenAI `finish_reason`.
    pub fn from_openai(raw: &str) -> StopReason {
        match raw {
            "stop" => StopReason::EndTurn,
            "tool_calls" | "function_call" => StopReason::ToolUse,
            "length" => StopReason::MaxTokens,
            "content_filter" => StopReason::Refusal,
            other => StopReason::Other(other.to_owned()),
        }
    }

    /// Map an Anthropic `stop_reason`.
    pub fn from_anthropic(raw: &str) -> StopReason {
        match raw {
            "end_turn" => StopReason::EndTurn,
            "tool_use" => StopReason::ToolUse,
            "max_tokens" => StopReason::MaxTokens,
            "stop_sequence" => StopReason::StopSequence,
            "refusal" => StopReason::Refusal,
            other => StopReason::Other(other.to_owned()),
        }
    }

    /// Map a Gemini `finishReason`. Gemini says `STOP` when it asks for tools too, so
    /// `called` (a functionCall arrived) decides between the two. Safety, recitation
    /// and blocklist stops are refusals; anything else (`MALFORMED_FUNCTION_CALL`,
    /// `LANGUAGE`, `OTHER`, …) is kept in Gemini's words, lower-cased.
    pub fn from_gemini(raw: &str, called: bool) -> StopReason {
        match raw {
            "STOP" if called => StopReason::ToolUse,
            "STOP" => StopReason::EndTurn,
            "MAX_TOKENS" => StopReason::MaxTokens,
            "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII"
            | "IMAGE_SAFETY" => StopReason::Refusal,
            other => StopReason::Other(other.to_ascii_lowercase()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            StopReason::EndTurn => "end_turn",
            StopReason::ToolUse => "tool_use",
            StopReason::MaxTokens => "max_tokens",
            StopReason::StopSequence => "stop_sequence",
            StopReason::Refusal => "refusal",
            StopReason::Other(s) => s,
        }
    }
}

/// A whole assistant answer (or, inside an error, the part received before it failed).
///
/// Usage is split so that the five counters never overlap and cost is a plain sum:
/// - `input_tokens`: prompt tokens billed at the full input price. For OpenAI this is
///   `prompt_tokens − cached_tokens` (OpenAI's `prompt_tokens` include the cached
///   ones); for Anthropic it is `input_tokens` as reported (already exclusive).
/// - `cache_read_tokens`: OpenAI `prompt_tokens_details.cached_tokens`, Anthropic
///   `cache_read_input_tokens`.
/// - `cache_write_tokens`: Anthropic `cache_creation_input_tokens` (OpenAI: 0).
/// - `output_tokens`: visible output. For OpenAI this is
///   `completion_tokens − reasoning_tokens`; for Anthropic `output_tokens`, which
///   includes thinking (Anthropic does not report thinking separately).
/// - `reasoning_tokens`: OpenAI `completion_tokens_details.reasoning_tokens`; billed at
///   the output price.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatResponse {
    /// `provider:model` as requested.
    pub model: String,
    /// Content in the order the model produced it: thinking (with signature),
    /// text, tool_use blocks (input parsed from the streamed JSON).
    pub content: Vec<ContentBlock>,
    pub usage: Usage,
    /// `None` only inside an error's partial response.
    pub stop_reason: Option<StopReason>,
    /// Response header `x-request-id` (OpenAI) / `request-id` (Anthropic), else the
    /// body id (`chatcmpl-…`, `msg_…`).
    pub request_id: Option<String>,
}

impl ChatResponse {
    pub fn empty(model: impl Into<String>) -> Self {
        ChatResponse {
            model: model.into(),
            content: Vec::new(),
            usage: Usage::default(),
            stop_reason: None,
            request_id: None,
        }
    }

    /// The concatenated text blocks.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for block in &self.content {
            if let ContentBlock::Text { text } = block {
                out.push_str(text);
            }
        }
        out
    }

    /// The tool calls the model asked for: `(id, name, input)`.
    pub fn tool_calls(&self) -> impl Iterator<Item = (&str, &str, &serde_json::Value)> {
        self.content.iter().filter_map(|b| match b {
            ContentBlock::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
    }

    pub fn has_content(&self) -> bool {
        !self.content.is_empty()
    }

    /// The assistant message to append to the session: content, usage, model and
    /// request id filled in; `cost_usd` is left to the caller (see [`crate::pricing`]).
    pub fn into_message(self) -> Message {
        let mut message = Message::new(Role::Assistant, self.content);
        message.usage = Some(self.usage);
        message.model = Some(self.model);
        message.request_id = self.request_id;
        message
    }
}
