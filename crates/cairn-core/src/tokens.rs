//! Token accounting: how many tokens a message, or a whole live context, costs.
//!
//! OpenAI models are counted with their own BPE (o200k_base, or cl100k_base for the
//! older gpt-4/gpt-3.5 names) and the result is labelled [`Accuracy::Exact`]. Every
//! other model is counted with a bytes/3.5 heuristic and labelled
//! [`Accuracy::Estimate`]: cairn does not ship the tokenizers of Anthropic or local
//! models, and says so rather than pretending. Which model gets which [`Method`] is
//! decided by the model catalogue (`cairn_llm::ModelRef::token_counter`); this module
//! only counts.
//! When a provider reports the prompt size of a request, that figure wins
//! ([`live_tokens_after_request`]).
//!
//! The BPEs are GitHub's `bpe-openai` (a linear-time encoder with the same pre-tokenizer
//! patterns as tiktoken, rewritten for a backtracking-free regex engine): it gives
//! tiktoken's counts (checked against `tiktoken-rs` in the tests) several times faster.
//! A live context repeats the same pre-tokenizer pieces (words, indentation, symbols)
//! over and over, so each counting pass also remembers the count of every short piece
//! it has seen: most pieces are then a hash lookup instead of a BPE run.
//!
//! The binary ships OpenAI's token lists, not built tables (`tables`): building a BPE
//! costs about a second of CPU (o200k), so it happens once per process, lazily, the
//! first time a count needs it, and [`warm_up`] can start it on a background thread
//! when a count will soon be needed. While the provider reports the prompt size of
//! each request, the agent needs no count at all ([`TokenCounter::is_ready`]).

use std::sync::atomic::{AtomicBool, Ordering};

use bpe_openai::Tokenizer;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::ToolResultContent;
use crate::{ContentBlock, Event, LiveContext, Message, Payload, Usage};

mod tables;

/// What an image costs in a prompt. Providers charge by resolution (OpenAI: 765 tokens
/// for a 1024×1024 high-detail image; Anthropic: about 1,600 for 1092×1092); cairn does
/// not decode images to count, so it takes the larger, safer figure.
pub const IMAGE_TOKENS: u64 = 1_600;
/// What a video costs: a rough, deliberately generous guess (few providers take video).
pub const VIDEO_TOKENS: u64 = 6_000;
/// Role markers and separators around every message in the chat formats.
pub const MESSAGE_OVERHEAD_TOKENS: u64 = 4;
/// Tool-call framing (id, name, argument wrapper).
const TOOL_USE_OVERHEAD_TOKENS: u64 = 8;
/// Tool-result framing (id, wrapper).
const TOOL_RESULT_OVERHEAD_TOKENS: u64 = 4;

/// Texts above this many bytes are counted on two threads when the machine has them.
const PARALLEL_MIN_BYTES: usize = 128 * 1024;
/// One text longer than this is split at exact token boundaries so both threads help.
const SPLIT_TEXT_ABOVE_BYTES: usize = 64 * 1024;

/// How far a figure can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accuracy {
    /// Counted with the model's own tokenizer (message framing approximated).
    Exact,
    /// Counted with a heuristic or a tokenizer that is not the model's.
    Estimate,
    /// Reported by the provider for the last request, plus what was added since.
    Reported,
}

impl Accuracy {
    pub fn as_str(&self) -> &'static str {
        match self {
            Accuracy::Exact => "exact",
            Accuracy::Estimate => "estimate",
            Accuracy::Reported => "reported",
        }
    }

    /// The weaker of two accuracies, for a sum of figures.
    fn combine(self, other: Accuracy) -> Accuracy {
        match (self, other) {
            (Accuracy::Estimate, _) | (_, Accuracy::Estimate) => Accuracy::Estimate,
            (Accuracy::Reported, _) | (_, Accuracy::Reported) => Accuracy::Reported,
            _ => Accuracy::Exact,
        }
    }
}

/// A token figure together with how it was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCount {
    pub tokens: u64,
    pub accuracy: Accuracy,
}

/// The counting method chosen for a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    O200kBase,
    Cl100kBase,
    /// UTF-8 bytes / 3.5, rounded up per text.
    BytesHeuristic,
}

/// Counts tokens the way one model sees them. Cheap to create and to copy; the BPE
/// tables behind it are loaded once per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenCounter {
    method: Method,
    /// Whether the method is the model's own tokenizer.
    native: bool,
}

impl TokenCounter {
    /// A counter using `method`. `native`: it is the model's own tokenizer, so its
    /// figures are exact; otherwise they are labelled estimates. Which method fits
    /// which model is the model catalogue's business (`cairn_llm::ModelRef`), not
    /// this module's: core counts, it does not read model names.
    pub const fn new(method: Method, native: bool) -> Self {
        TokenCounter {
            method,
            native: native && !matches!(method, Method::BytesHeuristic),
        }
    }

    /// The bytes/3.5 heuristic: no tables to load, labelled as an estimate.
    pub fn estimate() -> Self {
        TokenCounter {
            method: Method::BytesHeuristic,
            native: false,
        }
    }

    pub fn method(&self) -> Method {
        self.method
    }

    /// How far this counter's figures can be trusted (an unloadable BPE degrades to
    /// the heuristic, which is then reported as an estimate).
    pub fn accuracy(&self) -> Accuracy {
        if self.native && self.bpe().is_some() {
            Accuracy::Exact
        } else {
            Accuracy::Estimate
        }
    }

    /// Whether a count needs no table build first: the heuristic, or a BPE already
    /// built in this process. A build costs about a second of CPU and ~60 MB, so the
    /// agent uses the provider's figures instead while they suffice.
    pub fn is_ready(&self) -> bool {
        match self.method {
            Method::O200kBase => tables::settled(true),
            Method::Cl100kBase => tables::settled(false),
            Method::BytesHeuristic => true,
        }
    }

    fn bpe(&self) -> Option<&'static Tokenizer> {
        match self.method {
            Method::O200kBase => tables::o200k(),
            Method::Cl100kBase => tables::cl100k(),
            Method::BytesHeuristic => None,
        }
    }

    /// Tokens of one text.
    pub fn count_text(&self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        match self.bpe() {
            Some(bpe) => PieceCounter::new(bpe).count(text),
            None => heuristic_tokens(text.len()),
        }
    }

    /// Tokens of one message as sent to a model.
    pub fn count_message(&self, message: &Message) -> u64 {
        let mut pieces = MessagePieces::default();
        pieces.add_message(message);
        pieces.fixed + self.count_texts(&pieces.texts())
    }

    /// More tokens than any counter gives `message`, without a tokenizer: a BPE token
    /// stands for at least one byte, so the text's bytes bound its tokens.
    pub fn message_bound(message: &Message) -> u64 {
        let mut pieces = MessagePieces::default();
        pieces.add_message(message);
        pieces.fixed + pieces.texts().iter().map(|t| t.len() as u64).sum::<u64>()
    }

    /// Tokens an event adds to a live context: messages count; compaction, knowledge
    /// and other events are not sent as they are (see [`crate::live_messages`]).
    pub fn count_event(&self, event: &Event) -> u64 {
        match &event.payload {
            Payload::Message(m) => self.count_message(m),
            _ => 0,
        }
    }

    /// The tokens of each event of a run, sharing one piece cache.
    fn count_run(&self, run: &[Event]) -> Vec<u64> {
        let Some(bpe) = self.bpe() else {
            return run.iter().map(|e| self.count_event(e)).collect();
        };
        let mut counter = PieceCounter::new(bpe);
        run.iter()
            .map(|event| match event.payload.as_message() {
                Some(message) => {
                    let mut pieces = MessagePieces::default();
                    pieces.add_message(message);
                    pieces.fixed + pieces.texts().iter().map(|t| counter.count(t)).sum::<u64>()
                }
                None => 0,
            })
            .collect()
    }

    /// Tokens of many messages, using both cores for large inputs.
    pub fn count_messages<'a>(&self, messages: impl IntoIterator<Item = &'a Message>) -> u64 {
        let mut pieces = MessagePieces::default();
        for m in messages {
            pieces.add_message(m);
        }
        pieces.fixed + self.count_texts(&pieces.texts())
    }

    /// The tokens of each event (see [`TokenCounter::count_event`]), using both cores
    /// for large inputs: events are dealt to threads in contiguous runs of about
    /// equal size.
    pub fn count_each_event(&self, events: &[Event]) -> Vec<u64> {
        let sizes: Vec<usize> = events.iter().map(approx_event_bytes).collect();
        let total: usize = sizes.iter().sum();
        let threads = if self.bpe().is_some() && total >= PARALLEL_MIN_BYTES {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        } else {
            1
        };
        if threads <= 1 {
            return self.count_run(events);
        }
        // Split points: contiguous runs of about total/threads bytes.
        let share = total.div_ceil(threads).max(1);
        let mut runs: Vec<&[Event]> = Vec::with_capacity(threads);
        let (mut start, mut filled) = (0usize, 0usize);
        for (i, size) in sizes.iter().enumerate() {
            filled += size;
            if filled >= share * (runs.len() + 1) && runs.len() + 1 < threads {
                runs.push(&events[start..=i]);
                start = i + 1;
            }
        }
        runs.push(&events[start..]);
        // The calling thread takes the first run (the regex engine's cache pool is
        // fastest for the thread that first used it).
        let count_run = |run: &[Event]| -> Vec<u64> { self.count_run(run) };
        std::thread::scope(|scope| {
            let handles: Vec<_> = runs[1..]
                .iter()
                .map(|run| scope.spawn(move || count_run(run)))
                .collect();
            let mut out = count_run(runs[0]);
            for (handle, run) in handles.into_iter().zip(&runs[1..]) {
                // Counting cannot panic on text; should a thread die anyway, its
                // events are counted again here rather than lost.
                out.extend(handle.join().unwrap_or_else(|_| count_run(run)));
            }
            out
        })
    }

    /// Tokens of the whole live context as [`crate::live_messages::assemble`] sends it:
    /// the preamble (summary and knowledge block) and every message after it.
    pub fn count_live_context(&self, live: &LiveContext) -> TokenCount {
        let preamble = crate::live_messages::preamble(live);
        let tokens = preamble.map_or(0, |m| self.count_message(&m))
            + self.count_each_event(&live.events).iter().sum::<u64>();
        TokenCount {
            tokens,
            accuracy: self.accuracy(),
        }
    }

    /// Tokens of several texts, counted independently and summed. Large inputs are
    /// spread over two threads; texts are only ever split where the BPE's own
    /// pre-tokenizer splits, so the sum is the same as counting one by one.
    pub fn count_texts(&self, texts: &[&str]) -> u64 {
        let Some(bpe) = self.bpe() else {
            return texts.iter().map(|t| heuristic_tokens(t.len())).sum();
        };
        let total: usize = texts.iter().map(|t| t.len()).sum();
        let threads = if total >= PARALLEL_MIN_BYTES {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
        } else {
            1
        };
        if threads <= 1 {
            let mut counter = PieceCounter::new(bpe);
            return texts.iter().map(|t| counter.count(t)).sum();
        }
        let mut chunks: Vec<&str> = Vec::with_capacity(texts.len());
        for text in texts {
            if text.len() > SPLIT_TEXT_ABOVE_BYTES {
                chunks.extend(split_at_token_boundaries(text, SPLIT_TEXT_ABOVE_BYTES));
            } else if !text.is_empty() {
                chunks.push(text);
            }
        }
        let groups = balance(&chunks, total, threads);
        let count_group = |group: &[&str]| -> u64 {
            let mut counter = PieceCounter::new(bpe);
            group.iter().map(|t| counter.count(t)).sum()
        };
        std::thread::scope(|scope| {
            let handles: Vec<_> = groups[1..]
                .iter()
                .map(|group| scope.spawn(move || count_group(group)))
                .collect();
            let mut total = count_group(&groups[0]);
            for (handle, group) in handles.into_iter().zip(&groups[1..]) {
                // Counting cannot panic on text; should a thread die anyway, its
                // share is counted again here rather than lost.
                total += handle.join().unwrap_or_else(|_| count_group(group));
            }
            total
        })
    }
}

/// Pieces up to this many bytes have their count remembered: short pieces (words,
/// indentation, operators) make up nearly all of a context and repeat constantly;
/// long ones rarely repeat and would only grow the cache.
const CACHED_PIECE_BYTES: usize = 24;

/// Counts texts with one BPE, remembering the count of each short pre-tokenizer
/// piece. The BPE never merges across pieces, so a text's count is the sum of its
/// pieces' counts, and a cached count is exactly what the BPE would give again.
struct PieceCounter<'t> {
    bpe: &'t Tokenizer,
    cache: FxHashMap<Box<str>, u32>,
}

impl<'t> PieceCounter<'t> {
    fn new(bpe: &'t Tokenizer) -> Self {
        PieceCounter {
            bpe,
            cache: FxHashMap::default(),
        }
    }

    fn count(&mut self, text: &str) -> u64 {
        let mut total = 0u64;
        for piece in self.bpe.split(text) {
            if piece.len() > CACHED_PIECE_BYTES {
                total += self.bpe.bpe.count(piece.as_bytes()) as u64;
                continue;
            }
            let tokens = match self.cache.get(piece) {
                Some(tokens) => *tokens,
                None => {
                    let tokens =
                        u32::try_from(self.bpe.bpe.count(piece.as_bytes())).unwrap_or(u32::MAX);
                    self.cache.insert(piece.into(), tokens);
                    tokens
                }
            };
            total += u64::from(tokens);
        }
        total
    }
}

/// A cheap size guess for balancing work between threads.
fn approx_event_bytes(event: &Event) -> usize {
    fn block_bytes(block: &ContentBlock) -> usize {
        match block {
            ContentBlock::Text { text } | ContentBlock::Thinking { text, .. } => text.len(),
            ContentBlock::ToolResult { content, .. } => match content {
                ToolResultContent::Text(t) => t.len(),
                ToolResultContent::Blocks(blocks) => blocks.iter().map(block_bytes).sum(),
            },
            ContentBlock::ToolUse {
                input: Value::Object(map),
                ..
            } => map.values().map(|v| v.as_str().map_or(64, str::len)).sum(),
            _ => 64,
        }
    }
    event
        .payload
        .as_message()
        .map_or(0, |m| m.content.iter().map(block_bytes).sum())
}

fn heuristic_tokens(bytes: usize) -> u64 {
    // ceil(bytes / 3.5) without floating point.
    (bytes as u64 * 2).div_ceil(7)
}

/// Start building the counter's BPE on a background thread, so that a count expected
/// soon does not wait for it. Does nothing for the heuristic, or when a build of that
/// BPE was already started.
pub fn warm_up(counter: TokenCounter) {
    static O200K_STARTED: AtomicBool = AtomicBool::new(false);
    static CL100K_STARTED: AtomicBool = AtomicBool::new(false);
    let started = match counter.method {
        Method::O200kBase => &O200K_STARTED,
        Method::Cl100kBase => &CL100K_STARTED,
        Method::BytesHeuristic => return,
    };
    if started.swap(true, Ordering::Relaxed) {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("cairn-bpe-load".into())
        .spawn(move || {
            counter.bpe();
        });
}

/// The texts of messages, flattened for counting, with the framing tokens summed.
#[derive(Default)]
struct MessagePieces<'a> {
    borrowed: Vec<&'a str>,
    owned: Vec<String>,
    fixed: u64,
}

impl<'a> MessagePieces<'a> {
    fn add_message(&mut self, message: &'a Message) {
        self.fixed += MESSAGE_OVERHEAD_TOKENS;
        for block in &message.content {
            self.add_block(block);
        }
    }

    fn add_block(&mut self, block: &'a ContentBlock) {
        match block {
            ContentBlock::Text { text } | ContentBlock::Thinking { text, .. } => {
                self.borrowed.push(text)
            }
            ContentBlock::ToolUse { id, name, input } => {
                self.fixed += TOOL_USE_OVERHEAD_TOKENS;
                self.borrowed.push(id);
                self.borrowed.push(name);
                self.owned.push(json_text(input));
            }
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                ..
            } => {
                self.fixed += TOOL_RESULT_OVERHEAD_TOKENS;
                self.borrowed.push(tool_use_id);
                // Counted as requests carry it: cut when long (the session keeps
                // it whole).
                match content {
                    ToolResultContent::Text(text) => self.add_tool_output(text),
                    ToolResultContent::Blocks(blocks) => {
                        for b in blocks {
                            match b {
                                ContentBlock::Text { text } => self.add_tool_output(text),
                                other => self.add_block(other),
                            }
                        }
                    }
                }
            }
            ContentBlock::Image(_) => self.fixed += IMAGE_TOKENS,
            ContentBlock::Video(_) => self.fixed += VIDEO_TOKENS,
            ContentBlock::Other(map) => self.owned.push(json_text(&Value::Object(map.clone()))),
        }
    }

    fn add_tool_output(&mut self, text: &'a str) {
        match crate::tool_output::for_model(text) {
            std::borrow::Cow::Borrowed(whole) => self.borrowed.push(whole),
            std::borrow::Cow::Owned(cut) => self.owned.push(cut),
        }
    }

    fn texts(&self) -> Vec<&str> {
        let mut all = self.borrowed.clone();
        all.extend(self.owned.iter().map(String::as_str));
        all
    }
}

fn json_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Split a long text into pieces of about `target` bytes, only at a `\n` that has an
/// ASCII letter or digit on both sides. The o200k and cl100k pre-tokenizers always
/// end a piece before such a newline and start a new one after it, and BPE merges
/// never cross pieces, so counting the parts gives exactly the count of the whole.
fn split_at_token_boundaries(text: &str, target: usize) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    while bytes.len() - start > target {
        let mut cut = None;
        let mut i = start + target;
        // Look ahead at most another `target` bytes for a safe newline.
        let limit = (start + 2 * target).min(bytes.len() - 1);
        while i < limit {
            if bytes[i] == b'\n'
                && bytes[i - 1].is_ascii_alphanumeric()
                && bytes[i + 1].is_ascii_alphanumeric()
            {
                cut = Some(i + 1);
                break;
            }
            i += 1;
        }
        let Some(cut) = cut else { break };
        // `cut` follows an ASCII byte, so it is a char boundary.
        parts.push(&text[start..cut]);
        start = cut;
    }
    parts.push(&text[start..]);
    parts
}

/// Deal chunks into `n` groups of about equal bytes, keeping order within groups.
fn balance<'a>(chunks: &[&'a str], total: usize, n: usize) -> Vec<Vec<&'a str>> {
    let share = total.div_ceil(n).max(1);
    let mut groups: Vec<Vec<&str>> = vec![Vec::new(); n];
    let mut filled = 0usize;
    for chunk in chunks {
        let group = (filled / share).min(n - 1);
        groups[group].push(chunk);
        filled += chunk.len();
    }
    groups
}

/// The prompt size a provider reported for one request, from its usage. cairn's
/// [`Usage`] keeps input, cache-read and cache-write tokens disjoint (as Anthropic
/// reports them; adapters for APIs that report cached tokens as part of the input
/// subtract them), so the prompt is their sum.
pub fn prompt_tokens(usage: &Usage) -> u64 {
    usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
}

/// The live-context size after a request: the provider's reported prompt size wins,
/// plus the messages added since that request was sent (its answer, tool results,
/// the next user message), counted with `counter`. With no report (no request yet,
/// or a provider that reports nothing), `fallback` is the counted figure to use.
pub fn live_tokens_after_request(
    reported_prompt_tokens: Option<u64>,
    added_since: &[Message],
    counter: &TokenCounter,
    fallback: impl FnOnce() -> TokenCount,
) -> TokenCount {
    match reported_prompt_tokens {
        Some(reported) if reported > 0 => TokenCount {
            tokens: reported + counter.count_messages(added_since),
            accuracy: Accuracy::Reported,
        },
        _ => fallback(),
    }
}

/// Sum two figures; the result is as trustworthy as the weaker one.
pub fn add_counts(a: TokenCount, b: TokenCount) -> TokenCount {
    TokenCount {
        tokens: a.tokens + b.tokens,
        accuracy: a.accuracy.combine(b.accuracy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MediaBlock, Role};

    const O200K: TokenCounter = TokenCounter {
        method: Method::O200kBase,
        native: true,
    };
    const CL100K: TokenCounter = TokenCounter {
        method: Method::Cl100kBase,
        native: true,
    };

    #[test]
    fn counters_are_labelled_by_whether_the_bpe_is_the_models_own() {
        let c = TokenCounter::new(Method::O200kBase, true);
        assert_eq!(
            (c.method(), c.accuracy()),
            (Method::O200kBase, Accuracy::Exact)
        );
        let c = TokenCounter::new(Method::O200kBase, false);
        assert_eq!(
            (c.method(), c.accuracy()),
            (Method::O200kBase, Accuracy::Estimate)
        );
        // The heuristic is never anyone's own tokenizer.
        let c = TokenCounter::new(Method::BytesHeuristic, true);
        assert_eq!(c, TokenCounter::estimate());
        assert_eq!(c.accuracy(), Accuracy::Estimate);
    }

    #[test]
    fn o200k_counts_known_text() {
        let c = O200K;
        // "hello world" is two o200k tokens.
        assert_eq!(c.count_text("hello world"), 2);
        assert_eq!(c.count_text(""), 0);
    }

    #[test]
    fn heuristic_is_bytes_over_three_and_a_half() {
        let c = TokenCounter::estimate();
        assert_eq!(c.count_text(&"a".repeat(7)), 2);
        assert_eq!(c.count_text(&"a".repeat(8)), 3);
    }

    #[test]
    fn message_counts_every_block() {
        let c = O200K;
        let text = Message::text(Role::User, "hello world");
        assert_eq!(c.count_message(&text), MESSAGE_OVERHEAD_TOKENS + 2);
        let image = Message::new(
            Role::User,
            vec![ContentBlock::Image(MediaBlock {
                sha256: "00".into(),
                mime: "image/png".into(),
                data_base64: None,
            })],
        );
        assert_eq!(
            c.count_message(&image),
            MESSAGE_OVERHEAD_TOKENS + IMAGE_TOKENS
        );
        let big_input = serde_json::json!({"path": "src/main.rs", "content": "x ".repeat(500)});
        let call = Message::new(
            Role::Assistant,
            vec![ContentBlock::ToolUse {
                id: "t1".into(),
                name: "write_file".into(),
                input: big_input,
            }],
        );
        assert!(c.count_message(&call) > 500, "tool input is counted");
        let result = Message::new(
            Role::Tool,
            vec![ContentBlock::ToolResult {
                tool_use_id: "t1".into(),
                content: ToolResultContent::Text("ok ".repeat(300)),
                is_error: false,
            }],
        );
        assert!(c.count_message(&result) >= 300, "tool output is counted");
    }

    /// Issue 14: a long tool output is counted as requests carry it (cut to
    /// `MODEL_OUTPUT_LIMIT` with a note), not whole, so compression does not start
    /// early; in text and in blocks alike.
    #[test]
    fn long_tool_output_is_counted_as_sent() {
        let c = TokenCounter::estimate();
        let long = "line of build output\n".repeat(20_000);
        let sent = crate::tool_output::for_model(&long).into_owned();
        assert!(sent.len() < long.len() / 5);
        let result = |content: ToolResultContent| {
            Message::new(
                Role::Tool,
                vec![ContentBlock::ToolResult {
                    tool_use_id: "t1".into(),
                    content,
                    is_error: false,
                }],
            )
        };
        // What the request carries: the cut text once (cutting is not repeated).
        let as_sent = MESSAGE_OVERHEAD_TOKENS
            + TOOL_RESULT_OVERHEAD_TOKENS
            + c.count_text("t1")
            + c.count_text(&sent);
        assert_eq!(
            c.count_message(&result(ToolResultContent::Text(long.clone()))),
            as_sent
        );
        assert_eq!(
            c.count_message(&result(ToolResultContent::Blocks(vec![
                ContentBlock::Text { text: long }
            ]))),
            as_sent
        );
        assert!(as_sent < 20_000 * 4 / 5, "{as_sent}");
    }

    /// The tables cairn builds from the shipped token lists encode exactly as tiktoken
    /// does: the same token ids, not only the same counts, on code, many scripts,
    /// emoji and every kind of white space.
    #[test]
    fn tables_built_from_the_lists_encode_like_tiktoken() {
        let text = concat!(
            "fn main() {\n    let s: &str = \"héllo\";\r\n\tprintln!(\"{s:?} {}\", 0x7fff_ffff);\n}\n",
            "I'll say it's done; they'd've WON'T HTTPServerError camelCase snake_case 3.14159\n",
            "Grüße aus Köln, naïve café; Ελληνικά; русский; עברית; العربية; हिन्दी; ไทย\n",
            "日本語のテキストと漢字、한국어 텍스트, 中文文本。\n",
            "emoji 🎉🚀👍🏽 family 👨\u{200d}👩\u{200d}👧 flags 🇫🇷🇯🇵 e\u{301} a\u{308}\n",
            "   spaces\n\n\n\ttabs\t\t and trailing   \n  \r\n\u{a0}nbsp\u{2003}em   ",
            "{\"path\": \"src/main.rs\", \"n\": null} !!!??? ``` <<>> ... 12345678901234567890",
        );
        let oracles = [
            tiktoken_rs::o200k_base_singleton(),
            tiktoken_rs::cl100k_base_singleton(),
        ];
        for ((tokenizer, name), oracle) in tables::tests::fresh().into_iter().zip(oracles) {
            let expected = oracle.encode_ordinary(text);
            assert_eq!(tokenizer.encode(text), expected, "{name}");
            assert_eq!(
                PieceCounter::new(&tokenizer).count(text),
                expected.len() as u64,
                "{name}"
            );
        }
    }

    #[test]
    fn splitting_keeps_the_exact_count() {
        let mut text = String::new();
        let mut i = 0u64;
        while text.len() < 600_000 {
            text.push_str(&format!(
                "line {i}: Grüße, naïve café — fn x_{i}() {{ return {i}; }}\n\tindented\n\n  \
                 spaced\nWord{i}\n日本語のテキスト\n"
            ));
            i += 1;
        }
        for (counter, tiktoken) in [
            (O200K, tiktoken_rs::o200k_base_singleton()),
            (CL100K, tiktoken_rs::cl100k_base_singleton()),
        ] {
            let parts = split_at_token_boundaries(&text, 4096);
            assert!(parts.len() > 50, "the text was split");
            assert_eq!(parts.concat(), text);
            let whole = tiktoken.encode_ordinary(&text).len() as u64;
            let mut pieces = PieceCounter::new(counter.bpe().unwrap());
            let by_parts: u64 = parts.iter().map(|p| pieces.count(p)).sum();
            assert_eq!(whole, by_parts);
            assert_eq!(counter.count_texts(&[&text]), whole);
        }
    }

    #[test]
    fn pathological_runs_neither_panic_nor_take_long() {
        let c = O200K;
        // 1.2 MB of spaces exceeds tiktoken-rs's backtracking limit (it panics), and
        // its BPE is quadratic on the other runs; the linear encoder takes them whole.
        let n = 300_000;
        for text in [
            " ".repeat(1_200_000),
            format!("{}x", " ".repeat(n)),
            "\n".repeat(n),
            "a".repeat(n),
            "!".repeat(n),
            "語".repeat(n / 3),
        ] {
            let started = std::time::Instant::now();
            let tokens = c.count_text(&text);
            assert!(tokens > 0);
            // Unoptimised test builds are slow; the point is seconds, not minutes.
            assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        }
    }

    /// Every text cairn counts exactly must count as tiktoken counts it: prose, code,
    /// markdown, JSON, many scripts, emoji, digits, contractions, case changes, every
    /// kind of white space, and this crate's own sources. The inputs are cut into
    /// pieces of many sizes so piece boundaries, short texts and the cache are all
    /// exercised; runs stay short enough for tiktoken-rs not to panic.
    #[test]
    fn counts_equal_tiktoken_on_a_varied_corpus() {
        let mut corpus: Vec<String> = [
            "The quick brown fox jumps over the lazy dog.",
            "I'll say it's done; they'd've WON'T You're HE'S we've",
            "HTTPServerError camelCaseName snake_case_name SCREAMING_CASE McDonald's iPhone",
            "fn main() {\n    let x: Vec<u8> = vec![1, 2, 3];\r\n\tprintln!(\"{x:?}\");\n}\n",
            "{\"path\": \"src/main.rs\", \"max_lines\": 400, \"ok\": true, \"n\": null}",
            "12345678901234567890 3.14159 1,000,000 0x7fff_ffff 2026-01-01T00:00:00Z",
            "Grüße aus Köln; naïve café; Ελληνικά κείμενα; русский текст; עברית; العربية",
            "日本語のテキストと漢字、한국어 텍스트, 中文文本。ไทย हिन्दी বাংলা",
            "emoji 🎉🚀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 e\u{301} combining a\u{308}",
            "   leading spaces\n\n\n\ttabs\t\t\tand trailing   \n  \r\n\r\n\u{a0}nbsp\u{2003}em",
            "!!!??? --- === *** ### ``` ~~~ <<>> ::: ;;; ... ,,, '''' \"\"\" ///",
            "# Heading\n\n- item *one*\n- item **two** with `code`\n\n> quote\n\n| a | b |\n|---|---|\n",
            "$ cargo test -p cairn-core 2>&1 | tail -3\ntest result: ok. 42 passed; 0 failed",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Real text: this crate's sources.
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![src];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    corpus.push(text);
                }
            }
        }
        // Mixtures, deterministic: fragments of everything glued together.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let fragments: Vec<&str> = corpus[..13].iter().map(String::as_str).collect();
        let mut mixtures = Vec::new();
        for _ in 0..300 {
            let mut text = String::new();
            for _ in 0..(next() % 12 + 1) {
                let fragment = fragments[(next() % fragments.len() as u64) as usize];
                let cut: Vec<(usize, char)> = fragment.char_indices().collect();
                let from = cut[(next() % cut.len() as u64) as usize].0;
                text.push_str(&fragment[from..]);
                text.push_str([" ", "\n", "", "  ", "\t", "'s ", "123"][(next() % 7) as usize]);
            }
            mixtures.push(text);
        }
        corpus.extend(mixtures);
        let total_bytes: usize = corpus.iter().map(String::len).sum();
        assert!(
            total_bytes > 100_000,
            "the corpus is substantial: {total_bytes}"
        );
        for (counter, tiktoken) in [
            (O200K, tiktoken_rs::o200k_base_singleton()),
            (CL100K, tiktoken_rs::cl100k_base_singleton()),
        ] {
            let model = format!("{:?}", counter.method());
            let mut expected_total = 0u64;
            for text in &corpus {
                let expected = tiktoken.encode_ordinary(text).len() as u64;
                expected_total += expected;
                assert_eq!(counter.count_text(text), expected, "{model}: {text:?}");
            }
            // All at once: the cache and both threads in play.
            let texts: Vec<&str> = corpus.iter().map(String::as_str).collect();
            assert_eq!(counter.count_texts(&texts), expected_total, "{model}");
        }
    }

    #[test]
    fn parallel_counts_equal_one_by_one_counts() {
        let c = O200K;
        let events: Vec<Event> = (0..400)
            .map(|i| Event {
                seq: i + 1,
                ts: jiff::Timestamp::UNIX_EPOCH,
                payload: Payload::Message(Message::text(
                    Role::User,
                    format!("message {i}: {}", "some words and more words\n".repeat(40)),
                )),
            })
            .collect();
        let parallel = c.count_each_event(&events);
        let serial: Vec<u64> = events.iter().map(|e| c.count_event(e)).collect();
        assert_eq!(parallel, serial);
    }

    #[test]
    fn reported_usage_wins() {
        let c = O200K;
        let added = [Message::text(Role::User, "hello world")];
        let live = live_tokens_after_request(Some(10_000), &added, &c, || TokenCount {
            tokens: 1,
            accuracy: Accuracy::Exact,
        });
        assert_eq!(live.tokens, 10_000 + MESSAGE_OVERHEAD_TOKENS + 2);
        assert_eq!(live.accuracy, Accuracy::Reported);
        let counted = live_tokens_after_request(None, &added, &c, || TokenCount {
            tokens: 7,
            accuracy: Accuracy::Exact,
        });
        assert_eq!(counted.tokens, 7);
        let usage = Usage {
            input_tokens: 5,
            cache_read_tokens: 100,
            cache_write_tokens: 20,
            output_tokens: 9,
            reasoning_tokens: 3,
        };
        assert_eq!(prompt_tokens(&usage), 125);
    }
}
