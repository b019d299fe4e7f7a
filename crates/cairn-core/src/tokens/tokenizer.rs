//! A BPE with tiktoken's pre-tokenizer: the text is split by the pattern, and each
//! piece is encoded on its own (the BPE never merges across pieces).
//!
//! This is `bpe-openai`'s `Tokenizer` (MIT, github.com/github/rust-gems), the part
//! cairn used of it. Depending on that crate ran its build script on every first
//! build: three BPE tables (cl100k, o200k, voyage3) built and serialized by an
//! unoptimised build script, about 12 s of CPU, for tables cairn never reads (it
//! builds its own from the token lists, see `tables.rs`).

use bpe::byte_pair_encoding::BytePairEncoding;
use regex_automata::meta::{BuildError, Regex};
use regex_automata::{Anchored, Input};

pub(super) struct Tokenizer {
    pub(super) bpe: BytePairEncoding,
    /// All patterns in one regex, tried in order at each position.
    pattern: Regex,
    /// Per pattern: whether its last character is a look-ahead, matched but given back.
    lookahead: Vec<bool>,
}

impl Tokenizer {
    /// A tokenizer splitting with `patterns`. A pattern marked `true` stands for a
    /// negative look-ahead the regex engine lacks (`\s+(?!\S)` becomes `\s+\s`): its
    /// match must be at least two characters, and the last one is given back.
    pub(super) fn new_lookahead(
        bpe: BytePairEncoding,
        patterns: &[(&str, bool)],
    ) -> Result<Self, Box<BuildError>> {
        let (patterns, lookahead): (Vec<&str>, Vec<bool>) = patterns.iter().copied().unzip();
        let pattern = Regex::new_many(&patterns).map_err(Box::new)?;
        Ok(Tokenizer {
            bpe,
            pattern,
            lookahead,
        })
    }

    /// The text's pre-tokenizer pieces, in order; together they are the whole text.
    pub(super) fn split<'a>(&'a self, text: &'a str) -> Splits<'a> {
        Splits {
            tokenizer: self,
            text,
            last: 0,
        }
    }

    /// The text's token ids.
    #[cfg(test)]
    pub(super) fn encode(&self, text: &str) -> Vec<u32> {
        self.split(text)
            .flat_map(|piece| self.bpe.encode_via_backtracking(piece.as_bytes()))
            .collect()
    }
}

pub(super) struct Splits<'a> {
    tokenizer: &'a Tokenizer,
    text: &'a str,
    last: usize,
}

impl<'a> Iterator for Splits<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let input = Input::new(&self.text[self.last..]).anchored(Anchored::Yes);
        let found = self.tokenizer.pattern.find(input)?;
        let start = self.last;
        let mut end = start + found.range().end;
        if self.tokenizer.lookahead[found.pattern().as_usize()] {
            // Give back the look-ahead character, unless that would leave an empty
            // piece (which would stop the split short of the text's end).
            if let Some(last) = self.text[start..end].chars().next_back()
                && end - last.len_utf8() > start
            {
                end -= last.len_utf8();
            }
        }
        if end == start {
            return None;
        }
        self.last = end;
        Some(&self.text[start..end])
    }
}
