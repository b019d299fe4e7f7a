//! Reading tool arguments field by field, so that every refusal (wrong type,
//! missing field, over a bound) names the field and the rule, and nothing is
//! written. The refusals are `invalid params` errors here; `call_tool` turns
//! them into tool results with `isError: true` (see [`refusal_result`]), as the
//! MCP spec asks, so that the model can correct its arguments.
//!
//! The tools declare their input schemas from the `*Params` types in
//! `params.rs`; this module is what actually reads the arguments.

use cairn_core::json_kind::json_kind;
use cairn_core::list_param::{self, MAX_SUMMARY_BYTES};
use rmcp::ErrorData;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde_json::{Value, json};

/// The arguments of one tool call.
pub(crate) struct ToolArgs(JsonObject);

impl ToolArgs {
    pub(crate) fn new(args: JsonObject) -> Self {
        ToolArgs(args)
    }

    fn present(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    /// A required, non-empty string of at most `max` bytes.
    pub(crate) fn required_str(&self, field: &str, max: usize) -> Result<String, ErrorData> {
        match self.present(field) {
            None => Err(invalid(
                field,
                format!("missing required field `{field}`"),
                None,
            )),
            Some(Value::String(text)) => {
                check_len(field, text, max)?;
                if text.trim().is_empty() {
                    return Err(invalid(field, format!("`{field}` must not be empty"), None));
                }
                Ok(text.clone())
            }
            Some(other) => Err(wrong_type(field, "a string", other)),
        }
    }

    /// An identifier: a required one-line string (session id, topic, action).
    pub(crate) fn required_id(&self, field: &str) -> Result<String, ErrorData> {
        let text = self.required_str(field, list_param::MAX_ID_BYTES)?;
        list_param::check_id(field, &text).map_err(|e| core_invalid(field, e))?;
        Ok(text.trim().to_owned())
    }

    /// An optional identifier. Integers are accepted and written as text (agents
    /// send `round_id: 3` as often as `"3"`); other numbers are refused, as the
    /// schema (`string` or `integer`) says.
    pub(crate) fn optional_id(&self, field: &str) -> Result<Option<String>, ErrorData> {
        let text = match self.present(field) {
            None => return Ok(None),
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            Some(Value::Number(n)) => {
                return Err(invalid(
                    field,
                    format!("`{field}` must be a string or an integer, got the number {n}"),
                    None,
                ));
            }
            Some(other) => return Err(wrong_type(field, "a string or an integer", other)),
        };
        list_param::check_id(field, &text).map_err(|e| core_invalid(field, e))?;
        Ok(Some(text.trim().to_owned()))
    }

    /// An optional free-text string (a path, a query).
    pub(crate) fn optional_str(
        &self,
        field: &str,
        max: usize,
    ) -> Result<Option<String>, ErrorData> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::String(text)) => {
                check_len(field, text, max)?;
                Ok(Some(text.clone()).filter(|t| !t.trim().is_empty()))
            }
            Some(other) => Err(wrong_type(field, "a string", other)),
        }
    }

    /// The `summary` of a checkpoint or a signal: required, at most 64 KiB.
    pub(crate) fn summary(&self) -> Result<String, ErrorData> {
        self.required_str("summary", MAX_SUMMARY_BYTES)
    }

    /// A list parameter: a JSON array of strings or a comma/newline separated string.
    pub(crate) fn list(&self, field: &str) -> Result<Vec<String>, ErrorData> {
        match self.present(field) {
            None => Ok(Vec::new()),
            Some(value) => list_param::parse_list(field, value).map_err(|e| core_invalid(field, e)),
        }
    }

    pub(crate) fn optional_bool(&self, field: &str) -> Result<Option<bool>, ErrorData> {
        match self.present(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(other) => Err(wrong_type(field, "a boolean", other)),
        }
    }

    /// An optional count between 1 and `max`.
    pub(crate) fn optional_limit(&self, field: &str, max: u32) -> Result<Option<u32>, ErrorData> {
        let value = match self.present(field) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(other) => return Err(wrong_type(field, "an integer", other)),
        };
        match value {
            Some(n) if (1..=u64::from(max)).contains(&n) => Ok(Some(n as u32)),
            _ => Err(invalid(
                field,
                format!("`{field}` must be an integer from 1 to {max}"),
                Some(u64::from(max)),
            )),
        }
    }
}

/// An argument refusal as the tool result the model reads: the message names
/// the argument and the rule.
pub(crate) fn refusal_result(error: &ErrorData) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "Invalid arguments, nothing was done: {}. Correct the argument and call again.",
        error.message
    ))])
}

fn check_len(field: &str, text: &str, max: usize) -> Result<(), ErrorData> {
    list_param::check_text(field, text, max)
        .map_err(|e| invalid(field, e.to_string(), Some(max as u64)))
}

/// A refusal naming the field (and the limit, when a bound was crossed).
pub(crate) fn invalid(field: &str, message: String, limit: Option<u64>) -> ErrorData {
    let mut data = json!({ "field": field });
    if let Some(limit) = limit {
        data["limit"] = json!(limit);
    }
    ErrorData::invalid_params(message, Some(data))
}

fn wrong_type(field: &str, expected: &str, got: &Value) -> ErrorData {
    invalid(
        field,
        format!("`{field}` must be {expected}, got {}", json_kind(got)),
        None,
    )
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

    fn args(value: Value) -> ToolArgs {
        match value {
            Value::Object(map) => ToolArgs::new(map),
            _ => panic!("test arguments must be an object"),
        }
    }

    #[test]
    fn refusals_name_the_field_and_the_limit() {
        let a = args(json!({ "summary": 5, "files_touched": ["x".repeat(5000)] }));
        let err = a.summary().unwrap_err();
        assert!(
            err.message.contains("`summary` must be a string"),
            "{}",
            err.message
        );
        let err = a.list("files_touched").unwrap_err();
        assert!(err.message.contains("files_touched") && err.message.contains("4 KiB"));
        assert_eq!(err.data.unwrap()["limit"], json!(4096));
        let err = args(json!({})).required_id("session_id").unwrap_err();
        assert!(err.message.contains("missing required field `session_id`"));
        let big = args(json!({ "summary": "s".repeat(MAX_SUMMARY_BYTES + 1) }));
        let err = big.summary().unwrap_err();
        assert_eq!(err.data.unwrap()["limit"], json!(MAX_SUMMARY_BYTES));
    }

    #[test]
    fn lists_accept_arrays_and_separated_strings() {
        let a = args(json!({ "a": ["x", "y"], "b": "x, y", "c": "x\ny" }));
        assert_eq!(a.list("a").unwrap(), vec!["x", "y"]);
        assert_eq!(a.list("b").unwrap(), vec!["x", "y"]);
        assert_eq!(a.list("c").unwrap(), vec!["x", "y"]);
        assert!(a.list("missing").unwrap().is_empty());
    }

    #[test]
    fn ids_accept_integers_and_limits_are_checked() {
        let a = args(json!({ "round_id": 3, "limit": 0, "ok": 5, "half": 1.5, "neg": -2 }));
        assert_eq!(a.optional_id("round_id").unwrap().as_deref(), Some("3"));
        assert_eq!(a.optional_id("neg").unwrap().as_deref(), Some("-2"));
        let err = a.optional_id("half").unwrap_err();
        assert!(
            err.message
                .contains("`half` must be a string or an integer"),
            "{}",
            err.message
        );
        assert!(a.optional_limit("limit", 100).is_err());
        assert_eq!(a.optional_limit("ok", 100).unwrap(), Some(5));
    }
}
