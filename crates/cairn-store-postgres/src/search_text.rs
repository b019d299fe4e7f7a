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

/// Words of this many bytes or more are left out of a vector by PostgreSQL
/// (`MAXSTRLEN`), without taking a position.
pub(crate) const TOO_LONG: usize = 2047;

/// The last position a vector records (`MAXENTRYPOS - 1`): every later word is
/// placed there too.
const LAST_POSITION: u32 = 16_383;

/// Positions a vector keeps of one lexeme (`MAXNUMPOS - 1`): the first ones.
const POSITIONS_KEPT: usize = 255;

/// Texts longer than this are left to the server: its vector of them might pass
/// its 1 MB limit (each word of `n` bytes costs at most `n + 4` there, and takes
/// at least `n + 1` here) and fail, which the client would not.
const LONGEST_DECIDED: usize = (1 << 20) / 3;

/// What the client can tell, before asking the server, of whether a text holds a
/// query's phrases: that the words of each are next to each other in the text
/// ([`may_hold`], which an ASCII text answers exactly), and that
/// `to_tsvector('cairn_search', words) @@ query` is true (which, past the
/// vector's limits, is not the same). A hit needs both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PhraseVerdict {
    Held,
    NotHeld,
    /// Only the server can tell.
    AskServer,
}

/// [`PhraseVerdict`] of `text` for `phrases` (lexemes in order, next to each
/// other). Decided here when every word of the text is ASCII: the server's parser
/// makes each of them one token whose lexeme is the word lower-cased (a test
/// holds the server to that; [`one_token`] names the exception), so the client
/// can number them as it does, with its
/// limits: words too long to index take no position, positions stop at
/// [`LAST_POSITION`], a lexeme keeps its first [`POSITIONS_KEPT`]. A text with
/// any other word is left to the server unless [`may_hold`] rules it out.
pub(crate) fn phrase_verdict(text: &str, phrases: &[Vec<String>]) -> PhraseVerdict {
    let undecided = || {
        if may_hold(text, phrases) {
            PhraseVerdict::AskServer
        } else {
            PhraseVerdict::NotHeld
        }
    };
    if text.len() > LONGEST_DECIDED {
        return undecided();
    }
    let mut lexemes: Vec<&str> = phrases.iter().flatten().map(String::as_str).collect();
    lexemes.sort_unstable();
    lexemes.dedup();
    // Per lexeme: where it is in the text, and where the server's vector has it.
    let mut in_text: Vec<Vec<u32>> = vec![Vec::new(); lexemes.len()];
    let mut in_vector: Vec<Vec<u32>> = vec![Vec::new(); lexemes.len()];
    let mut position = 0u32;
    for word in words(text) {
        if !word.is_ascii() || !one_token(word) {
            return undecided();
        }
        if word.len() >= TOO_LONG {
            continue;
        }
        position = position.saturating_add(1);
        let kept_at = position.min(LAST_POSITION);
        for (i, lexeme) in lexemes.iter().enumerate() {
            if !word.eq_ignore_ascii_case(lexeme) {
                continue;
            }
            in_text[i].push(position);
            let kept = &mut in_vector[i];
            if kept.len() < POSITIONS_KEPT && kept.last() != Some(&kept_at) {
                kept.push(kept_at);
            }
        }
    }
    let held = |positions: &[Vec<u32>]| {
        let of = |lexeme: &str| {
            lexemes
                .binary_search(&lexeme)
                .map_or(&[][..], |i| positions[i].as_slice())
        };
        phrases.iter().all(|phrase| {
            let Some((first, rest)) = phrase.split_first() else {
                return true;
            };
            of(first).iter().any(|&start| {
                rest.iter()
                    .zip(1u32..)
                    .all(|(lexeme, offset)| of(lexeme).binary_search(&(start + offset)).is_ok())
            })
        })
    };
    if held(&in_text) && held(&in_vector) {
        PhraseVerdict::Held
    } else {
        PhraseVerdict::NotHeld
    }
}

/// Whether PostgreSQL's parser reads an ASCII word as one token: every one but a
/// number in scientific notation run into letters (`1e5x` is `1e5` and `x`).
pub(crate) fn one_token(word: &str) -> bool {
    let bytes = word.as_bytes();
    let digits = |from: usize| {
        bytes
            .iter()
            .skip(from)
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mantissa = digits(0);
    if mantissa == 0 || !matches!(bytes.get(mantissa), Some(b'e' | b'E')) {
        return true;
    }
    let exponent = digits(mantissa + 1);
    exponent == 0 || mantissa + 1 + exponent == bytes.len()
}

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
    fn an_ascii_text_is_decided_by_the_vectors_own_numbering() {
        let std_sync = [vec!["std".to_owned(), "sync".to_owned()]];
        let verdict = |text: &str| phrase_verdict(text, &std_sync);
        assert_eq!(verdict("use std::sync::Arc;"), PhraseVerdict::Held);
        assert_eq!(verdict("use std::fs::{sync};"), PhraseVerdict::NotHeld);
        // Past the last position every word sits at it: not next to each other.
        let filler = "w ".repeat(16_382);
        assert_eq!(
            verdict(&format!("{filler}std sync")),
            PhraseVerdict::NotHeld
        );
        // …so the server finds a word after it next to the word placed just
        // before it: not a hit, the words are not next to each other.
        let short = "w ".repeat(16_381);
        assert_eq!(
            verdict(&format!("{short}std w sync")),
            PhraseVerdict::NotHeld
        );
        assert_eq!(verdict(&format!("{short}std sync")), PhraseVerdict::Held);
        // Only a lexeme's first 255 positions are kept.
        let many = "std x ".repeat(255);
        assert_eq!(verdict(&format!("{many}std sync")), PhraseVerdict::NotHeld);
        let long = "a".repeat(TOO_LONG);
        assert_eq!(verdict(&format!("std {long} sync")), PhraseVerdict::Held);
        // A word the parser splits leaves it to the server, unless ruled out.
        assert_eq!(verdict("std sync 1e5x"), PhraseVerdict::AskServer);
        assert!(one_token("1e5") && one_token("1ex") && one_token("x1e5x"));
        assert!(!one_token("1e5x") && !one_token("12E34e5"));
        // A word this side cannot number leaves it to the server, unless ruled out.
        assert_eq!(verdict("std sync tökén"), PhraseVerdict::AskServer);
        assert_eq!(verdict("sync tökén x std"), PhraseVerdict::NotHeld);
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
