//! Refused tool arguments. The tools read their arguments into the typed
//! inputs of `cairn_app::inputs` (rmcp's `Parameters<T>`), whose refusals name
//! the field and the rule; the operations refuse what only the store can judge.
//! Either way the model gets a tool result with `isError: true`, as the MCP spec
//! asks, worded here once, so that it can correct its arguments.

use rmcp::ErrorData;
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::json;

/// How rmcp words a `Parameters<T>` that did not deserialize.
const RMCP_ARGUMENT_PREFIX: &str = "failed to deserialize parameters:";

/// rmcp's own result for arguments that did not deserialize, in cairn's words;
/// any other result as it is.
pub(crate) fn reworded(result: CallToolResult) -> CallToolResult {
    if result.is_error != Some(true) {
        return result;
    }
    let reason = result
        .content
        .first()
        .and_then(ContentBlock::as_text)
        .and_then(|text| text.text.strip_prefix(RMCP_ARGUMENT_PREFIX))
        .map(str::trim);
    match reason {
        Some(reason) => refusal_text(reason),
        None => result,
    }
}

/// An argument refusal as the tool result the model reads: the message names
/// the argument and the rule.
pub(crate) fn refusal_result(error: &ErrorData) -> CallToolResult {
    refusal_text(&error.message)
}

fn refusal_text(reason: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "Invalid arguments, nothing was done: {reason}. Correct the argument and call again."
    ))])
}

/// A refusal naming the field (and the limit, when a bound was crossed).
pub(crate) fn invalid(field: &str, message: String, limit: Option<u64>) -> ErrorData {
    let mut data = json!({ "field": field });
    if let Some(limit) = limit {
        data["limit"] = json!(limit);
    }
    ErrorData::invalid_params(message, Some(data))
}

/// A domain refusal (`cairn_core::Error::InvalidInput`) as a JSON-RPC error.
pub(crate) fn core_invalid(field: &str, error: cairn_core::Error) -> ErrorData {
    let message = error.to_string();
    let limit = limit_in(&message);
    invalid(field, message, limit)
}

/// The bound a list/text refusal mentions ("the limit is 1000 items", "… 4 KiB (4096 bytes)").
fn limit_in(message: &str) -> Option<u64> {
    let rest = message.split("the limit is ").nth(1)?;
    if let Some(start) = rest.find('(') {
        let inner = &rest[start + 1..];
        let digits: String = inner.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            return digits.parse().ok();
        }
    }
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rmcp_argument_errors_are_reworded_and_other_results_kept() {
        let rmcp = CallToolResult::error(vec![ContentBlock::text(
            "failed to deserialize parameters: `limit` must be an integer from 1 to 200",
        )]);
        let text = reworded(rmcp).content[0].as_text().unwrap().text.clone();
        assert_eq!(
            text,
            "Invalid arguments, nothing was done: `limit` must be an integer from 1 to 200. \
Correct the argument and call again."
        );
        let other = CallToolResult::error(vec![ContentBlock::text("store is locked")]);
        assert_eq!(reworded(other.clone()), other);
    }

    #[test]
    fn core_refusals_carry_the_limit_they_mention() {
        let error = core_invalid(
            "arguments",
            cairn_core::Error::invalid("summary is 70000 bytes; the limit is 64 KiB (65536 bytes)"),
        );
        assert_eq!(error.data.unwrap()["limit"], json!(65536));
    }
}
