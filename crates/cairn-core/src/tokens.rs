//! Token accounting: how many tokens a message, or a whole live context, costs.
//!
//! OpenAI models (`openai:*`, and `gpt-…`/`o…` names on other hosts) are counted with
//! their own BPE (o200k_base, or cl100k_base for the older gpt-4/gpt-3.5 names) and the
//! result is labelled [`Accuracy::Exact`]. Every other model is counted with a
//! bytes/3.5 heuristic and labelled [`Accuracy::Estimate`]: cairn does not ship the
//! tokenizers of Anthropic or local models, and says so rather than pretending.
//! When a provider reports the prompt size of a request, that figure wins
//! ([`live_tokens_after_request`]).
//!
//! Loading a BPE costs about 0.2 s, which matters for a short-lived `cairn` process, so
//! it happens once per process, lazily, and [`warm_up`] can start it on a background
//! thread while the user is still typing.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tiktoken_rs::CoreBPE;

use crate::event::ToolResultContent;
use crate::{ContentBlock, Event, LiveContext, Message, Payload, Usage};

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
    /// The counter for a `provider:model` name (`None`: no model known → estimate).
    pub fn for_model(model: Option<&str>) -> Self {
        let Some(model) = model else {
            return TokenCounter::estimate();
        };
        let (provider, name) = match model.split_once(':') {
            Some((provider, name)) => (provider, name),
            None => ("", model),
        };
        // Hosts such as OpenRouter name models `openai/gpt-4o`.
        let bare = name.rsplit('/').next().unwrap_or(name);
        match openai_encoding(bare) {
            Some(method) => TokenCounter {
                method,
                native: true,
            },
            // An unknown name behind the OpenAI API is most likely a current OpenAI model
            // (o200k), but could be any model on a compatible server: same BPE, but
            // labelled as an estimate.
            None if provider == "openai" => TokenCounter {
                method: Method::O200kBase,
                native: false,
            },
            None => TokenCounter::estimate(),
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

    fn bpe(&self) -> Option<&'static CoreBPE> {
        match self.method {
            Method::O200kBase => o200k(),
            Method::Cl100kBase => cl100k(),
            Method::BytesHeuristic => None,
        }
    }

    /// Tokens of one text.
    pub fn count_text(&self, text: &str) -> u64 {
        if text.is_empty() {
            return 0;
        }
        match self.bpe() {
            Some(bpe) => bpe_count(bpe, text),
            None => heuristic_tokens(text.len()),
        }
    }

    /// Tokens of one message as sent to a model.
    pub fn count_message(&self, message: &Message) -> u64 {
        let mut pieces = MessagePieces::default();
        pieces.add_message(message);
        pieces.fixed + self.count_texts(&pieces.texts())
    }

    /// Tokens an event adds to a live context: messages count; compaction, knowledge
    /// and other events are not sent as they are (see [`crate::live_messages`]).
    pub fn count_event(&self, event: &Event) -> u64 {
        match &event.payload {
            Payload::Message(m) => self.count_message(m),
            _ => 0,
        }
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
            return events.iter().map(|e| self.count_event(e)).collect();
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
        // The calling thread takes the first run: its regex caches are already warm
        // (tiktoken-rs keeps one regex per thread, and its cache pool is fastest for
        // the thread that first used it).
        let count_run =
            |run: &[Event]| -> Vec<u64> { run.iter().map(|e| self.count_event(e)).collect() };
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
            return texts.iter().map(|t| bpe_count(bpe, t)).sum();
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
        let count_group = |group: &[&str]| -> u64 { group.iter().map(|t| bpe_count(bpe, t)).sum() };
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

/// Longest run of one character class handed to the BPE in one piece. tiktoken-rs
/// panics on very long white-space runs (its regex engine's backtracking limit) and
/// takes quadratic time on very long runs of letters or punctuation; ordinary text
/// never has such runs, so cutting them changes no count that matters.
const MAX_RUN_BYTES: usize = 256;

/// Count with the BPE, cutting pathological runs first (see [`MAX_RUN_BYTES`]).
fn bpe_count(bpe: &CoreBPE, text: &str) -> u64 {
    let mut total = 0;
    for part in cut_long_runs(text, MAX_RUN_BYTES) {
        total += bpe.encode_ordinary(part).len() as u64;
    }
    total
}

/// Character classes as the pre-tokenizers see runs (non-ASCII counted as letters).
#[derive(Clone, Copy, PartialEq, Eq)]
enum RunClass {
    Letter,
    Digit,
    Space,
    Punct,
}

fn run_class(byte: u8) -> RunClass {
    match byte {
        b'a'..=b'z' | b'A'..=b'Z' | 0x80..=0xff => RunClass::Letter,
        b'0'..=b'9' => RunClass::Digit,
        b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => RunClass::Space,
        _ => RunClass::Punct,
    }
}

/// `text` in parts, cut inside any run of one class (digits excepted: the
/// pre-tokenizers split them by three anyway) longer than `max_run` bytes.
fn cut_long_runs(text: &str, max_run: usize) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut part_start = 0;
    let mut run_start = 0;
    let mut class = match bytes.first() {
        Some(b) => run_class(*b),
        None => return parts,
    };
    let mut i = 1;
    while i < bytes.len() {
        let c = run_class(bytes[i]);
        if c != class {
            class = c;
            run_start = i;
        } else if class != RunClass::Digit && i - run_start >= max_run && text.is_char_boundary(i) {
            parts.push(&text[part_start..i]);
            part_start = i;
            run_start = i;
        }
        i += 1;
    }
    parts.push(&text[part_start..]);
    parts
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

/// The BPE of an OpenAI model name, if it is one.
fn openai_encoding(name: &str) -> Option<Method> {
    use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};
    // gpt-oss names vary by host (`gpt-oss:20b`, `gpt-oss-120b`); o200k_harmony is
    // o200k_base plus chat special tokens, which plain text never produces.
    if name.starts_with("gpt-oss") {
        return Some(Method::O200kBase);
    }
    match get_tokenizer(name)? {
        Tokenizer::O200kBase | Tokenizer::O200kHarmony => Some(Method::O200kBase),
        Tokenizer::Cl100kBase => Some(Method::Cl100kBase),
        // Pre-chat models: cl100k is the closest cairn ships; not exact.
        _ => None,
    }
}

fn o200k() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref()
}

fn cl100k() -> Option<&'static CoreBPE> {
    static BPE: OnceLock<Option<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().ok()).as_ref()
}

/// Start loading the counter's BPE on a background thread, so that the first count
/// (usually after the first answer) does not wait for it. Does nothing for the
/// heuristic or when already loaded.
pub fn warm_up(counter: TokenCounter) {
    if counter.method == Method::BytesHeuristic {
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
                match content {
                    ToolResultContent::Text(text) => self.borrowed.push(text),
                    ToolResultContent::Blocks(blocks) => {
                        for b in blocks {
                            self.add_block(b);
                        }
                    }
                }
            }
            ContentBlock::Image(_) => self.fixed += IMAGE_TOKENS,
            ContentBlock::Video(_) => self.fixed += VIDEO_TOKENS,
            ContentBlock::Other(map) => self.owned.push(json_text(&Value::Object(map.clone()))),
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

    #[test]
    fn models_get_the_right_method_and_label() {
        let c = TokenCounter::for_model(Some("openai:gpt-4.1"));
        assert_eq!(
            (c.method(), c.accuracy()),
            (Method::O200kBase, Accuracy::Exact)
        );
        let c = TokenCounter::for_model(Some("openai:o3-mini"));
        assert_eq!(c.method(), Method::O200kBase);
        let c = TokenCounter::for_model(Some("openai:gpt-4"));
        assert_eq!(
            (c.method(), c.accuracy()),
            (Method::Cl100kBase, Accuracy::Exact)
        );
        let c = TokenCounter::for_model(Some("openai:llama3.1"));
        assert_eq!(
            (c.method(), c.accuracy()),
            (Method::O200kBase, Accuracy::Estimate)
        );
        let c = TokenCounter::for_model(Some("openrouter:openai/gpt-4o"));
        assert_eq!(
            (c.method(), c.accuracy()),
            (Method::O200kBase, Accuracy::Exact)
        );
        let c = TokenCounter::for_model(Some("ollama:gpt-oss:20b"));
        assert_eq!(c.method(), Method::O200kBase);
        let c = TokenCounter::for_model(Some("anthropic:claude-sonnet-4-5"));
        assert_eq!(
            (c.method(), c.accuracy()),
            (Method::BytesHeuristic, Accuracy::Estimate)
        );
        assert_eq!(
            TokenCounter::for_model(None).method(),
            Method::BytesHeuristic
        );
    }

    #[test]
    fn o200k_counts_known_text() {
        let c = TokenCounter::for_model(Some("openai:gpt-4o"));
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
        let c = TokenCounter::for_model(Some("openai:gpt-4o"));
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
        for counter in [
            TokenCounter::for_model(Some("openai:gpt-4o")),
            TokenCounter::for_model(Some("openai:gpt-4")),
        ] {
            let parts = split_at_token_boundaries(&text, 4096);
            assert!(parts.len() > 50, "the text was split");
            assert_eq!(parts.concat(), text);
            let bpe = counter.bpe().unwrap();
            let whole = bpe.encode_ordinary(&text).len() as u64;
            let by_parts: u64 = parts.iter().map(|p| bpe_count(bpe, p)).sum();
            assert_eq!(whole, by_parts);
            assert_eq!(counter.count_texts(&[&text]), whole);
        }
    }

    #[test]
    fn pathological_runs_neither_panic_nor_take_long() {
        let c = TokenCounter::for_model(Some("openai:gpt-4o"));
        // 1.2 MB of spaces exceeds tiktoken-rs's backtracking limit (it panics);
        // the other runs are quadratic for the BPE when left whole.
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
        // Cutting keeps every byte, on character boundaries.
        let text = format!("{}{}", "é".repeat(1_000), " ".repeat(1_000));
        let parts = cut_long_runs(&text, 256);
        assert!(parts.len() > 4);
        assert_eq!(parts.concat(), text);
        // Ordinary text is not cut at all.
        let prose = "The quick brown fox jumps over the lazy dog. ".repeat(100);
        assert_eq!(cut_long_runs(&prose, 256), vec![prose.as_str()]);
    }

    #[test]
    fn parallel_counts_equal_one_by_one_counts() {
        let c = TokenCounter::for_model(Some("openai:gpt-4o"));
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
        let c = TokenCounter::for_model(Some("openai:gpt-4o"));
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
