//! Anthropic Messages (`POST {base_url}/v1/messages`, SSE).

use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, Message, Role};
use reqwest::Client;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};

use crate::assemble::Turn;
use crate::client::Endpoint;
use crate::http::{self, Call, StreamDecoder, StreamFault};
use crate::request::{image_base64, tool_result_text, video_refused};
use crate::sse::SseEvent;
use crate::{
    Capabilities, ChatProvider, ChatRequest, ChatStream, ClientOptions, ErrorKind, LlmError,
    ModelRef, StopReason,
};

pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; this is used when the request sets none.
pub(crate) const DEFAULT_MAX_TOKENS: u32 = 8192;

pub(crate) struct AnthropicProvider {
    http: Client,
    endpoint: Endpoint,
    options: ClientOptions,
}

impl AnthropicProvider {
    pub(crate) fn new(http: Client, endpoint: Endpoint, options: ClientOptions) -> Self {
        AnthropicProvider {
            http,
            endpoint,
            options,
        }
    }
}

impl ChatProvider for AnthropicProvider {
    fn name(&self) -> &str {
        "anthropic"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            images: true,
            video: false,
        }
    }

    fn stream(&self, model: &ModelRef, request: ChatRequest) -> ChatStream {
        let body = request_body(&model.model, &request).and_then(|value| {
            drop(request);
            http::json_body(self.name(), value)
        });
        let body = match body {
            Ok(body) => body,
            Err(error) => return ChatStream::failed(error),
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            "anthropic-version",
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        if let Some(key) = &self.endpoint.api_key {
            match HeaderValue::from_str(key) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    headers.insert("x-api-key", value);
                }
                Err(_) => {
                    return ChatStream::failed(LlmError::new(
                        ErrorKind::NotConfigured,
                        "anthropic",
                        format!(
                            "the API key for anthropic contains characters not allowed in \
                             an HTTP header; check {}",
                            self.endpoint.key_hint
                        ),
                    ));
                }
            }
        }
        http::start(
            self.http.clone(),
            Call {
                provider: "anthropic".to_owned(),
                model: model.to_string(),
                url: format!("{}/v1/messages", self.endpoint.base_url),
                headers,
                body,
                key_hint: self.endpoint.key_hint.clone(),
                secret: self.endpoint.api_key.clone(),
                request_id_header: "request-id",
                options: self.options.clone(),
                new_decoder: || Box::new(AnthropicDecoder::default()),
            },
        )
    }
}

fn ephemeral() -> Value {
    json!({"type": "ephemeral"})
}

/// The JSON body of a streamed Messages request.
pub(crate) fn request_body(model: &str, request: &ChatRequest) -> Result<Value, LlmError> {
    let mut system_parts: Vec<String> = request.system.iter().cloned().collect();
    let mut messages: Vec<(Role, Vec<Value>)> = Vec::new();
    for message in &request.messages {
        if message.role == Role::System {
            let text = message.plain_text();
            if !text.is_empty() {
                system_parts.push(text);
            }
            continue;
        }
        let role = if message.role == Role::Assistant {
            Role::Assistant
        } else {
            Role::User
        };
        let blocks = convert_blocks(message, request)?;
        if blocks.is_empty() {
            continue;
        }
        // Consecutive turns of one role are merged: tool results (role `tool`) and a
        // following user message form one user turn, results first, as required.
        match messages.last_mut() {
            Some((last_role, content)) if *last_role == role => content.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    }
    let mut messages: Vec<Value> = messages
        .into_iter()
        .map(|(role, content)| {
            json!({"role": if role == Role::Assistant { "assistant" } else { "user" }, "content": content})
        })
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    let budget = request
        .reasoning
        .as_ref()
        .map(|r| r.budget_tokens.max(1024));
    let max_tokens = request
        .max_tokens
        .unwrap_or(DEFAULT_MAX_TOKENS + budget.unwrap_or(0));
    body.insert("max_tokens".into(), json!(max_tokens));
    let system = system_parts.join("\n\n");
    if !system.is_empty() {
        let mut block = json!({"type": "text", "text": system});
        if request.prompt_cache {
            block["cache_control"] = ephemeral();
        }
        body.insert("system".into(), json!([block]));
    }
    // Cache breakpoints (at most 4 allowed): system, tools, the last message. The
    // prefix up to each is reused by the next request of the session.
    if request.prompt_cache
        && let Some(last) = messages
            .last_mut()
            .and_then(|m| m["content"].as_array_mut())
            .and_then(|c| c.last_mut())
            .and_then(Value::as_object_mut)
    {
        let cacheable = !matches!(
            last.get("type").and_then(Value::as_str),
            Some("thinking" | "redacted_thinking")
        );
        if cacheable {
            last.insert("cache_control".into(), ephemeral());
        }
    }
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        let mut tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.input_schema}))
            .collect();
        if request.prompt_cache
            && let Some(last) = tools.last_mut()
        {
            last["cache_control"] = ephemeral();
        }
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(budget) = budget {
        body.insert(
            "thinking".into(),
            json!({"type": "enabled", "budget_tokens": budget}),
        );
    } else if let Some(t) = request.temperature {
        // Anthropic refuses a temperature together with extended thinking.
        body.insert("temperature".into(), json!(t));
    }
    body.insert("stream".into(), json!(true));
    Ok(Value::Object(body))
}

fn convert_blocks(message: &Message, request: &ChatRequest) -> Result<Vec<Value>, LlmError> {
    let mut out = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text { text } if text.is_empty() => {}
            ContentBlock::Text { text } => out.push(json!({"type": "text", "text": text})),
            // Thinking is only accepted back with the signature Anthropic gave it;
            // unsigned thinking, or thinking signed by another provider (Gemini), is
            // dropped.
            ContentBlock::Thinking {
                text,
                signature: Some(signature),
            } if message.role == Role::Assistant
                && message
                    .model
                    .as_deref()
                    .is_none_or(|m| m.starts_with("anthropic:")) =>
            {
                out.push(json!({"type": "thinking", "thinking": text, "signature": signature}))
            }
            ContentBlock::Thinking { .. } => {}
            ContentBlock::ToolUse { id, name, input } => {
                let input = match input {
                    Value::Object(_) => input.clone(),
                    // Arguments the model wrote as invalid JSON (kept as a string).
                    other => json!({"raw_arguments": other}),
                };
                out.push(json!({"type": "tool_use", "id": id, "name": name, "input": input}));
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                let content = match content {
                    ToolResultContent::Text(text) => json!(text),
                    ToolResultContent::Blocks(blocks) => {
                        let mut parts = Vec::new();
                        for b in blocks {
                            match b {
                                ContentBlock::Text { text } if !text.is_empty() => {
                                    parts.push(json!({"type": "text", "text": text}))
                                }
                                ContentBlock::Image(media) => parts.push(image(media, request)?),
                                _ => {}
                            }
                        }
                        if parts.is_empty() {
                            json!(tool_result_text(content))
                        } else {
                            Value::Array(parts)
                        }
                    }
                };
                let mut result =
                    json!({"type": "tool_result", "tool_use_id": tool_use_id, "content": content});
                if *is_error {
                    result["is_error"] = json!(true);
                }
                out.push(result);
            }
            ContentBlock::Image(media) => out.push(image(media, request)?),
            ContentBlock::Video(media) => return Err(video_refused("anthropic", media)),
            // Blocks Anthropic gave us verbatim (redacted thinking) go back verbatim.
            ContentBlock::Other(map)
                if message.role == Role::Assistant
                    && map.get("type").and_then(Value::as_str) == Some("redacted_thinking") =>
            {
                out.push(Value::Object(map.clone()))
            }
            ContentBlock::Other(_) => {}
        }
    }
    // Tool results must open a user turn.
    out.sort_by_key(|b| b.get("type").and_then(Value::as_str) != Some("tool_result"));
    Ok(out)
}

fn image(media: &cairn_core::MediaBlock, request: &ChatRequest) -> Result<Value, LlmError> {
    let data = image_base64("anthropic", media, &request.media)?;
    Ok(
        json!({"type": "image", "source": {"type": "base64", "media_type": media.mime, "data": data}}),
    )
}

#[derive(Default)]
struct AnthropicDecoder {
    done: bool,
    started: bool,
}

impl StreamDecoder for AnthropicDecoder {
    fn on_event(&mut self, event: &SseEvent, turn: &mut Turn) -> Result<(), StreamFault> {
        let payload: Value = serde_json::from_str(&event.data).map_err(|e| {
            StreamFault::malformed(format!(
                "event {:?} is not JSON ({e}): {}",
                event.event.as_deref().unwrap_or("message"),
                event.data.chars().take(120).collect::<String>()
            ))
        })?;
        let kind = payload
            .get("type")
            .and_then(Value::as_str)
            .or(event.event.as_deref())
            .unwrap_or("");
        let index = payload.get("index").and_then(Value::as_u64);
        match kind {
            "message_start" => {
                self.started = true;
                let message = payload.get("message").unwrap_or(&Value::Null);
                if let Some(id) = message.get("id").and_then(Value::as_str) {
                    turn.set_request_id_if_absent(id);
                }
                if let Some(usage) = message.get("usage") {
                    apply_usage(turn, usage);
                }
            }
            "content_block_start" => {
                let index = index
                    .ok_or_else(|| StreamFault::malformed("content_block_start has no index"))?;
                let block = payload
                    .get("content_block")
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        StreamFault::malformed("content_block_start has no content_block")
                    })?;
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        turn.start_text_block();
                        if let Some(text) = block.get("text").and_then(Value::as_str) {
                            turn.text(text);
                        }
                    }
                    Some("thinking") => {
                        turn.start_thinking_block();
                        if let Some(text) = block.get("thinking").and_then(Value::as_str) {
                            turn.thinking(text);
                        }
                    }
                    Some("tool_use") => {
                        let id = block.get("id").and_then(Value::as_str);
                        let name = block.get("name").and_then(Value::as_str);
                        turn.tool_start(index, id, name);
                        // `input` at start is `{}`; the real input streams as JSON
                        // fragments. A non-empty one (non-streaming servers) is kept.
                        if let Some(input) = block
                            .get("input")
                            .filter(|i| i.as_object().is_some_and(|o| !o.is_empty()))
                        {
                            turn.tool_arguments(index, &input.to_string());
                        }
                    }
                    Some("redacted_thinking") => turn.opaque_block(block.clone()),
                    _ => {}
                }
            }
            "content_block_delta" => {
                let index = index
                    .ok_or_else(|| StreamFault::malformed("content_block_delta has no index"))?;
                let delta = payload
                    .get("delta")
                    .ok_or_else(|| StreamFault::malformed("content_block_delta has no delta"))?;
                let text = |key: &str| delta.get(key).and_then(Value::as_str).unwrap_or("");
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => turn.text(text("text")),
                    Some("thinking_delta") => turn.thinking(text("thinking")),
                    Some("signature_delta") => turn.thinking_signature(text("signature")),
                    Some("input_json_delta") => turn.tool_arguments(index, text("partial_json")),
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(index) = index {
                    turn.tool_finish(index);
                }
            }
            "message_delta" => {
                if let Some(reason) = payload
                    .pointer("/delta/stop_reason")
                    .and_then(Value::as_str)
                {
                    turn.set_stop_reason(StopReason::from_anthropic(reason));
                }
                if let Some(usage) = payload.get("usage") {
                    apply_usage(turn, usage);
                }
            }
            "message_stop" => self.done = true,
            "ping" => {}
            "error" => {
                let error = payload.get("error").unwrap_or(&Value::Null);
                let kind = match error.get("type").and_then(Value::as_str) {
                    Some("overloaded_error" | "api_error") => ErrorKind::Server,
                    Some("rate_limit_error") => ErrorKind::RateLimit,
                    Some("authentication_error" | "permission_error") => ErrorKind::Auth,
                    _ => ErrorKind::BadRequest,
                };
                let message = error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no details given");
                return Err(StreamFault {
                    kind,
                    message: format!("anthropic reported an error mid-answer: {message}"),
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn saw_end(&self) -> bool {
        self.done
    }
}

/// Anthropic's counters are already exclusive: `input_tokens` excludes cache reads
/// and writes. `message_delta` repeats them cumulatively, so later values replace.
fn apply_usage(turn: &mut Turn, usage: &Value) {
    let usage_slot = turn.usage_mut();
    let set = |key: &str, slot: &mut u64| {
        if let Some(n) = usage.get(key).and_then(Value::as_u64) {
            *slot = n;
        }
    };
    set("input_tokens", &mut usage_slot.input_tokens);
    set("output_tokens", &mut usage_slot.output_tokens);
    set("cache_read_input_tokens", &mut usage_slot.cache_read_tokens);
    set(
        "cache_creation_input_tokens",
        &mut usage_slot.cache_write_tokens,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_signed_by_another_provider_is_not_sent() {
        let mut gemini = Message::new(
            Role::Assistant,
            vec![
                ContentBlock::Thinking {
                    text: "plan".into(),
                    signature: Some("gemini-signature".into()),
                },
                ContentBlock::text("done"),
            ],
        );
        gemini.model = Some("gemini:gemini-2.5-pro".into());
        let mut own = gemini.clone();
        own.model = Some("anthropic:claude-sonnet-4-5".into());
        let request = ChatRequest::new("anthropic:claude-sonnet-4-5").with_messages(vec![
            gemini,
            Message::text(Role::User, "next"),
            own,
        ]);
        let body = request_body("claude-sonnet-4-5", &request).unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages[0]["content"][0]["type"], "text");
        assert_eq!(messages[2]["content"][0]["type"], "thinking");
    }

    #[test]
    fn history_converts_to_messages_with_cache_breakpoints() {
        let mut request = ChatRequest::new("anthropic:claude-sonnet-4-5").with_system("sys");
        request.tools = vec![crate::ToolDef::new(
            "read_file",
            "Read",
            json!({"type": "object"}),
        )];
        request.messages = vec![
            Message::text(Role::System, "more sys"),
            Message::text(Role::User, "read a"),
            Message::new(
                Role::Assistant,
                vec![
                    ContentBlock::Thinking {
                        text: "plan".into(),
                        signature: Some("sig".into()),
                    },
                    ContentBlock::Thinking {
                        text: "foreign".into(),
                        signature: None,
                    },
                    ContentBlock::ToolUse {
                        id: "t1".into(),
                        name: "read_file".into(),
                        input: json!({"path": "a"}),
                    },
                ],
            ),
            Message::new(
                Role::Tool,
                vec![ContentBlock::ToolResult {
                    tool_use_id: "t1".into(),
                    content: ToolResultContent::Text("A".into()),
                    is_error: false,
                }],
            ),
            Message::text(Role::User, "and?"),
        ];
        let body = request_body("claude-sonnet-4-5", &request).unwrap();
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "sys\n\nmore sys", "cache_control": {"type": "ephemeral"}}])
        );
        assert_eq!(body["max_tokens"], json!(DEFAULT_MAX_TOKENS));
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "read a"}]},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "plan", "signature": "sig"},
                    {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "a"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "A"},
                    {"type": "text", "text": "and?", "cache_control": {"type": "ephemeral"}}
                ]}
            ])
        );
        assert_eq!(
            body["tools"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
    }
}
