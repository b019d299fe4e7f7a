//! Synthetic text with a realistic word distribution: prose for chat messages, code
//! and logs for tool results.
//!
//! Words follow Zipf's law over a fixed vocabulary, as natural language does, so the
//! full-text index sees a few very frequent terms and a long tail. The vocabulary is
//! made of consonant-vowel syllables (every word ends in a vowel), so the search
//! benchmark's query words, which do not have that shape, occur exactly where the
//! generator puts them.

use std::collections::HashSet;
use std::fmt::Write as _;

use crate::code::CodeCorpus;
use crate::rng::Rng;

/// Injected into a known share of the search dataset's messages.
pub(crate) const COMMON_QUERY_WORD: &str = "quorum";
/// Injected into a handful of the search dataset's messages.
pub(crate) const RARE_QUERY_WORD: &str = "zeppelin";

const CONSONANTS: &[u8] = b"bdfgklmnprstvz";
const VOWELS: &[u8] = b"aeiou";

pub(crate) struct Vocabulary {
    words: Vec<String>,
    /// Cumulative Zipf weights, normalised to end at 1.0.
    cumulative: Vec<f64>,
    /// Real source code for file reads and search results; synthetic code without.
    corpus: Option<CodeCorpus>,
}

impl Vocabulary {
    pub(crate) fn new(size: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let mut seen = HashSet::with_capacity(size);
        let mut words = Vec::with_capacity(size);
        while words.len() < size.max(1) {
            let syllables = rng.range(2, 4);
            let mut word = String::with_capacity(8);
            for _ in 0..syllables {
                word.push(char::from(*rng.pick(CONSONANTS)));
                word.push(char::from(*rng.pick(VOWELS)));
            }
            if seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let mut cumulative = Vec::with_capacity(words.len());
        let mut total = 0.0;
        for rank in 1..=words.len() {
            total += 1.0 / rank as f64;
            cumulative.push(total);
        }
        for weight in &mut cumulative {
            *weight /= total;
        }
        Vocabulary {
            words,
            cumulative,
            corpus: None,
        }
    }

    /// The standard vocabulary of every dataset.
    pub(crate) fn standard() -> Self {
        Vocabulary::new(20_000, 0x5eed_0001)
    }

    /// Tool outputs that show code take it from `corpus` (see `code.rs`).
    pub(crate) fn with_code(mut self, corpus: Option<CodeCorpus>) -> Self {
        self.corpus = corpus;
        self
    }

    /// What a file read shows: a slice of real code when there is a corpus.
    pub(crate) fn file_content(&self, rng: &mut Rng, out: &mut String, bytes: usize) {
        match &self.corpus {
            Some(corpus) => corpus.slice(rng, out, bytes),
            None => self.code(rng, out, bytes),
        }
    }

    /// What a code search shows: `path:line: code` lines of real code when there
    /// is a corpus, build and grep output lines without.
    pub(crate) fn search_output(&self, rng: &mut Rng, out: &mut String, bytes: usize) {
        let Some(corpus) = &self.corpus else {
            return self.log(rng, out, bytes);
        };
        let mut code = String::new();
        corpus.slice(rng, &mut code, bytes);
        let path = self.path(rng);
        let mut line_no = rng.range(1, 900);
        for line in code.lines() {
            if rng.chance(0.1) {
                line_no += rng.range(5, 200);
            }
            let _ = writeln!(out, "{path}:{line_no}: {line}");
            line_no += 1;
            if out.len() >= bytes {
                break;
            }
        }
    }

    /// The word of the given frequency rank (0 is the most frequent).
    pub(crate) fn ranked(&self, rank: usize) -> &str {
        &self.words[rank.min(self.words.len() - 1)]
    }

    pub(crate) fn word(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let rank = self.cumulative.partition_point(|c| *c < u);
        self.ranked(rank)
    }

    /// `words` words separated by spaces.
    pub(crate) fn push_words(&self, rng: &mut Rng, out: &mut String, words: usize) {
        for i in 0..words {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(self.word(rng));
        }
    }

    pub(crate) fn identifier(&self, rng: &mut Rng, out: &mut String) {
        out.push_str(self.word(rng));
        out.push('_');
        out.push_str(self.word(rng));
    }

    pub(crate) fn type_name(&self, rng: &mut Rng, out: &mut String) {
        for _ in 0..2 {
            let word = self.word(rng);
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        }
    }

    pub(crate) fn path(&self, rng: &mut Rng) -> String {
        let mut path = String::from("src/");
        for _ in 0..rng.range(0, 2) {
            path.push_str(self.word(rng));
            path.push('/');
        }
        self.identifier(rng, &mut path);
        path.push_str(".rs");
        path
    }

    /// Sentences until `out` has grown by at least `bytes`.
    pub(crate) fn prose(&self, rng: &mut Rng, out: &mut String, bytes: usize) {
        let goal = out.len() + bytes;
        while out.len() < goal {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            let start = out.len();
            let words = rng.range(5, 18) as usize;
            self.push_words(rng, out, words);
            if let Some(first) = out[start..].chars().next() {
                let upper: String = first.to_uppercase().collect();
                out.replace_range(start..start + first.len_utf8(), &upper);
            }
            out.push(if rng.chance(0.1) { '?' } else { '.' });
            if rng.chance(0.15) {
                out.push_str("\n\n");
            }
        }
    }

    /// Source-code-looking lines until `out` has grown by at least `bytes`.
    pub(crate) fn code(&self, rng: &mut Rng, out: &mut String, bytes: usize) {
        let goal = out.len() + bytes;
        let mut line_no = rng.range(1, 400);
        while out.len() < goal {
            let _ = write!(out, "{line_no:>5}\t");
            line_no += 1;
            match rng.range(0, 5) {
                0 => {
                    out.push_str("pub fn ");
                    self.identifier(rng, out);
                    out.push('(');
                    self.push_words(rng, out, 1);
                    out.push_str(": &");
                    self.type_name(rng, out);
                    out.push_str(") -> Result<");
                    self.type_name(rng, out);
                    out.push_str("> {");
                }
                1 => {
                    out.push_str("    let ");
                    self.identifier(rng, out);
                    out.push_str(" = ");
                    self.identifier(rng, out);
                    let _ = write!(out, "(&{}, {})?;", self.word(rng), rng.range(0, 4096));
                }
                2 => {
                    out.push_str("    // ");
                    let words = rng.range(4, 12) as usize;
                    self.push_words(rng, out, words);
                }
                3 => {
                    out.push_str("    if ");
                    self.identifier(rng, out);
                    out.push_str(".is_empty() { return Err(Error::");
                    self.type_name(rng, out);
                    out.push_str("); }");
                }
                _ => out.push('}'),
            }
            out.push('\n');
        }
    }

    /// Build, test or grep output lines until `out` has grown by at least `bytes`.
    pub(crate) fn log(&self, rng: &mut Rng, out: &mut String, bytes: usize) {
        let goal = out.len() + bytes;
        while out.len() < goal {
            match rng.range(0, 2) {
                0 => {
                    out.push_str("test ");
                    self.identifier(rng, out);
                    out.push_str("::");
                    self.identifier(rng, out);
                    out.push_str(if rng.chance(0.05) {
                        " ... FAILED"
                    } else {
                        " ... ok"
                    });
                }
                1 => {
                    let path = self.path(rng);
                    let _ = write!(out, "{path}:{}: ", rng.range(1, 900));
                    let words = rng.range(3, 10) as usize;
                    self.push_words(rng, out, words);
                }
                _ => {
                    out.push_str("   Compiling ");
                    self.identifier(rng, out);
                    let _ = write!(out, " v0.{}.{}", rng.range(1, 9), rng.range(0, 30));
                }
            }
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_is_distinct_and_never_holds_the_query_words() {
        let vocabulary = Vocabulary::new(2_000, 3);
        let distinct: HashSet<&str> = vocabulary.words.iter().map(String::as_str).collect();
        assert_eq!(distinct.len(), 2_000);
        assert!(!distinct.contains(COMMON_QUERY_WORD));
        assert!(!distinct.contains(RARE_QUERY_WORD));
    }

    #[test]
    fn frequent_words_are_frequent() {
        let vocabulary = Vocabulary::new(20_000, 3);
        let mut rng = Rng::new(9);
        let top = vocabulary.ranked(0).to_owned();
        let tail = vocabulary.ranked(19_000).to_owned();
        let (mut top_hits, mut tail_hits) = (0, 0);
        for _ in 0..100_000 {
            let w = vocabulary.word(&mut rng);
            top_hits += usize::from(w == top);
            tail_hits += usize::from(w == tail);
        }
        // Zipf over 20,000 words: rank 1 has about 9.4 %, rank 19,001 about 0.0005 %.
        assert!((8_000..11_000).contains(&top_hits), "{top_hits}");
        assert!(tail_hits < 20, "{tail_hits}");
    }

    #[test]
    fn text_shapes_reach_their_size() {
        let vocabulary = Vocabulary::new(500, 3);
        let mut rng = Rng::new(1);
        for size in [1, 100, 10_000] {
            for shape in [Vocabulary::prose, Vocabulary::code, Vocabulary::log] {
                let mut out = String::new();
                shape(&vocabulary, &mut rng, &mut out, size);
                assert!(out.len() >= size);
                assert!(out.len() < size + 300, "{} for {size}", out.len());
            }
        }
    }
}
