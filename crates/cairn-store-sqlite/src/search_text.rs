//! What the full-text index sees: the words of an event's searchable text, each
//! once ([`index_words`]), computed the same way when a row is indexed (in Rust)
//! and when FTS5 reads it back for a delete (through the `cairn_search_text` SQL
//! function). A search checks phrases and cuts snippets from the whole text
//! (`cairn_event_text`).
//!
//! The index is external-content: deleting a row tells FTS5 the text it indexed,
//! recomputed here. So if the words `Payload::searchable_text` gives ever change,
//! the same release must add a migration step that rebuilds the index
//! (`INSERT INTO event_fts (event_fts) VALUES ('rebuild')`), as the step that
//! brought [`index_words`] did.

use cairn_core::event::decode_payload;
use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rustc_hash::FxHashSet;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The index's text of a stored event: [`index_words`] of its searchable text.
pub(crate) const TEXT_FUNCTION: &str = "cairn_search_text";
/// The whole searchable text of a stored event, for phrases and snippets.
pub(crate) const WHOLE_TEXT_FUNCTION: &str = "cairn_event_text";
/// The tokenizer of every full-text index (and of `phrases.rs`).
pub(crate) const TOKENIZER: &str = "unicode61 remove_diacritics 2";
pub(crate) const PROJECT_FUNCTION: &str = "cairn_project_token";
pub(crate) const CHECKPOINT_FUNCTION: &str = "cairn_checkpoint_text";

/// One FTS token standing for a project: `p` + 32 hex digits of its sha256.
pub(crate) fn project_token(project: &str) -> String {
    let digest = Sha256::digest(project.as_bytes());
    format!("p{}", hex::encode(&digest[..16]))
}

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

/// What the message index is given for `text`: each of its words once, in the
/// order they first appear, one space apart. The index keeps which events hold
/// a token, not where or how often (`detail=none`), so the entries are the same
/// as for the whole text, and FTS5 tokenizes a 200 KB tool output's few thousand
/// distinct words instead of its tens of thousands of tokens (FTS5 was most of
/// an import's writer thread: BENCHMARKS.md, "The index given each word once").
///
/// A word here is a run of characters between ASCII characters that are neither
/// letters nor digits, every one of which the tokenizer (`unicode61`) separates
/// tokens at; so each word gives FTS5 exactly the tokens it gives in its place
/// in the text (`foo_bar(x)` is `foo`, `bar`, `x` either way). Words are compared
/// as written; the tokenizer folds case and diacritics after. A text with no
/// such word (only ASCII punctuation) is given as it is: it holds no token; so
/// is a text under [`WORDS_FROM`] bytes.
pub(crate) fn index_words(text: String) -> String {
    if text.len() < WORDS_FROM {
        return text;
    }
    let bytes = text.as_bytes();
    let mut seen: FxHashSet<&[u8]> = FxHashSet::default();
    // About one distinct word per 16 bytes of code: no rehash on the way.
    seen.reserve(bytes.len() / 16);
    let mut words = Vec::with_capacity(bytes.len() / 2);
    let mut at = 0;
    while at < bytes.len() {
        if !in_word(bytes[at]) {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && in_word(bytes[at]) {
            at += 1;
        }
        let word = &bytes[start..at];
        if seen.insert(word) {
            if !words.is_empty() {
                words.push(b' ');
            }
            words.extend_from_slice(word);
        }
    }
    if words.is_empty() {
        return text;
    }
    // Cut only at ASCII bytes, which never fall inside a UTF-8 sequence.
    String::from_utf8(words).unwrap_or(text)
}

/// Texts shorter than this are given to the index as they are: their repeats
/// cost FTS5 less than finding them would.
const WORDS_FROM: usize = 1024;

/// Whether `byte` can be part of a word: an ASCII letter or digit, or any byte
/// of a non-ASCII character.
fn in_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || !byte.is_ascii()
}

/// The searchable text of a checkpoint: its session id, summary, then its decisions,
/// next steps and files (each a JSON array of strings, as stored), one per line.
/// A column that is not such an array is taken as it is.
pub(crate) fn checkpoint_text(session_id: &str, summary: &str, lists: [&str; 3]) -> String {
    let mut text = format!("{session_id}\n{summary}");
    for list in lists {
        match serde_json::from_str::<Vec<Value>>(list) {
            Ok(items) => {
                for item in items {
                    text.push('\n');
                    match item {
                        Value::String(item) => text.push_str(&item),
                        other => text.push_str(&other.to_string()),
                    }
                }
            }
            Err(_) => {
                text.push('\n');
                text.push_str(list);
            }
        }
    }
    text
}

/// Every connection registers these before touching the FTS index.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function(TEXT_FUNCTION, 2, flags, |ctx| {
        Ok(index_words(event_text_of(ctx)?))
    })?;
    conn.create_scalar_function(WHOLE_TEXT_FUNCTION, 2, flags, event_text_of)?;
    conn.create_scalar_function(PROJECT_FUNCTION, 1, flags, |ctx| {
        let project: String = ctx.get(0)?;
        Ok(project_token(&project))
    })?;
    conn.create_scalar_function(CHECKPOINT_FUNCTION, 5, flags, |ctx| {
        let column = |i: usize| ctx.get::<String>(i);
        Ok(checkpoint_text(
            &column(0)?,
            &column(1)?,
            [&column(2)?, &column(3)?, &column(4)?],
        ))
    })
}

/// The searchable text of the event whose kind (as stored: a code or a name,
/// `event_codes`) and body are the arguments; empty for a kind it cannot read.
fn event_text_of(ctx: &Context<'_>) -> rusqlite::Result<String> {
    let Ok(kind) = crate::event_codes::kind_of(ctx.get_raw(0)) else {
        return Ok(String::new());
    };
    let body: String = ctx.get(1)?;
    Ok(stored_event_text(&kind, &body))
}

/// Turns what a person typed into an FTS5 query that matches each word literally
/// in the text column (all words must occur), and only in `project` when given.
/// FTS5 operators (`AND`, `*`, `"`, `(`, `NEAR`, `:`) lose their meaning; words
/// without any letter or digit are dropped because they can match nothing.
/// `None` when nothing searchable is left.
pub(crate) fn literal_query(user_text: &str, project: Option<&str>) -> Option<String> {
    let mut phrases: Vec<String> = user_text
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .map(|word| format!("text : \"{}\"", word.replace('"', "\"\"")))
        .collect();
    if phrases.is_empty() {
        return None;
    }
    if let Some(project) = project {
        phrases.push(format!("scope : \"{}\"", project_token(project)));
    }
    Some(phrases.join(" AND "))
}

/// A search of the message index (`detail=none`: no columns, no positions in
/// queries): every token of every word and the project's token must occur; the
/// words of more than one token must also occur as phrases, which the caller
/// checks on each candidate ([`crate::phrases::holds_all`]).
pub(crate) struct EventQuery {
    pub fts: String,
    pub phrases: Vec<Vec<String>>,
    /// The text's part of `fts` (every token, no project): what a snippet shows.
    pub terms: String,
}

/// [`literal_query`]'s rules for the message index. The project token can only
/// match the `scope` column: no text holds `p` and 32 hex digits of a sha256.
pub(crate) fn event_query(
    user_text: &str,
    project: Option<&str>,
) -> rusqlite::Result<Option<EventQuery>> {
    let mut terms: Vec<String> = Vec::new();
    let mut phrases = Vec::new();
    for word in user_text
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
    {
        let tokens = crate::phrases::tokens(word)?;
        for token in &tokens {
            let term = crate::phrases::phrase(std::slice::from_ref(token));
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
        if tokens.len() > 1 {
            phrases.push(tokens);
        }
    }
    if terms.is_empty() {
        return Ok(None);
    }
    let text_terms = terms.join(" AND ");
    let fts = match project {
        Some(project) => format!("{text_terms} AND \"{}\"", project_token(project)),
        None => text_terms.clone(),
    };
    Ok(Some(EventQuery {
        fts,
        phrases,
        terms: text_terms,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_words_are_each_word_once_in_first_order() {
        let long = |text: &str| text.repeat(WORDS_FROM / text.len() + 1);
        assert_eq!(
            index_words(long("foo bar foo baz. foo(bar)\n\tBaz ")),
            "foo bar baz Baz"
        );
        assert_eq!(index_words(long("a_b::a_b(c) ")), "a b c");
        assert_eq!(index_words(long("naïve—x ")), "naïve—x");
        // No word: as it is (it holds no token either way).
        let punctuation = long("!!! -- ; ");
        assert_eq!(index_words(punctuation.clone()), punctuation);
        // Short: as it is.
        assert_eq!(index_words("foo foo".into()), "foo foo");
        assert_eq!(index_words(String::new()), "");
    }

    /// The one property the index relies on: FTS5's tokenizer makes the same
    /// set of tokens of the words as of the whole text.
    #[test]
    fn index_words_give_the_tokenizer_the_same_tokens() {
        use std::collections::BTreeSet;
        let texts = [
            "fn main() { let x_1 = foo::bar(&y); x_1 += 2; } // Foo FOO",
            "naïve café—über_Straße; résumé-résumé, Ærø",
            "日本語のテキスト、テスト。 テスト!",
            "e\u{301}cole \u{1F600}smile\u{1F600} tab\there\r\nnew",
            "mixed\u{00a0}space and\u{2028}line sep – dash … ellipsis",
            "refresh-token refresh_token REFRESH.TOKEN 0x1F 3.14 1e-9",
        ];
        for text in texts {
            let text = &text.repeat(WORDS_FROM / text.len() + 1);
            let whole: BTreeSet<String> =
                crate::phrases::tokens(text).unwrap().into_iter().collect();
            let words: BTreeSet<String> = crate::phrases::tokens(&index_words(text.clone()))
                .unwrap()
                .into_iter()
                .collect();
            assert!(!whole.is_empty(), "{text:?}");
            assert_eq!(words, whole, "{text:?}");
        }
    }

    #[test]
    fn operators_become_literal_phrases() {
        assert_eq!(
            literal_query("a AND b", None).as_deref(),
            Some(r#"text : "a" AND text : "AND" AND text : "b""#)
        );
        assert_eq!(
            literal_query(r#"say "hi"#, None).as_deref(),
            Some(r#"text : "say" AND text : """hi""#)
        );
        assert_eq!(literal_query(" * ( ) ", Some("/p")), None);
        assert_eq!(literal_query("", None), None);
        let scoped = literal_query("x", Some("/p/one")).unwrap();
        assert!(scoped.ends_with(&format!(r#"AND scope : "{}""#, project_token("/p/one"))));
        assert_ne!(project_token("/p/one"), project_token("/p/one/sub"));
    }

    #[test]
    fn event_queries_ask_for_every_token_and_keep_the_phrases() {
        let q = event_query(r#"Refresh-token "AND" café lib.rs token"#, Some("/p"))
            .unwrap()
            .unwrap();
        assert_eq!(
            q.fts,
            format!(
                r#""refresh" AND "token" AND "and" AND "cafe" AND "lib" AND "rs" AND "{}""#,
                project_token("/p")
            )
        );
        assert_eq!(q.phrases, [vec!["refresh", "token"], vec!["lib", "rs"]]);
        assert!(event_query(" * ( ) ", None).unwrap().is_none());
    }
}
