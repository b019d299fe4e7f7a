//! What the full-text index sees: the searchable text of an event, computed the
//! same way when a row is indexed (in Rust) and when FTS5 reads it back for a
//! snippet or a delete (through the `cairn_search_text` SQL function).
//!
//! The index is external-content: deleting a row tells FTS5 the text it indexed,
//! recomputed here. So if what `Payload::searchable_text` returns ever changes, the
//! same release must add a migration step that rebuilds the index
//! (`INSERT INTO event_fts (event_fts) VALUES ('rebuild')`).

use cairn_core::event::decode_payload;
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use serde_json::{Map, Value};

pub(crate) const FUNCTION_NAME: &str = "cairn_search_text";

/// The searchable text of a stored event (kind + JSON body); empty when the body
/// cannot be decoded, so a damaged row never breaks a search.
pub(crate) fn stored_event_text(kind: &str, body: &str) -> String {
    let Ok(fields) = serde_json::from_str::<Map<String, Value>>(body) else {
        return String::new();
    };
    decode_payload(kind.to_owned(), fields)
        .map(|payload| payload.searchable_text())
        .unwrap_or_default()
}

/// Every connection registers this before touching the FTS index.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        FUNCTION_NAME,
        2,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            let kind: String = ctx.get(0)?;
            let body: String = ctx.get(1)?;
            Ok(stored_event_text(&kind, &body))
        },
    )
}

/// Turns what a person typed into an FTS5 query that matches each word literally
/// (all words must occur). FTS5 operators (`AND`, `*`, `"`, `(`, `NEAR`, `:`) lose
/// their meaning; words without any letter or digit are dropped because they can
/// match nothing. `None` when nothing searchable is left.
pub(crate) fn literal_query(user_text: &str) -> Option<String> {
    let phrases: Vec<String> = user_text
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .map(|word| format!("\"{}\"", word.replace('"', "\"\"")))
        .collect();
    if phrases.is_empty() {
        None
    } else {
        Some(phrases.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_become_literal_phrases() {
        assert_eq!(
            literal_query("a AND b").as_deref(),
            Some(r#""a" "AND" "b""#)
        );
        assert_eq!(
            literal_query(r#"say "hi"#).as_deref(),
            Some(r#""say" """hi""#)
        );
        assert_eq!(literal_query(" * ( ) "), None);
        assert_eq!(literal_query(""), None);
    }
}
