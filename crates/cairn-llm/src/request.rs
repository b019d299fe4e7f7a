//! What is sent for one model turn.

use std::collections::BTreeMap;

use cairn_core::Message;
use serde_json::Value;

/// A tool the model may call: name, description and a JSON Schema for its input.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    /// JSON Schema of the input object (`{"type":"object","properties":{…}}`).
    pub input_schema: Value,
}

impl ToolDef {
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
    ) -> Self {
        ToolDef {
            name: name.into(),
            description: description.into(),
            input_schema,
        }
    }
}

/// Extended thinking / reasoning, when the model supports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reasoning {
    /// Anthropic: `thinking.budget_tokens` (at least 1024). OpenAI-compatible servers
    /// ignore it.
    pub budget_tokens: u32,
    /// OpenAI `reasoning_effort` (`low` | `medium` | `high`); Anthropic ignores it.
    pub effort: Option<String>,
}

/// One request to a model: the whole live context plus the tools on offer.
///
/// `messages` are cairn's own domain messages, in order. Roles map as follows:
/// `system` messages are joined (after [`ChatRequest::system`]) into the system prompt;
/// `user`, `assistant` go as such; `tool` messages carry `tool_result` blocks and go
/// as OpenAI `tool` messages / Anthropic user `tool_result` blocks / Gemini
/// `functionResponse` parts. `thinking` blocks go back to the provider that signed them
/// (Anthropic, Gemini) and are dropped otherwise. Images are sent inline as base64: the
/// bytes come from the block's `data_base64` or, failing that, from
/// [`ChatRequest::media`] keyed by the block's sha256. Videos go only to Gemini (inline,
/// or through its Files API when large); the other wire formats refuse them with
/// [`crate::ErrorKind::Unsupported`].
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    /// `provider:model`, e.g. `openai:gpt-4.1`.
    pub model: String,
    /// The system prompt (optional).
    pub system: Option<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDef>,
    /// Output limit. Anthropic requires one: default 8192 (plus the thinking budget).
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub reasoning: Option<Reasoning>,
    /// Ask the provider to cache the prompt prefix (Anthropic `cache_control`
    /// breakpoints on the system prompt, the tools and the last message; OpenAI caches
    /// on its own). On by default: resumed sessions resend long histories.
    pub prompt_cache: bool,
    /// Attachment bytes by sha256, for media blocks that carry no `data_base64`.
    pub media: BTreeMap<String, Vec<u8>>,
}

impl ChatRequest {
    pub fn new(model: impl Into<String>) -> Self {
        ChatRequest {
            model: model.into(),
            system: None,
            messages: Vec::new(),
            tools: Vec::new(),
            max_tokens: None,
            temperature: None,
            reasoning: None,
            prompt_cache: true,
            media: BTreeMap::new(),
        }
    }

    pub fn with_system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    pub fn with_messages(mut self, messages: Vec<Message>) -> Self {
        self.messages = messages;
        self
    }

    pub fn with_tools(mut self, tools: Vec<ToolDef>) -> Self {
        self.tools = tools;
        self
    }

    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Provide the bytes of an attachment referenced by sha256 in a media block.
    pub fn with_media(mut self, sha256: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.media.insert(sha256.into(), bytes);
        self
    }
}

/// The base64 bytes of an image block: its own `data_base64`, else the bytes the
/// caller put in [`ChatRequest::media`]. The error names the attachment.
pub(crate) fn image_base64(
    provider: &str,
    media: &cairn_core::MediaBlock,
    supplied: &BTreeMap<String, Vec<u8>>,
) -> Result<String, crate::LlmError> {
    use base64::Engine as _;
    if let Some(data) = &media.data_base64 {
        return Ok(data.clone());
    }
    match supplied.get(&media.sha256) {
        Some(bytes) => Ok(base64::engine::general_purpose::STANDARD.encode(bytes)),
        None => Err(crate::LlmError::new(
            crate::ErrorKind::BadRequest,
            provider,
            format!(
                "image {} ({}) is in the conversation but its bytes were not supplied",
                media.sha256, media.mime
            ),
        )),
    }
}

/// Refusal for video blocks: the OpenAI and Anthropic wire formats take no video.
pub(crate) fn video_refused(provider: &str, media: &cairn_core::MediaBlock) -> crate::LlmError {
    crate::LlmError::new(
        crate::ErrorKind::Unsupported,
        provider,
        format!(
            "{provider} models do not accept video; remove the video {} ({}) from the \
             message or switch to a provider that takes video",
            media.sha256, media.mime
        ),
    )
}

/// Text of a tool result as sent to a model; errors are marked so the model knows.
pub(crate) fn tool_result_text(content: &cairn_core::event::ToolResultContent) -> String {
    use cairn_core::event::ToolResultContent;
    match content {
        ToolResultContent::Text(text) => text.clone(),
        ToolResultContent::Blocks(blocks) => blocks
            .iter()
            .filter_map(|b| match b {
                cairn_core::ContentBlock::Text { text } => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}
