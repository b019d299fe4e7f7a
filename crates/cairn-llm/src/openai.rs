//! OpenAI-compatible chat completions (`POST {base_url}/chat/completions`, SSE).
//!
//! Used for OpenAI itself and every compatible server: OpenRouter, Ollama,
//! llama.cpp, vLLM, LM Studio. Reasoning text is read from `delta.reasoning_content`
//! (vLLM, llama.cpp, DeepSeek) or `delta.reasoning` (OpenRouter, Ollama).

use cairn_core::{ContentBlock, Message, Role, Usage};
use reqwest::Client;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};

use crate::assemble::Turn;
use crate::client::{Endpoint, OPENAI_DEFAULT_BASE_URL};
use crate::http::{self, Call, StreamDecoder, StreamFault};
use crate::request::{image_base64, tool_result_text, video_refused};
use crate::sse::SseEvent;
use crate::{
    Capabilities, ChatProvider, ChatRequest, ChatStream, ClientOptions, ErrorKind, LlmError,
    ModelRef, ProviderKind, StopReason,
};

pub(crate) struct OpenAiProvider {
    kind: ProviderKind,
    http: Client,
    endpoint: Endpoint,
    options: ClientOptions,
}

impl OpenAiProvider {
    pub(crate) fn new(
        kind: ProviderKind,
        http: Client,
        endpoint: Endpoint,
        options: ClientOptions,
    ) -> Self {
        OpenAiProvider {
            kind,
            http,
            endpoint,
            options,
        }
    }
}

impl ChatProvider for OpenAiProvider {
    fn name(&self) -> &str {
        self.kind.as_str()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            images: true,
            video: false,
        }
    }

    fn stream(&self, model: &ModelRef, request: ChatRequest) -> ChatStream {
        let official = self.endpoint.base_url == OPENAI_DEFAULT_BASE_URL;
        // The request's messages go before its JSON is serialised: one copy of the
        // live context less at the peak.
        let body = request_body(self.name(), &model.model, &request, official).and_then(|value| {
            drop(request);
            http::json_body(self.name(), value)
        });
        let body = match body {
            Ok(body) => body,
            Err(error) => return ChatStream::failed(error),
        };
        let mut headers = HeaderMap::new();
        if let Some(key) = &self.endpoint.api_key {
            match HeaderValue::from_str(&format!("Bearer {key}")) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    headers.insert(AUTHORIZATION, value);
                }
                Err(_) => {
                    return ChatStream::failed(LlmError::new(
                        ErrorKind::NotConfigured,
                        self.name(),
                        format!(
                            "the API key for {} contains characters not allowed in an HTTP \
                             header; check {}",
                            self.name(),
                            self.endpoint.key_hint
                        ),
                    ));
                }
            }
        }
        http::start(
            self.http.clone(),
            Call {
                provider: self.name().to_owned(),
                model: model.to_string(),
                url: format!("{}/chat/completions", self.endpoint.base_url),
                headers,
                body,
                key_hint: self.endpoint.key_hint.clone(),
                secret: self.endpoint.api_key.clone(),
                request_id_header: "x-request-id",
                options: self.options.clone(),
                new_decoder: || Box::new(OpenAiDecoder::default()),
            },
        )
    }
}

/// The JSON body of a streamed chat completion.
pub(crate) fn request_body(
    provider: &str,
    model: &str,
    request: &ChatRequest,
    official_openai: bool,
) -> Result<Value, LlmError> {
    let mut messages = Vec::new();
    let mut system = request.system.clone().unwrap_or_default();
    for message in request.messages.iter().filter(|m| m.role == Role::System) {
        let text = message.plain_text();
        if !text.is_empty() {
            if !system.is_empty() {
                system.push_str("\n\n");
            }
            system.push_str(&text);
        }
    }
    if !system.is_empty() {
        messages.push(json!({"role": "system", "content": system}));
    }
    for message in request.messages.iter().filter(|m| m.role != Role::System) {
        convert_message(provider, message, request, &mut messages)?;
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    body.insert("stream".into(), json!(true));
    body.insert("stream_options".into(), json!({"include_usage": true}));
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.input_schema,
                }})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(max) = request.max_tokens {
        // OpenAI renamed the field (reasoning models refuse the old one); compatible
        // servers still read `max_tokens`.
        let field = if official_openai {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.insert(field.into(), json!(max));
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(effort) = request.reasoning.as_ref().and_then(|r| r.effort.as_ref()) {
        body.insert("reasoning_effort".into(), json!(effort));
    }
    Ok(Value::Object(body))
}

fn convert_message(
    provider: &str,
    message: &Message,
    request: &ChatRequest,
    out: &mut Vec<Value>,
) -> Result<(), LlmError> {
    match message.role {
        Role::Assistant => {
            let mut text = String::new();
            let mut tool_calls = Vec::new();
            for block in &message.content {
                match block {
                    ContentBlock::Text { text: t } => text.push_str(t),
                    ContentBlock::ToolUse { id, name, input } => {
                        // Arguments that were not valid JSON were kept as a string:
                        // send them back exactly as the model wrote them.
                        let arguments = match input {
                            Value::String(raw) => raw.clone(),
                            other => other.to_string(),
                        };
                        tool_calls.push(json!({"id": id, "type": "function",
                            "function": {"name": name, "arguments": arguments}}));
                    }
                    // Thinking cannot be sent back through chat completions.
                    _ => {}
                }
            }
            if text.is_empty() && tool_calls.is_empty() {
                return Ok(());
            }
            let mut m = Map::new();
            m.insert("role".into(), json!("assistant"));
            m.insert(
                "content".into(),
                if text.is_empty() {
                    Value::Null
                } else {
                    json!(text)
                },
            );
            if !tool_calls.is_empty() {
                m.insert("tool_calls".into(), Value::Array(tool_calls));
            }
            out.push(Value::Object(m));
        }
        Role::User | Role::Tool | Role::System => {
            // Tool results become `tool` messages (they must directly follow the
            // assistant message that asked); the rest is one user message.
            let mut parts = Vec::new();
            let mut result_images = Vec::new();
            for block in &message.content {
                match block {
                    ContentBlock::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                    } => {
                        let mut text = tool_result_text(content);
                        if *is_error {
                            text = format!("Error: {text}");
                        }
                        out.push(
                            json!({"role": "tool", "tool_call_id": tool_use_id, "content": text}),
                        );
                        if let cairn_core::event::ToolResultContent::Blocks(blocks) = content {
                            for b in blocks {
                                if let ContentBlock::Image(media) = b {
                                    result_images.push(image_part(provider, media, request)?);
                                }
                            }
                        }
                    }
                    ContentBlock::Text { text } if !text.is_empty() => {
                        parts.push(json!({"type": "text", "text": text}));
                    }
                    ContentBlock::Image(media) => parts.push(image_part(provider, media, request)?),
                    ContentBlock::Video(media) => return Err(video_refused(provider, media)),
                    _ => {}
                }
            }
            // Tool messages take text only: images a tool returned follow as user content.
            if !result_images.is_empty() {
                let mut content = vec![
                    json!({"type": "text", "text": "(images returned by the tool calls above)"}),
                ];
                content.extend(result_images);
                out.push(json!({"role": "user", "content": content}));
            }
            if parts.is_empty() {
                return Ok(());
            }
            let content = if parts.len() == 1 && parts[0]["type"] == "text" {
                parts[0]["text"].clone()
            } else {
                Value::Array(parts)
            };
            out.push(json!({"role": "user", "content": content}));
        }
    }
    Ok(())
}

fn image_part(
    provider: &str,
    media: &cairn_core::MediaBlock,
    request: &ChatRequest,
) -> Result<Value, LlmError> {
    let data = image_base64(provider, media, &request.media)?;
    Ok(
        json!({"type": "image_url", "image_url": {"url": format!("data:{};base64,{data}", media.mime)}}),
    )
}

#[derive(Default)]
struct OpenAiDecoder {
    done: bool,
}

impl StreamDecoder for OpenAiDecoder {
    fn on_event(&mut self, event: &SseEvent, turn: &mut Turn) -> Result<(), StreamFault> {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data).map_err(|e| {
            StreamFault::malformed(format!("a chunk is not JSON ({e}): {}", preview(data)))
        })?;
        if let Some(error) = chunk.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no details given");
            return Err(StreamFault {
                kind: ErrorKind::Server,
                message: format!("the provider reported an error mid-answer: {message}"),
            });
        }
        let Some(object) = chunk.as_object() else {
            return Err(StreamFault::malformed(format!(
                "a chunk is not a JSON object: {}",
                preview(data)
            )));
        };
        if let Some(id) = object.get("id").and_then(Value::as_str) {
            turn.set_request_id_if_absent(id);
        }
        if let Some(choices) = object.get("choices") {
            let Some(choices) = choices.as_array() else {
                return Err(StreamFault::malformed("\"choices\" is not an array"));
            };
            // cairn asks for one choice (n = 1): index 0.
            for choice in choices
                .iter()
                .filter(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
            {
                decode_choice(choice, turn)?;
            }
        }
        if let Some(usage) = object.get("usage").filter(|u| u.is_object()) {
            turn.set_usage(usage_from_openai(usage));
        }
        Ok(())
    }

    fn saw_end(&self) -> bool {
        self.done
    }
}

fn decode_choice(choice: &Value, turn: &mut Turn) -> Result<(), StreamFault> {
    if let Some(delta) = choice.get("delta").filter(|d| !d.is_null()) {
        let text = |key: &str| delta.get(key).and_then(Value::as_str);
        if let Some(thinking) = text("reasoning_content").or_else(|| text("reasoning")) {
            turn.thinking(thinking);
        }
        if let Some(content) = text("content") {
            turn.text(content);
        }
        if let Some(calls) = delta.get("tool_calls").filter(|c| !c.is_null()) {
            let Some(calls) = calls.as_array() else {
                return Err(StreamFault::malformed("\"tool_calls\" is not an array"));
            };
            for (position, call) in calls.iter().enumerate() {
                let key = call
                    .get("index")
                    .and_then(Value::as_u64)
                    .unwrap_or(position as u64);
                let function = call.get("function");
                let name = function.and_then(|f| f.get("name")).and_then(Value::as_str);
                let id = call.get("id").and_then(Value::as_str);
                turn.tool_start(key, id, name);
                match function.and_then(|f| f.get("arguments")) {
                    Some(Value::String(fragment)) => turn.tool_arguments(key, fragment),
                    // Some servers send arguments as an object rather than a string.
                    Some(object @ Value::Object(_)) => {
                        turn.tool_arguments(key, &object.to_string())
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
        turn.finish_all_tools();
        turn.set_stop_reason(StopReason::from_openai(reason));
    }
    Ok(())
}

/// Map OpenAI usage into cairn's non-overlapping counters (see [`crate::ChatResponse`]).
pub(crate) fn usage_from_openai(usage: &Value) -> Usage {
    let n = |v: Option<&Value>| v.and_then(Value::as_u64).unwrap_or(0);
    let prompt = n(usage.get("prompt_tokens"));
    let completion = n(usage.get("completion_tokens"));
    let cached = n(usage.pointer("/prompt_tokens_details/cached_tokens"));
    let reasoning = n(usage.pointer("/completion_tokens_details/reasoning_tokens"));
    Usage {
        input_tokens: prompt.saturating_sub(cached),
        output_tokens: completion.saturating_sub(reasoning),
        cache_read_tokens: cached.min(prompt),
        cache_write_tokens: 0,
        reasoning_tokens: reasoning.min(completion),
    }
}

fn preview(data: &str) -> String {
    let mut p: String = data.chars().take(120).collect();
    if p.len() < data.len() {
        p.push('…');
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::event::ToolResultContent;

    #[test]
    fn usage_splits_cached_and_reasoning() {
        let usage = usage_from_openai(&json!({
            "prompt_tokens": 1000, "completion_tokens": 300, "total_tokens": 1300,
            "prompt_tokens_details": {"cached_tokens": 800},
            "completion_tokens_details": {"reasoning_tokens": 100}
        }));
        assert_eq!(usage.input_tokens, 200);
        assert_eq!(usage.cache_read_tokens, 800);
        assert_eq!(usage.output_tokens, 200);
        assert_eq!(usage.reasoning_tokens, 100);
    }

    #[test]
    fn history_converts_to_chat_messages() {
        let mut request = ChatRequest::new("openai:gpt-4.1").with_system("be brief");
        request.messages = vec![
            Message::text(Role::User, "read a"),
            Message::new(
                Role::Assistant,
                vec![
                    ContentBlock::Thinking {
                        text: "hm".into(),
                        signature: Some("s".into()),
                    },
                    ContentBlock::text("ok"),
                    ContentBlock::ToolUse {
                        id: "c1".into(),
                        name: "read_file".into(),
                        input: json!({"path": "a"}),
                    },
                ],
            ),
            Message::new(
                Role::Tool,
                vec![ContentBlock::ToolResult {
                    tool_use_id: "c1".into(),
                    content: ToolResultContent::Text("no such file".into()),
                    is_error: true,
                }],
            ),
        ];
        let body = request_body("openai", "gpt-4.1", &request, true).unwrap();
        assert_eq!(
            body["messages"],
            json!([
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "read a"},
                {"role": "assistant", "content": "ok", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"a\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "Error: no such file"}
            ])
        );
        assert_eq!(body["stream_options"], json!({"include_usage": true}));
    }

    #[test]
    fn video_is_refused_and_missing_image_bytes_named() {
        let media = cairn_core::MediaBlock {
            sha256: "ab12".into(),
            mime: "video/mp4".into(),
            data_base64: None,
        };
        let mut request = ChatRequest::new("openai:gpt-4.1");
        request.messages = vec![Message::new(Role::User, vec![ContentBlock::Video(media)])];
        let err = request_body("openai", "gpt-4.1", &request, true).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unsupported);
        let media = cairn_core::MediaBlock {
            sha256: "cd34".into(),
            mime: "image/png".into(),
            data_base64: None,
        };
        request.messages = vec![Message::new(Role::User, vec![ContentBlock::Image(media)])];
        let err = request_body("openai", "gpt-4.1", &request, true).unwrap_err();
        assert!(err.to_string().contains("cd34"), "{err}");
        let request = request.with_media("cd34", vec![1, 2, 3]);
        let body = request_body("openai", "gpt-4.1", &request, true).unwrap();
        assert_eq!(
            body["messages"][0]["content"][0]["image_url"]["url"],
            "data:image/png;base64,AQID"
        );
    }
}

#[cfg(test)]
mod decoder_tests {
    use super::*;

    fn decode(lines: &[&str]) -> crate::ChatResponse {
        let mut decoder = OpenAiDecoder::default();
        let mut turn = Turn::new("ollama:qwen");
        for data in lines {
            let event = SseEvent {
                event: None,
                data: (*data).to_owned(),
                id: None,
            };
            decoder.on_event(&event, &mut turn).unwrap();
        }
        turn.finish_all_tools();
        turn.into_response()
    }

    #[test]
    fn whole_tool_calls_without_index_and_reasoning_field() {
        // Ollama-style: the tool call arrives whole, without `index`; reasoning in
        // `delta.reasoning`; no usage chunk.
        let response = decode(&[
            r#"{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","reasoning":"think"}}]}"#,
            r#"{"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_x","function":{"name":"f","arguments":"{\"a\":1}"}}]}}]}"#,
            r#"{"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ]);
        assert_eq!(
            response.content,
            vec![
                ContentBlock::Thinking {
                    text: "think".into(),
                    signature: None
                },
                ContentBlock::ToolUse {
                    id: "call_x".into(),
                    name: "f".into(),
                    input: json!({"a": 1})
                },
            ]
        );
        assert_eq!(response.stop_reason, Some(StopReason::ToolUse));
        assert_eq!(response.request_id.as_deref(), Some("chatcmpl-1"));
    }

    #[test]
    fn an_error_chunk_mid_stream_is_reported() {
        let mut decoder = OpenAiDecoder::default();
        let mut turn = Turn::new("openrouter:x");
        let event = SseEvent {
            event: None,
            data: r#"{"error":{"message":"upstream overloaded","code":502}}"#.into(),
            id: None,
        };
        let fault = decoder.on_event(&event, &mut turn).unwrap_err();
        assert_eq!(fault.kind, ErrorKind::Server);
        assert!(fault.message.contains("upstream overloaded"));
    }
}
