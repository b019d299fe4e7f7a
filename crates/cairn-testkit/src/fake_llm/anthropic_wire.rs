//! The Anthropic Messages wire format, as api.anthropic.com writes it.

use serde_json::{Value, json};

use super::script::{ErrorReply, Part, Reply, chunks};

fn stop_reason(reply: &Reply) -> String {
    reply.stop_reason.clone().unwrap_or_else(|| {
        if reply.has_tool_call() {
            "tool_use"
        } else {
            "end_turn"
        }
        .to_owned()
    })
}

fn frame(event: &str, data: Value) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// The SSE frames of a streamed answer.
pub(crate) fn stream_frames(reply: &Reply, id: &str, model: &str) -> Vec<String> {
    let u = reply.usage;
    let mut frames = vec![frame(
        "message_start",
        json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "content": [], "model": model,
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": u.input, "cache_creation_input_tokens": u.cache_write,
                      "cache_read_input_tokens": u.cache_read, "output_tokens": 1,
                      "service_tier": "standard"}
        }}),
    )];
    frames.push(frame("ping", json!({"type": "ping"})));
    for (index, part) in reply.parts.iter().enumerate() {
        let delta = |delta: Value| {
            frame(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            )
        };
        match part {
            Part::Text { text } => {
                frames.push(frame(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index,
                           "content_block": {"type": "text", "text": ""}}),
                ));
                for piece in chunks(text, reply.chunk_size) {
                    frames.push(delta(json!({"type": "text_delta", "text": piece})));
                }
            }
            Part::Thinking { text, signature } => {
                frames.push(frame(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index,
                           "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
                ));
                for piece in chunks(text, reply.chunk_size) {
                    frames.push(delta(json!({"type": "thinking_delta", "thinking": piece})));
                }
                frames.push(delta(
                    json!({"type": "signature_delta", "signature": signature}),
                ));
            }
            Part::ToolCall {
                id: call_id,
                name,
                arguments,
            } => {
                frames.push(frame(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": index,
                           "content_block": {"type": "tool_use", "id": call_id, "name": name, "input": {}}}),
                ));
                for piece in chunks(arguments, reply.chunk_size) {
                    frames.push(delta(
                        json!({"type": "input_json_delta", "partial_json": piece}),
                    ));
                }
            }
        }
        frames.push(frame(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    frames.push(frame(
        "message_delta",
        json!({"type": "message_delta",
               "delta": {"stop_reason": stop_reason(reply), "stop_sequence": null},
               "usage": {"output_tokens": u.output + u.reasoning}}),
    ));
    frames.push(frame("message_stop", json!({"type": "message_stop"})));
    frames
}

pub(crate) fn malformed_frame() -> String {
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"tru\n\n".to_owned()
}

/// A whole (non-streamed) message.
pub(crate) fn complete(reply: &Reply, id: &str, model: &str) -> Value {
    let u = reply.usage;
    let content: Vec<Value> = reply
        .parts
        .iter()
        .map(|part| match part {
            Part::Text { text } => json!({"type": "text", "text": text}),
            Part::Thinking { text, signature } => {
                json!({"type": "thinking", "thinking": text, "signature": signature})
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                let input: Value = serde_json::from_str(arguments).unwrap_or_else(|_| json!({}));
                json!({"type": "tool_use", "id": id, "name": name, "input": input})
            }
        })
        .collect();
    json!({
        "id": id, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop_reason(reply), "stop_sequence": null,
        "usage": {"input_tokens": u.input, "cache_creation_input_tokens": u.cache_write,
                  "cache_read_input_tokens": u.cache_read, "output_tokens": u.output + u.reasoning,
                  "service_tier": "standard"}
    })
}

pub(crate) fn error_body(error: &ErrorReply) -> Value {
    let kind = error.error_type.clone().unwrap_or_else(|| {
        match error.status {
            400 | 413 | 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            529 => "overloaded_error",
            _ => "api_error",
        }
        .to_owned()
    });
    json!({"type": "error", "error": {"type": kind, "message": error.message}})
}
