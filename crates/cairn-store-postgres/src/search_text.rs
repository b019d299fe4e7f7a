//! What the full-text index sees, and how a person's query becomes a tsquery,
//! split into words the same way on both sides: every run of letters and digits is
//! a word (punctuation splits), so the parser's special tokens (paths, URLs,
//! hyphenated words) never make the index and the query disagree. Case and
//! diacritics are folded by the `cairn_search` configuration (`unaccent`, `simple`).

use cairn_core::Payload;

/// The words of `text`, joined by spaces: what `to_tsvector` indexes.
pub(crate) fn index_words(text: &str) -> String {
    words(text).collect::<Vec<_>>().join(" ")
}

/// The searchable text of an event, as snippets show it: PostgreSQL text cannot
/// hold NUL, which separates words like any other control.
pub(crate) fn event_text(payload: &Payload) -> String {
    payload.searchable_text().replace('\0', " ")
}

/// What the index keeps of an event: the words of its text; `None` without text.
pub(crate) fn event_words(payload: &Payload) -> Option<String> {
    let text = event_text(payload);
    (!text.is_empty()).then(|| index_words(&text))
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// A `websearch_to_tsquery` input that matches what a person typed literally:
/// each whitespace-separated word becomes a quoted phrase of its letter-and-digit
/// runs (so `refresh-token` is `refresh` followed by `token`), all of them
/// required. Words without a letter or digit are dropped; `None` when nothing
/// searchable is left. Quotes are the only syntax left and no word holds one.
pub(crate) fn literal_query(user_text: &str) -> Option<String> {
    let phrases: Vec<String> = user_text
        .split_whitespace()
        .map(|word| words(word).collect::<Vec<_>>().join(" "))
        .filter(|phrase| !phrase.is_empty())
        .map(|phrase| format!("\"{phrase}\""))
        .collect();
    (!phrases.is_empty()).then(|| phrases.join(" "))
}

/// The phrases of a query as the server writes it for a [`literal_query`]
/// (`'refresh' <-> 'token' & 'x'`): the lexemes of each chain of more than one.
/// `None` for any other shape (the caller then asks the server about every
/// candidate).
pub(crate) fn phrases_of(tsquery: &str) -> Option<Vec<Vec<String>>> {
    let mut phrases = Vec::new();
    for chain in tsquery.split(" & ") {
        let lexemes = chain
            .split(" <-> ")
            .map(|quoted| {
                let lexeme = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
                let plain = !lexeme.is_empty() && lexeme.chars().all(char::is_alphanumeric);
                plain.then(|| lexeme.to_owned())
            })
            .collect::<Option<Vec<_>>>()?;
        if lexemes.len() > 1 {
            phrases.push(lexemes);
        }
    }
    Some(phrases)
}

/// Lexemes of this many bytes or more are left out of a vector by PostgreSQL.
const TOO_LONG: usize = 2048;

/// Whether `text` may hold every one of `phrases` (lexemes in order, next to
/// each other): `false` only when it surely does not, so that most candidates
/// that fail are told apart here instead of by the server (which tokenizes
/// about 5 MB/s with `unaccent`). An ASCII word is compared lower-cased, which is
/// what `cairn_search` makes of it; any other word may be any lexeme; a word too
/// long to be indexed is left out, which can only join more neighbours.
pub(crate) fn may_hold(text: &str, phrases: &[Vec<String>]) -> bool {
    let words: Vec<&str> = words(text)
        .filter(|word| !word.is_ascii() || word.len() < TOO_LONG)
        .collect();
    phrases.iter().all(|phrase| {
        words.windows(phrase.len()).any(|window| {
            window
                .iter()
                .zip(phrase)
                .all(|(word, lexeme)| !word.is_ascii() || word.eq_ignore_ascii_case(lexeme))
        })
    })
}

/// `…` before and after a `ts_headline` fragment where it cut `text`, judged by
/// whether the fragment (brackets removed) starts or ends the text.
pub(crate) fn mark_cuts(headline: &str, text: &str) -> String {
    let plain = headline.replace(['[', ']'], "");
    let plain = plain.trim();
    let text = text.trim();
    let mut out = String::with_capacity(headline.len() + 6);
    if !text.starts_with(plain) {
        out.push('…');
    }
    out.push_str(headline.trim());
    if !text.ends_with(plain) {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_splits_words_and_syntax_is_literal() {
        assert_eq!(
            index_words("see src/a.rs, or refresh-token!"),
            "see src a rs or refresh token"
        );
        assert_eq!(
            literal_query("refresh-token AND \"x"),
            Some(r#""refresh token" "AND" "x""#.into())
        );
        assert_eq!(literal_query(" * ( ) -- "), None);
        assert_eq!(literal_query(""), None);
    }

    #[test]
    fn phrases_are_read_from_the_servers_query_text() {
        let phrases = phrases_of("'refresh' <-> 'token' & 'x' & 'lib' <-> 'rs'").unwrap();
        assert_eq!(phrases, [vec!["refresh", "token"], vec!["lib", "rs"]]);
        assert_eq!(phrases_of("'x' & 'y'").unwrap(), Vec::<Vec<String>>::new());
        assert_eq!(phrases_of("( 'a' <-> 'b' ) | 'c'"), None);
        assert_eq!(phrases_of("'a' <2> 'b'"), None);
    }

    #[test]
    fn a_text_may_hold_a_phrase_only_with_its_words_next_to_each_other() {
        let refresh_token = [vec!["refresh".to_owned(), "token".to_owned()]];
        assert!(may_hold("rotate the Refresh-TOKEN daily", &refresh_token));
        assert!(!may_hold(
            "token refresh, refresh the token",
            &refresh_token
        ));
        // A word this check cannot fold may be either lexeme.
        assert!(may_hold("refresh tökén", &refresh_token));
        // A word PostgreSQL would not index does not separate the phrase.
        let long = "a".repeat(TOO_LONG);
        assert!(may_hold(&format!("refresh {long} token"), &refresh_token));
        assert!(may_hold("anything", &[]));
    }

    #[test]
    fn cuts_are_marked_only_where_text_was_left_out() {
        assert_eq!(
            mark_cuts("short [Needle] text", "short Needle text"),
            "short [Needle] text"
        );
        assert_eq!(mark_cuts("b [c] d", "a b c d e"), "…b [c] d…");
    }
}
