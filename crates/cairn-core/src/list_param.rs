//! List parameters shared by the MCP tools and their CLI mirrors (`files_touched`,
//! `decisions_made`, `next_steps`, `affects`), and the size bounds every
//! checkpoint and pool signal obeys.
//!
//! Agents send lists in three shapes: a JSON array of strings, that array sent
//! as a string (`'["a.rs","b.rs"]'`, as the MCP Inspector and some models do),
//! or one string with items separated by commas or newlines. All are accepted;
//! anything else is refused with a message naming the field.

use crate::json_kind::json_kind;
use serde_json::Value;

use crate::Error;

/// The largest `summary` a checkpoint or signal may carry.
pub const MAX_SUMMARY_BYTES: usize = 64 * 1024;
/// The largest single item of a list parameter.
pub const MAX_LIST_ITEM_BYTES: usize = 4 * 1024;
/// The most items a list parameter may hold.
pub const MAX_LIST_ITEMS: usize = 1_000;
/// The largest short identifier (session id, round id, topic, client, instance).
pub const MAX_ID_BYTES: usize = 512;

/// Parse a list parameter from JSON: an array of strings, a string holding a
/// JSON array of strings, or a comma/newline separated string. `null` is an
/// empty list. Items are trimmed and empty items dropped; the bounds are checked.
pub fn parse_list(field: &str, value: &Value) -> Result<Vec<String>, Error> {
    list_items(value).map_err(|reason| Error::invalid(format!("{field} {reason}")))
}

/// [`parse_list`] without the field name: the refusal is the rule broken
/// ("item 2 must be a string, got a number"), for the caller to name the field.
pub fn list_items(value: &Value) -> Result<Vec<String>, String> {
    if let Value::String(text) = value
        && let Some(array) = json_array_of_strings(text)
    {
        return list_items(&array);
    }
    let items = match value {
        Value::Null => Vec::new(),
        Value::String(text) => split_list(text),
        Value::Array(values) => {
            count_reason(values.len())?;
            let mut items = Vec::with_capacity(values.len());
            for (index, item) in values.iter().enumerate() {
                match item {
                    Value::String(text) => {
                        let text = text.trim();
                        if !text.is_empty() {
                            items.push(text.to_owned());
                        }
                    }
                    other => {
                        return Err(format!(
                            "item {} must be a string, got {}",
                            index + 1,
                            json_kind(other)
                        ));
                    }
                }
            }
            items
        }
        other => {
            return Err(format!(
                "must be an array of strings or a comma/newline separated string, got {}",
                json_kind(other)
            ));
        }
    };
    list_reason(&items)?;
    Ok(items)
}

/// serde `deserialize_with` for a list parameter (see [`list_items`]): the
/// refusal names the rule; the input type names the field (`cairn-app`'s inputs).
pub fn deserialize_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    let value = <Value as serde::Deserialize>::deserialize(deserializer)?;
    list_items(&value).map_err(serde::de::Error::custom)
}

/// The JSON Schema of a list parameter: an array of strings or a string.
#[cfg(feature = "schema")]
pub fn list_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            { "type": "array", "items": { "type": "string", "maxLength": MAX_LIST_ITEM_BYTES }, "maxItems": MAX_LIST_ITEMS },
            { "type": "string" }
        ],
        "description": "A JSON array of strings, or one string with items separated by commas or newlines (a string that is a JSON array of strings is read as that array). At most 1,000 items of 4 KiB each."
    })
}

/// A string that is a JSON array of strings, as that array; anything else
/// (`[draft]`, `["a", 1]`, plain text) is left to the comma/newline split.
fn json_array_of_strings(text: &str) -> Option<Value> {
    let text = text.trim();
    if !(text.starts_with('[') && text.ends_with(']')) {
        return None;
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) if items.iter().all(Value::is_string) => Some(Value::Array(items)),
        _ => None,
    }
}

/// Split one string into list items at commas and newlines.
pub fn split_list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Items given on a command line (each flag value may itself hold a
/// comma/newline separated list), checked against the bounds.
pub fn from_cli(field: &str, values: &[String]) -> Result<Vec<String>, Error> {
    let items: Vec<String> = values.iter().flat_map(|v| split_list(v)).collect();
    check_list(field, &items)?;
    Ok(items)
}

/// Check a list against the item-count and item-size bounds.
pub fn check_list(field: &str, items: &[String]) -> Result<(), Error> {
    list_reason(items).map_err(|reason| Error::invalid(format!("{field} {reason}")))
}

fn list_reason(items: &[String]) -> Result<(), String> {
    count_reason(items.len())?;
    for (index, item) in items.iter().enumerate() {
        if item.len() > MAX_LIST_ITEM_BYTES {
            return Err(format!(
                "item {} is {} bytes; the limit is {} per item",
                index + 1,
                item.len(),
                human_bytes(MAX_LIST_ITEM_BYTES)
            ));
        }
    }
    Ok(())
}

fn count_reason(count: usize) -> Result<(), String> {
    if count > MAX_LIST_ITEMS {
        return Err(format!(
            "has {count} items; the limit is {MAX_LIST_ITEMS} items"
        ));
    }
    Ok(())
}

/// Check a free-text field (`summary`) against its bound.
pub fn check_text(field: &str, text: &str, max_bytes: usize) -> Result<(), Error> {
    text_reason(text, max_bytes).map_err(|reason| Error::invalid(format!("{field} {reason}")))
}

/// [`check_text`] without the field name.
pub fn text_reason(text: &str, max_bytes: usize) -> Result<(), String> {
    if text.len() > max_bytes {
        return Err(format!(
            "is {} bytes; the limit is {}",
            text.len(),
            human_bytes(max_bytes)
        ));
    }
    Ok(())
}

/// Check a short identifier: not empty, not only blanks, bounded, one line.
pub fn check_id(field: &str, text: &str) -> Result<(), Error> {
    id_reason(text).map_err(|reason| Error::invalid(format!("{field} {reason}")))
}

/// [`check_id`] without the field name.
pub fn id_reason(text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err("must not be empty".to_owned());
    }
    if text.len() > MAX_ID_BYTES {
        return Err(format!(
            "is {} bytes; the limit is {MAX_ID_BYTES} bytes",
            text.len()
        ));
    }
    if text.chars().any(char::is_control) {
        return Err("must be one line without control characters".to_owned());
    }
    Ok(())
}

/// "4 KiB", "64 KiB", "4 MiB", or plain bytes, for messages.
pub fn human_bytes(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB ({bytes} bytes)", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB ({bytes} bytes)", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn array_and_separated_string_give_the_same_items() {
        let from_array = parse_list("files", &json!(["src/a.rs", " src/b.rs ", ""])).unwrap();
        let from_commas = parse_list("files", &json!("src/a.rs, src/b.rs,")).unwrap();
        let from_lines = parse_list("files", &json!("src/a.rs\nsrc/b.rs\n\n")).unwrap();
        assert_eq!(from_array, vec!["src/a.rs", "src/b.rs"]);
        assert_eq!(from_commas, from_array);
        assert_eq!(from_lines, from_array);
        assert!(parse_list("files", &Value::Null).unwrap().is_empty());
    }

    #[test]
    fn a_json_array_sent_as_a_string_is_read_as_that_array() {
        let items = parse_list("files", &json!(r#"["a.rs", "b, c.rs"]"#)).unwrap();
        assert_eq!(items, vec!["a.rs", "b, c.rs"]);
        let items = parse_list("files", &json!(" [\"a.rs\",\n\"b.rs\"] ")).unwrap();
        assert_eq!(items, vec!["a.rs", "b.rs"]);
        // Not an array of strings: the string is split as before.
        let items = parse_list("files", &json!("[draft], final")).unwrap();
        assert_eq!(items, vec!["[draft]", "final"]);
        let items = parse_list("files", &json!(r#"["a", 1]"#)).unwrap();
        assert_eq!(items, vec![r#"["a""#, "1]"]);
        let many: Vec<String> = (0..=MAX_LIST_ITEMS).map(|i| i.to_string()).collect();
        let err = parse_list("files", &json!(serde_json::to_string(&many).unwrap()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("files") && err.contains("1000 items"), "{err}");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err = parse_list("next_steps", &json!(42))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("next_steps must be") && err.contains("a number"),
            "{err}"
        );
        let err = parse_list("affects", &json!(["a", 3]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("affects item 2 must be a string"), "{err}");
    }

    #[test]
    fn bounds_name_the_field_and_the_limit() {
        let long = "x".repeat(MAX_LIST_ITEM_BYTES + 1);
        let err = parse_list("decisions_made", &json!([long]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("decisions_made") && err.contains("4 KiB"),
            "{err}"
        );
        let many: Vec<String> = (0..=MAX_LIST_ITEMS).map(|i| i.to_string()).collect();
        let err = parse_list("files_touched", &json!(many))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("files_touched") && err.contains("1000 items"),
            "{err}"
        );
        let err = check_text(
            "summary",
            &"y".repeat(MAX_SUMMARY_BYTES + 1),
            MAX_SUMMARY_BYTES,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("summary") && err.contains("64 KiB"), "{err}");
        assert!(check_text("summary", &"y".repeat(MAX_SUMMARY_BYTES), MAX_SUMMARY_BYTES).is_ok());
    }

    #[test]
    fn ids_must_be_one_nonempty_line() {
        assert!(check_id("topic", "auth").is_ok());
        assert!(check_id("topic", "  ").is_err());
        assert!(check_id("topic", "a\nb").is_err());
        assert!(check_id("topic", &"t".repeat(MAX_ID_BYTES + 1)).is_err());
    }

    #[test]
    fn cli_values_split_too() {
        let items = from_cli("files", &["a.rs,b.rs".into(), "c.rs".into()]).unwrap();
        assert_eq!(items, vec!["a.rs", "b.rs", "c.rs"]);
    }
}
