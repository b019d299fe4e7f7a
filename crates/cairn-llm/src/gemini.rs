//! Google's Gemini API (`POST {base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse`).
//!
//! The key goes in the `x-goog-api-key` header, never in the URL. Field names follow
//! the REST reference (ai.google.dev/api/generate-content) and the `google-genai`
//! SDKs: `contents[].parts[]` with `text`, `thought`, `thoughtSignature`,
//! `inlineData`, `fileData`, `functionCall`, `functionResponse`; answers stream as
//! `GenerateContentResponse` chunks (`candidates[0].content.parts`, `finishReason`,
//! `usageMetadata`, `promptFeedback`). Images and videos too large to go inline are
//! uploaded through the Files API first (`gemini_files.rs`).

use std::collections::{BTreeMap, HashMap};

use cairn_core::event::ToolResultContent;
use cairn_core::{ContentBlock, MediaBlock, Message, Role, Usage};
use reqwest::Client;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};

use crate::assemble::Turn;
use crate::client::Endpoint;
use crate::gemini_files::{self, UploadCache};
use crate::gemini_schema;
use crate::http::{self, Call, StreamDecoder, StreamFault};
use crate::request::{image_base64, tool_result_text};
use crate::sse::SseEvent;
use crate::{
    Capabilities, ChatProvider, ChatRequest, ChatStream, ClientOptions, ErrorKind, LlmError,
    ModelRef, StopReason,
};

/// Ids cairn gives function calls Gemini sent without one; they are not sent back.
const LOCAL_CALL_ID: &str = "gemini-call-";

pub(crate) struct GeminiProvider {
    http: Client,
    endpoint: Endpoint,
    options: ClientOptions,
    uploads: UploadCache,
}

impl GeminiProvider {
    pub(crate) fn new(
        http: Client,
        endpoint: Endpoint,
        options: ClientOptions,
        uploads: UploadCache,
    ) -> Self {
        GeminiProvider {
            http,
            endpoint,
            options,
            uploads,
        }
    }

    /// The `x-goog-api-key` header (marked sensitive so it never reaches a log).
    pub(crate) fn key_headers(endpoint: &Endpoint) -> Result<HeaderMap, LlmError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &endpoint.api_key {
            let mut value = HeaderValue::from_str(key).map_err(|_| {
                LlmError::new(
                    ErrorKind::NotConfigured,
                    "gemini",
                    format!(
                        "the API key for gemini contains characters not allowed in an HTTP \
                         header; check {}",
                        endpoint.key_hint
                    ),
                )
            })?;
            value.set_sensitive(true);
            headers.insert("x-goog-api-key", value);
        }
        Ok(headers)
    }
}

impl ChatProvider for GeminiProvider {
    fn name(&self) -> &str {
        "gemini"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            images: true,
            video: true,
        }
    }

    fn stream(&self, model: &ModelRef, request: ChatRequest) -> ChatStream {
        let headers = match GeminiProvider::key_headers(&self.endpoint) {
            Ok(headers) => headers,
            Err(error) => return ChatStream::failed(error),
        };
        let http = self.http.clone();
        let endpoint = self.endpoint.clone();
        let options = self.options.clone();
        let uploads = self.uploads.clone();
        let model = model.clone();
        // Large media are uploaded before the turn is sent; the stream starts after.
        let prepared = async move {
            let files = match gemini_files::place_media(
                &http, &endpoint, &options, &uploads, &model, &request,
            )
            .await
            {
                Ok(files) => files,
                Err(error) => return ChatStream::failed(error),
            };
            let body = request_body(&model.model, &request, &files).and_then(|value| {
                drop(request);
                http::json_body("gemini", value)
            });
            let body = match body {
                Ok(body) => body,
                Err(error) => return ChatStream::failed(error),
            };
            http::start(
                http,
                Call {
                    provider: "gemini".to_owned(),
                    model: model.to_string(),
                    url: format!(
                        "{}/v1beta/models/{}:streamGenerateContent?alt=sse",
                        endpoint.base_url, model.model
                    ),
                    headers,
                    body,
                    key_hint: endpoint.key_hint.clone(),
                    secret: endpoint.api_key.clone(),
                    request_id_header: "x-goog-request-id",
                    options,
                    new_decoder: decoder,
                },
            )
        };
        ChatStream::new(futures::StreamExt::flatten(futures::stream::once(prepared)))
    }
}

/// Whether the model thinks and can be asked to show its thoughts (2.5 and later;
/// 2.0 and 1.5 refuse `thinkingConfig`).
fn thinks(model: &str) -> bool {
    let bare = model.strip_prefix("models/").unwrap_or(model);
    let Some(version) = bare.strip_prefix("gemini-") else {
        return false;
    };
    // `gemini-pro-latest`, `gemini-flash-latest`: aliases of current (thinking) models.
    if version.ends_with("-latest") && !version.starts_with(|c: char| c.is_ascii_digit()) {
        return true;
    }
    let major: String = version.chars().take_while(|c| c.is_ascii_digit()).collect();
    match major.parse::<u32>() {
        Ok(2) => version.starts_with("2.5"),
        Ok(n) => n >= 3,
        Err(_) => false,
    }
}

/// The JSON body of a `streamGenerateContent` request. `files` maps the sha256 of
/// media uploaded through the Files API to their `fileUri`; other media go inline.
pub(crate) fn request_body(
    model: &str,
    request: &ChatRequest,
    files: &BTreeMap<String, String>,
) -> Result<Value, LlmError> {
    let mut system_parts: Vec<String> = request.system.iter().cloned().collect();
    let mut contents: Vec<(&'static str, Vec<Value>)> = Vec::new();
    // Gemini matches a functionResponse to its call by name: remember each call's.
    let mut call_names: HashMap<&str, &str> = HashMap::new();
    for message in &request.messages {
        if message.role == Role::System {
            let text = message.plain_text();
            if !text.is_empty() {
                system_parts.push(text);
            }
            continue;
        }
        let role = if message.role == Role::Assistant {
            "model"
        } else {
            "user"
        };
        let parts = if role == "model" {
            model_parts(message, &mut call_names)
        } else {
            user_parts(message, request, files, &call_names)?
        };
        if parts.is_empty() {
            continue;
        }
        // Consecutive turns of one role (tool results then a user message) are one.
        match contents.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(parts),
            _ => contents.push((role, parts)),
        }
    }
    let contents: Vec<Value> = contents
        .into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect();
    let mut body = Map::new();
    body.insert("contents".into(), Value::Array(contents));
    let system = system_parts.join("\n\n");
    if !system.is_empty() {
        body.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system}]}),
        );
    }
    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
            .map(|t| {
                let mut d = json!({"name": t.name, "description": t.description});
                if let Some(parameters) = gemini_schema::parameters(&t.input_schema) {
                    d["parameters"] = parameters;
                }
                d
            })
            .collect();
        body.insert(
            "tools".into(),
            json!([{"functionDeclarations": declarations}]),
        );
    }
    let mut config = Map::new();
    if let Some(max) = request.max_tokens {
        config.insert("maxOutputTokens".into(), json!(max));
    }
    if let Some(t) = request.temperature {
        config.insert("temperature".into(), json!(t));
    }
    if thinks(model) {
        let mut thinking = json!({"includeThoughts": true});
        if let Some(reasoning) = &request.reasoning {
            thinking["thinkingBudget"] = json!(reasoning.budget_tokens);
        }
        config.insert("thinkingConfig".into(), thinking);
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    Ok(Value::Object(body))
}

/// An assistant message as `model` parts. Thoughts and their signatures go back
/// only to Gemini models (another provider's signature would be refused); a
/// signature recorded on its own belongs to the part after it (or to an empty
/// text part at the end, as Gemini sent it).
fn model_parts<'m>(message: &'m Message, call_names: &mut HashMap<&'m str, &'m str>) -> Vec<Value> {
    let from_gemini = message
        .model
        .as_deref()
        .is_some_and(|m| m.starts_with("gemini:"));
    let mut parts = Vec::new();
    let mut signature: Option<&str> = None;
    let mut push = |mut part: Value, signature: &mut Option<&str>| {
        if let Some(sig) = signature.take() {
            part["thoughtSignature"] = json!(sig);
        }
        parts.push(part);
    };
    for block in &message.content {
        match block {
            ContentBlock::Thinking { text, signature: s } if from_gemini => {
                if text.is_empty() {
                    signature = s.as_deref();
                } else {
                    let mut part = json!({"text": text, "thought": true});
                    if let Some(s) = s {
                        part["thoughtSignature"] = json!(s);
                    }
                    push(part, &mut None);
                }
            }
            ContentBlock::Text { text } if !text.is_empty() => {
                push(json!({"text": text}), &mut signature)
            }
            ContentBlock::ToolUse { id, name, input } => {
                call_names.insert(id.as_str(), name.as_str());
                let args = match input {
                    Value::Object(_) => input.clone(),
                    Value::String(raw) => serde_json::from_str::<Value>(raw)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({"raw_arguments": raw})),
                    other => json!({"raw_arguments": other}),
                };
                let mut call = json!({"name": name, "args": args});
                if !id.starts_with(LOCAL_CALL_ID) {
                    call["id"] = json!(id);
                }
                push(json!({"functionCall": call}), &mut signature);
            }
            _ => {}
        }
    }
    // Gemini may sign the end of an answer on an empty text part; it goes back so.
    if let Some(sig) = signature {
        parts.push(json!({"text": "", "thoughtSignature": sig}));
    }
    parts
}

/// A user or tool message as `user` parts.
fn user_parts(
    message: &Message,
    request: &ChatRequest,
    files: &BTreeMap<String, String>,
    call_names: &HashMap<&str, &str>,
) -> Result<Vec<Value>, LlmError> {
    let mut parts = Vec::new();
    let mut trailing = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::Text { text } if !text.is_empty() => parts.push(json!({"text": text})),
            ContentBlock::Image(media) | ContentBlock::Video(media) => {
                parts.push(media_part(media, request, files)?)
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                let text = tool_result_text(content);
                let Some(name) = call_names.get(tool_use_id.as_str()) else {
                    // The call is no longer in the context: say what this was.
                    parts.push(json!({"text": format!(
                        "Result of tool call {tool_use_id}{}: {text}",
                        if *is_error { " (error)" } else { "" }
                    )}));
                    continue;
                };
                // The reference's convention: `output` for a result, `error` for a failure.
                let response = if *is_error {
                    json!({"error": text})
                } else {
                    json!({"output": text})
                };
                let mut reply = json!({"name": name, "response": response});
                if !tool_use_id.starts_with(LOCAL_CALL_ID) {
                    reply["id"] = json!(tool_use_id);
                }
                parts.push(json!({"functionResponse": reply}));
                // Images a tool returned follow the responses as parts of their own.
                if let ToolResultContent::Blocks(blocks) = content {
                    for b in blocks {
                        if let ContentBlock::Image(media) = b {
                            trailing.push(media_part(media, request, files)?);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    parts.extend(trailing);
    Ok(parts)
}

fn media_part(
    media: &MediaBlock,
    request: &ChatRequest,
    files: &BTreeMap<String, String>,
) -> Result<Value, LlmError> {
    if let Some(uri) = files.get(&media.sha256) {
        return Ok(json!({"fileData": {"mimeType": media.mime, "fileUri": uri}}));
    }
    let data = image_base64("gemini", media, &request.media)?;
    Ok(json!({"inlineData": {"mimeType": media.mime, "data": data}}))
}

pub(crate) fn decoder() -> Box<dyn StreamDecoder> {
    Box::new(GeminiDecoder::default())
}

/// Reads `GenerateContentResponse` chunks. Gemini sends no end marker: the stream
/// ends when the connection closes after a chunk with a `finishReason`.
#[derive(Default)]
struct GeminiDecoder {
    calls: u64,
}

impl StreamDecoder for GeminiDecoder {
    fn on_event(&mut self, event: &SseEvent, turn: &mut Turn) -> Result<(), StreamFault> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data).map_err(|e| {
            StreamFault::malformed(format!("a chunk is not JSON ({e}): {}", preview(data)))
        })?;
        let Some(object) = chunk.as_object() else {
            return Err(StreamFault::malformed(format!(
                "a chunk is not a JSON object: {}",
                preview(data)
            )));
        };
        if let Some(error) = object.get("error") {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no details given");
            let status = error.get("status").and_then(Value::as_str).unwrap_or("");
            return Err(StreamFault {
                kind: ErrorKind::Server,
                message: format!("gemini reported an error mid-answer ({status}): {message}"),
            });
        }
        if let Some(id) = object.get("responseId").and_then(Value::as_str) {
            turn.set_request_id_if_absent(id);
        }
        if let Some(usage) = object.get("usageMetadata").filter(|u| u.is_object()) {
            turn.set_usage(usage_from_gemini(usage));
        }
        let candidate = object
            .get("candidates")
            .and_then(Value::as_array)
            .and_then(|c| {
                c.iter()
                    .find(|c| c.get("index").and_then(Value::as_u64).unwrap_or(0) == 0)
            });
        let Some(candidate) = candidate else {
            // No answer: the prompt itself was blocked, or a usage-only chunk.
            if let Some(reason) = chunk
                .pointer("/promptFeedback/blockReason")
                .and_then(Value::as_str)
            {
                return Err(StreamFault {
                    kind: ErrorKind::BadRequest,
                    message: format!(
                        "gemini refused the prompt (promptFeedback.blockReason {reason}); \
                         rephrase the message or remove the attachment that triggered it"
                    ),
                });
            }
            return Ok(());
        };
        if let Some(parts) = candidate.pointer("/content/parts") {
            let Some(parts) = parts.as_array() else {
                return Err(StreamFault::malformed(
                    "\"candidates[0].content.parts\" is not an array",
                ));
            };
            for part in parts {
                self.decode_part(part, turn)?;
            }
        }
        if let Some(reason) = candidate.get("finishReason").and_then(Value::as_str) {
            turn.finish_all_tools();
            let called = turn.produced_tool_call();
            turn.set_stop_reason(StopReason::from_gemini(reason, called));
        }
        Ok(())
    }

    fn saw_end(&self) -> bool {
        false
    }
}

impl GeminiDecoder {
    fn decode_part(&mut self, part: &Value, turn: &mut Turn) -> Result<(), StreamFault> {
        let signature = part.get("thoughtSignature").and_then(Value::as_str);
        let thought = part.get("thought").and_then(Value::as_bool) == Some(true);
        if thought {
            turn.thinking(part.get("text").and_then(Value::as_str).unwrap_or(""));
            if let Some(signature) = signature {
                turn.thinking_signature(signature);
            }
            return Ok(());
        }
        // A signature on an answer part is kept just before it, to go back with it.
        if let Some(signature) = signature {
            turn.start_thinking_block();
            turn.thinking_signature(signature);
        }
        if let Some(text) = part.get("text").and_then(Value::as_str) {
            turn.text(text);
        }
        if let Some(call) = part.get("functionCall") {
            let Some(name) = call.get("name").and_then(Value::as_str) else {
                return Err(StreamFault::malformed("a functionCall has no name"));
            };
            let key = self.calls;
            self.calls += 1;
            let id = call
                .get("id")
                .and_then(Value::as_str)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{LOCAL_CALL_ID}{:016x}", rand::random::<u64>()));
            turn.tool_start(key, Some(&id), Some(name));
            let args = match call.get("args") {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(args) => args.to_string(),
            };
            turn.tool_arguments(key, &args);
            turn.tool_finish(key);
        }
        Ok(())
    }
}

/// Map Gemini's `usageMetadata` into cairn's non-overlapping counters:
/// `promptTokenCount` includes `cachedContentTokenCount`; `candidatesTokenCount`
/// excludes `thoughtsTokenCount` (both billed as output); tokens of built-in tool
/// prompts (`toolUsePromptTokenCount`) are input.
pub(crate) fn usage_from_gemini(usage: &Value) -> Usage {
    let n = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    let prompt = n("promptTokenCount") + n("toolUsePromptTokenCount");
    let cached = n("cachedContentTokenCount").min(prompt);
    Usage {
        input_tokens: prompt - cached,
        output_tokens: n("candidatesTokenCount"),
        cache_read_tokens: cached,
        cache_write_tokens: 0,
        reasoning_tokens: n("thoughtsTokenCount"),
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
    use crate::ToolDef;

    #[test]
    fn usage_splits_cached_and_thinking() {
        let usage = usage_from_gemini(&json!({
            "promptTokenCount": 1000, "candidatesTokenCount": 200,
            "cachedContentTokenCount": 800, "thoughtsTokenCount": 150,
            "totalTokenCount": 1350
        }));
        assert_eq!(usage.input_tokens, 200);
        assert_eq!(usage.cache_read_tokens, 800);
        assert_eq!(usage.output_tokens, 200);
        assert_eq!(usage.reasoning_tokens, 150);
    }

    #[test]
    fn thinking_models_are_recognised() {
        assert!(thinks("gemini-2.5-pro"));
        assert!(thinks("gemini-2.5-flash-lite"));
        assert!(thinks("gemini-3-pro-preview"));
        assert!(!thinks("gemini-2.0-flash"));
        assert!(!thinks("gemini-1.5-pro"));
        assert!(!thinks("learnlm-2.0"));
        assert!(thinks("gemini-flash-latest"));
        assert!(!thinks("gemini-1.5-flash-latest"));
    }

    #[test]
    fn history_converts_to_contents() {
        let mut assistant = Message::new(
            Role::Assistant,
            vec![
                ContentBlock::Thinking {
                    text: "plan".into(),
                    signature: None,
                },
                ContentBlock::Thinking {
                    text: String::new(),
                    signature: Some("sig-1".into()),
                },
                ContentBlock::ToolUse {
                    id: format!("{LOCAL_CALL_ID}1"),
                    name: "read_file".into(),
                    input: json!({"path": "a"}),
                },
                ContentBlock::ToolUse {
                    id: "g-2".into(),
                    name: "shell".into(),
                    input: json!({"command": "ls"}),
                },
                ContentBlock::Thinking {
                    text: String::new(),
                    signature: Some("sig-end".into()),
                },
            ],
        );
        assistant.model = Some("gemini:gemini-2.5-pro".into());
        let mut request = ChatRequest::new("gemini:gemini-2.5-pro")
            .with_system("be brief")
            .with_tools(vec![ToolDef::new(
                "read_file",
                "read",
                json!({"type": "object", "additionalProperties": false,
                       "properties": {"path": {"type": "string"}}}),
            )]);
        request.max_tokens = Some(100);
        request.messages = vec![
            Message::text(Role::User, "read a"),
            assistant,
            Message::new(
                Role::Tool,
                vec![
                    ContentBlock::ToolResult {
                        tool_use_id: format!("{LOCAL_CALL_ID}1"),
                        content: ToolResultContent::Text("no such file".into()),
                        is_error: true,
                    },
                    ContentBlock::ToolResult {
                        tool_use_id: "g-2".into(),
                        content: ToolResultContent::Text("a b".into()),
                        is_error: false,
                    },
                ],
            ),
            Message::text(Role::User, "and now?"),
        ];
        let body = request_body("gemini-2.5-pro", &request, &BTreeMap::new()).unwrap();
        assert_eq!(
            body["contents"],
            json!([
                {"role": "user", "parts": [{"text": "read a"}]},
                {"role": "model", "parts": [
                    {"text": "plan", "thought": true},
                    {"functionCall": {"name": "read_file", "args": {"path": "a"}},
                     "thoughtSignature": "sig-1"},
                    {"functionCall": {"name": "shell", "args": {"command": "ls"}, "id": "g-2"}},
                    {"text": "", "thoughtSignature": "sig-end"}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "read_file", "response": {"error": "no such file"}}},
                    {"functionResponse": {"name": "shell", "response": {"output": "a b"}, "id": "g-2"}},
                    {"text": "and now?"}
                ]}
            ])
        );
        assert_eq!(
            body["systemInstruction"],
            json!({"parts": [{"text": "be brief"}]})
        );
        assert_eq!(
            body["tools"][0]["functionDeclarations"][0]["parameters"],
            json!({"type": "object", "properties": {"path": {"type": "string"}}})
        );
        assert_eq!(
            body["generationConfig"],
            json!({"maxOutputTokens": 100, "thinkingConfig": {"includeThoughts": true}})
        );
    }

    #[test]
    fn other_providers_thoughts_are_not_sent() {
        let mut assistant = Message::new(
            Role::Assistant,
            vec![
                ContentBlock::Thinking {
                    text: "hm".into(),
                    signature: Some("anthropic-sig".into()),
                },
                ContentBlock::text("ok"),
            ],
        );
        assistant.model = Some("anthropic:claude-sonnet-4-5".into());
        let request = ChatRequest::new("gemini:gemini-2.0-flash").with_messages(vec![assistant]);
        let body = request_body("gemini-2.0-flash", &request, &BTreeMap::new()).unwrap();
        assert_eq!(
            body["contents"],
            json!([{"role": "model", "parts": [{"text": "ok"}]}])
        );
        assert!(body.get("generationConfig").is_none());
    }

    #[test]
    fn media_go_inline_or_by_file_uri() {
        let video = MediaBlock {
            sha256: "v1".into(),
            mime: "video/mp4".into(),
            data_base64: None,
        };
        let image = MediaBlock {
            sha256: "i1".into(),
            mime: "image/png".into(),
            data_base64: Some("AQID".into()),
        };
        let request =
            ChatRequest::new("gemini:gemini-2.5-flash").with_messages(vec![Message::new(
                Role::User,
                vec![
                    ContentBlock::text("look"),
                    ContentBlock::Image(image),
                    ContentBlock::Video(video),
                ],
            )]);
        let err = request_body("gemini-2.5-flash", &request, &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("v1"), "{err}");
        let files = BTreeMap::from([("v1".to_owned(), "https://files/v1".to_owned())]);
        let body = request_body("gemini-2.5-flash", &request, &files).unwrap();
        assert_eq!(
            body["contents"][0]["parts"],
            json!([
                {"text": "look"},
                {"inlineData": {"mimeType": "image/png", "data": "AQID"}},
                {"fileData": {"mimeType": "video/mp4", "fileUri": "https://files/v1"}}
            ])
        );
    }
}

#[cfg(test)]
mod decoder_tests {
    use super::*;

    fn run(chunks: &[&str]) -> Result<crate::ChatResponse, StreamFault> {
        let mut decoder = GeminiDecoder::default();
        let mut turn = Turn::new("gemini:gemini-2.5-pro");
        for data in chunks {
            let event = SseEvent {
                event: None,
                data: (*data).to_owned(),
                id: None,
            };
            decoder.on_event(&event, &mut turn)?;
        }
        Ok(turn.into_response())
    }

    #[test]
    fn thoughts_text_and_whole_function_calls() {
        let response = run(&[
            r#"{"candidates":[{"content":{"parts":[{"text":"let me","thought":true}],"role":"model"},"index":0}],"responseId":"r-1"}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":" see","thought":true}],"role":"model"},"index":0}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"Reading."}],"role":"model"},"index":0}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"read_file","args":{"path":"a"}},"thoughtSignature":"c2ln"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"thoughtsTokenCount":3}}"#,
        ])
        .unwrap();
        assert_eq!(response.request_id.as_deref(), Some("r-1"));
        assert_eq!(response.stop_reason, Some(StopReason::ToolUse));
        assert_eq!(response.usage.reasoning_tokens, 3);
        assert_eq!(
            response.content[0],
            ContentBlock::Thinking {
                text: "let me see".into(),
                signature: None
            }
        );
        assert_eq!(response.content[1], ContentBlock::text("Reading."));
        assert_eq!(
            response.content[2],
            ContentBlock::Thinking {
                text: String::new(),
                signature: Some("c2ln".into())
            }
        );
        let (id, name, input) = response.tool_calls().next().unwrap();
        assert!(id.starts_with(LOCAL_CALL_ID), "{id}");
        assert_eq!((name, input), ("read_file", &json!({"path": "a"})));
    }

    #[test]
    fn finish_reasons_map_honestly() {
        let reason = |r: &str| {
            let chunk = format!(
                r#"{{"candidates":[{{"content":{{"parts":[{{"text":"x"}}]}},"finishReason":"{r}"}}]}}"#
            );
            run(&[&chunk]).unwrap().stop_reason.unwrap()
        };
        assert_eq!(reason("STOP"), StopReason::EndTurn);
        assert_eq!(reason("MAX_TOKENS"), StopReason::MaxTokens);
        assert_eq!(reason("SAFETY"), StopReason::Refusal);
        assert_eq!(reason("RECITATION"), StopReason::Refusal);
        assert_eq!(
            reason("MALFORMED_FUNCTION_CALL"),
            StopReason::Other("malformed_function_call".into())
        );
    }

    #[test]
    fn blocked_prompt_and_bad_chunks_are_errors() {
        let fault = run(&[
            r#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":4}}"#,
        ])
        .unwrap_err();
        assert_eq!(fault.kind, ErrorKind::BadRequest);
        assert!(fault.message.contains("SAFETY"), "{}", fault.message);
        let fault = run(&[r#"{"candidates":[{"content":{"parts":[{"text":"tru"#]).unwrap_err();
        assert_eq!(fault.kind, ErrorKind::MalformedStream);
        let fault = run(&[r#"{"candidates":[{"content":{"parts":{"text":"x"}}}]}"#]).unwrap_err();
        assert_eq!(fault.kind, ErrorKind::MalformedStream);
        let fault =
            run(&[r#"{"error":{"code":500,"message":"boom","status":"INTERNAL"}}"#]).unwrap_err();
        assert_eq!(fault.kind, ErrorKind::Server);
        assert!(fault.message.contains("boom"));
    }
}
