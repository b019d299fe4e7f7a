//! The OpenAI chat-completions wire format, as api.openai.com writes it.

use serde_json::{Value, json};

use super::script::{ErrorReply, Part, Reply, chunks};

pub(crate) const CREATED: u64 = 1_763_000_000;

fn usage(reply: &Reply) -> Value {
    let u = reply.usage;
    let prompt = u.input + u.cache_read + u.cache_write;
    let completion = u.output + u.reasoning;
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": u.reasoning, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
        }
    })
}

fn finish_reason(reply: &Reply) -> String {
    reply.stop_reason.clone().unwrap_or_else(|| {
        if reply.has_tool_call() {
            "tool_calls"
        } else {
            "stop"
        }
        .to_owned()
    })
}

/// The SSE frames of a streamed answer, each a complete `data: …\n\n`.
pub(crate) fn stream_frames(
    reply: &Reply,
    id: &str,
    model: &str,
    include_usage: bool,
) -> Vec<String> {
    let chunk = |delta: Value, finish: Value| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "system_fingerprint": "fp_fake", "service_tier": "default",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        c
    };
    let mut frames = vec![chunk(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Value::Null,
    )];
    let mut tool_index = 0;
    for part in &reply.parts {
        match part {
            Part::Text { text } => {
                for piece in chunks(text, reply.chunk_size) {
                    frames.push(chunk(json!({"content": piece}), Value::Null));
                }
            }
            Part::Thinking { text, .. } => {
                for piece in chunks(text, reply.chunk_size) {
                    frames.push(chunk(json!({"reasoning_content": piece}), Value::Null));
                }
            }
            Part::ToolCall {
                id: call_id,
                name,
                arguments,
            } => {
                frames.push(chunk(
                    json!({"tool_calls": [{"index": tool_index, "id": call_id, "type": "function",
                        "function": {"name": name, "arguments": ""}}]}),
                    Value::Null,
                ));
                for piece in chunks(arguments, reply.chunk_size) {
                    frames.push(chunk(
                        json!({"tool_calls": [{"index": tool_index, "function": {"arguments": piece}}]}),
                        Value::Null,
                    ));
                }
                tool_index += 1;
            }
        }
    }
    frames.push(chunk(json!({}), json!(finish_reason(reply))));
    if include_usage {
        frames.push(json!({
            "id": id, "object": "chat.completion.chunk", "created": CREATED, "model": model,
            "system_fingerprint": "fp_fake", "service_tier": "default",
            "choices": [], "usage": usage(reply),
        }));
    }
    let mut out: Vec<String> = frames
        .into_iter()
        .map(|f| format!("data: {f}\n\n"))
        .collect();
    out.push("data: [DONE]\n\n".to_owned());
    out
}

/// A frame that is not JSON, as a broken proxy might send.
pub(crate) fn malformed_frame(id: &str) -> String {
    format!(
        "data: {{\"id\":\"{id}\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"tru\n\n"
    )
}

/// A whole (non-streamed) chat completion.
pub(crate) fn complete(reply: &Reply, id: &str, model: &str) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    for part in &reply.parts {
        match part {
            Part::Text { text: t } => text.push_str(t),
            Part::Thinking { text: t, .. } => reasoning.push_str(t),
            Part::ToolCall { id, name, arguments } => tool_calls.push(
                json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}),
            ),
        }
    }
    let mut message = json!({
        "role": "assistant",
        "content": if text.is_empty() { Value::Null } else { json!(text) },
        "refusal": null,
        "annotations": [],
    });
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    if !reasoning.is_empty() {
        message["reasoning_content"] = json!(reasoning);
    }
    json!({
        "id": id, "object": "chat.completion", "created": CREATED, "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(reply)}],
        "usage": usage(reply),
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    })
}

pub(crate) fn error_body(error: &ErrorReply) -> Value {
    let kind = error.error_type.clone().unwrap_or_else(|| {
        match error.status {
            400 | 404 | 413 | 422 => "invalid_request_error",
            401 | 403 => "invalid_request_error",
            429 => "requests",
            _ => "server_error",
        }
        .to_owned()
    });
    let code = error
        .code
        .clone()
        .map(Value::String)
        .unwrap_or_else(|| match error.status {
            401 => json!("invalid_api_key"),
            429 => json!("rate_limit_exceeded"),
            _ => Value::Null,
        });
    json!({"error": {"message": error.message, "type": kind, "param": null, "code": code}})
}
