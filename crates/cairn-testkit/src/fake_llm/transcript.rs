//! What a provider was sent, as lines a test can read: one `role: text` line per text
//! part of an OpenAI chat request body, and `tool_call NAME` per call the assistant made.

use serde_json::Value;

pub fn transcript(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for m in body["messages"].as_array().into_iter().flatten() {
        let role = m["role"].as_str().unwrap_or("?");
        if let Some(text) = m["content"].as_str() {
            out.push(format!("{role}: {text}"));
        }
        for p in m["content"].as_array().into_iter().flatten() {
            if let Some(text) = p["text"].as_str() {
                out.push(format!("{role}: {text}"));
            }
        }
        for c in m["tool_calls"].as_array().into_iter().flatten() {
            out.push(format!(
                "tool_call {}",
                c["function"]["name"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

/// Panics unless lines starting with each of `wanted` appear in that order.
#[track_caller]
pub fn contains_in_order(lines: &[String], wanted: &[&str]) {
    let mut at = 0;
    for w in wanted {
        let found = lines[at..]
            .iter()
            .position(|l| l.starts_with(w))
            .unwrap_or_else(|| panic!("{w:?} missing (in order) from {lines:#?}"));
        at += found + 1;
    }
}
