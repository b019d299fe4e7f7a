//! The Gemini API wire format, as generativelanguage.googleapis.com writes it:
//! `streamGenerateContent?alt=sse` answers `data: {GenerateContentResponse}` chunks
//! (no end marker; the last chunk carries `finishReason` and the full
//! `usageMetadata`), errors are `{"error":{"code","message","status","details"}}`.

use serde_json::{Value, json};

use super::script::{ErrorReply, Part, Reply, chunks};

/// Gemini's usage: `promptTokenCount` includes the cached tokens;
/// `candidatesTokenCount` excludes the thoughts.
fn usage(reply: &Reply) -> Value {
    let u = reply.usage;
    let prompt = u.input + u.cache_read + u.cache_write;
    let mut usage = json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": u.output,
        "totalTokenCount": prompt + u.output + u.reasoning,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    });
    if u.cache_read > 0 {
        usage["cachedContentTokenCount"] = json!(u.cache_read);
    }
    if u.reasoning > 0 {
        usage["thoughtsTokenCount"] = json!(u.reasoning);
    }
    usage
}

fn finish_reason(reply: &Reply) -> String {
    // Gemini says STOP for tool calls too.
    reply
        .stop_reason
        .clone()
        .unwrap_or_else(|| "STOP".to_owned())
}

/// The parts of an answer as Gemini writes them: text and thoughts in pieces, a
/// thought signature on the last piece of thinking, function calls whole.
fn parts(reply: &Reply, whole: bool) -> Vec<Value> {
    let mut out = Vec::new();
    for part in &reply.parts {
        match part {
            Part::Text { text } => {
                if whole {
                    out.push(json!({"text": text}));
                } else {
                    out.extend(
                        chunks(text, reply.chunk_size)
                            .into_iter()
                            .map(|p| json!({"text": p})),
                    );
                }
            }
            Part::Thinking { text, signature } => {
                let pieces = if whole {
                    vec![text.clone()]
                } else {
                    chunks(text, reply.chunk_size)
                };
                let count = pieces.len();
                for (i, piece) in pieces.into_iter().enumerate() {
                    let mut p = json!({"text": piece, "thought": true});
                    if i + 1 == count && !signature.is_empty() {
                        p["thoughtSignature"] = json!(signature);
                    }
                    out.push(p);
                }
            }
            Part::ToolCall {
                name, arguments, ..
            } => {
                // The Gemini Developer API sends no call id.
                let args: Value = serde_json::from_str(arguments).unwrap_or_else(|_| json!({}));
                out.push(json!({"functionCall": {"name": name, "args": args}}));
            }
        }
    }
    out
}

fn response(
    id: &str,
    model: &str,
    parts: Vec<Value>,
    finish: Option<&str>,
    usage: Option<Value>,
) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    let mut r = json!({"candidates": [candidate], "modelVersion": model, "responseId": id});
    if let Some(usage) = usage {
        r["usageMetadata"] = usage;
    }
    r
}

/// The SSE frames of a streamed answer, one part per chunk.
pub(crate) fn stream_frames(reply: &Reply, id: &str, model: &str) -> Vec<String> {
    if let Some(reason) = &reply.prompt_blocked {
        let chunk = json!({
            "promptFeedback": {"blockReason": reason},
            "usageMetadata": usage(reply),
            "modelVersion": model, "responseId": id,
        });
        return vec![format!("data: {chunk}\r\n\r\n")];
    }
    let all = parts(reply, false);
    let mut frames: Vec<Value> = Vec::new();
    let count = all.len();
    let prompt_only = json!({"promptTokenCount": reply.usage.input + reply.usage.cache_read,
                             "totalTokenCount": reply.usage.input + reply.usage.cache_read});
    for (i, part) in all.into_iter().enumerate() {
        if i + 1 == count {
            let reason = finish_reason(reply);
            frames.push(response(
                id,
                model,
                vec![part],
                Some(&reason),
                Some(usage(reply)),
            ));
        } else {
            frames.push(response(
                id,
                model,
                vec![part],
                None,
                Some(prompt_only.clone()),
            ));
        }
    }
    if count == 0 {
        let reason = finish_reason(reply);
        frames.push(response(
            id,
            model,
            vec![json!({"text": ""})],
            Some(&reason),
            Some(usage(reply)),
        ));
    }
    frames
        .into_iter()
        .map(|f| format!("data: {f}\r\n\r\n"))
        .collect()
}

/// A chunk cut in the middle of its JSON, as a broken proxy might send.
pub(crate) fn malformed_frame() -> String {
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"tru\r\n\r\n".to_owned()
}

/// A whole (non-streamed) `generateContent` answer.
pub(crate) fn complete(reply: &Reply, id: &str, model: &str) -> Value {
    if let Some(reason) = &reply.prompt_blocked {
        return json!({"promptFeedback": {"blockReason": reason}, "usageMetadata": usage(reply),
                      "modelVersion": model, "responseId": id});
    }
    let reason = finish_reason(reply);
    response(
        id,
        model,
        parts(reply, true),
        Some(&reason),
        Some(usage(reply)),
    )
}

/// The canonical status name Google gives an HTTP status.
fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

pub(crate) fn error_body(error: &ErrorReply) -> Value {
    let status = error
        .error_type
        .clone()
        .unwrap_or_else(|| status_name(error.status).to_owned());
    let mut details = Vec::new();
    // Google says how long to wait in the body, not in a header.
    if let Some(after) = &error.retry_after {
        details.push(json!({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": format!("{after}s")}));
    }
    if let Some(reason) = &error.code {
        details.push(json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": reason, "domain": "googleapis.com",
                            "metadata": {"service": "generativelanguage.googleapis.com"}}));
    }
    let mut body =
        json!({"error": {"code": error.status, "message": error.message, "status": status}});
    if !details.is_empty() {
        body["error"]["details"] = Value::Array(details);
    }
    body
}
