//! The dataset generator: whole sessions as `cairn_core` events, ready for
//! `Store::import_session`.
//!
//! Three shapes:
//! - a long agent history ([`HistoryShape`]): turns of user text, assistant tool calls
//!   with their results (heavy-tailed sizes up to a cap), final answers with usage,
//!   some knowledge and command events, and compactions at turn boundaries;
//! - a chat corpus for full-text search ([`SearchCorpus`]): many short messages with
//!   query words injected at known rates;
//! - small sessions in many projects for listing ([`listing_session`]).
//!
//! Everything is a pure function of its seed, so a dataset can be regenerated in
//! memory (for the in-process import benchmark) and matches the cached store.

use std::collections::BTreeSet;

use anyhow::{Context as _, Result};
use cairn_core::{
    CommandRecord, Compaction, ContentBlock, Event, KnowledgeItem, KnowledgeKind, Message,
    NewSession, Payload, Project, Role, SessionName, Timestamp, Usage,
    event::{KnowledgeEntry, ToolResultContent},
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::rng::Rng;
use crate::text::{COMMON_QUERY_WORD, RARE_QUERY_WORD, Vocabulary};

/// 2026-01-05T09:00:00Z: generated histories start here.
const EPOCH_SECONDS: i64 = 1_767_603_600;
const MODEL: &str = "anthropic:claude-sonnet-4-5";

/// A session and its events, with what the generator counted while making them.
pub(crate) struct GeneratedSession {
    pub new: NewSession,
    pub events: Vec<Event>,
    pub stats: HistoryStats,
}

/// What a generated history holds; stored in the dataset manifest and printed in
/// the report so BENCHMARKS.md can describe the data exactly.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct HistoryStats {
    pub events: u64,
    /// Size of the session's events as session JSONL v1 lines (newlines included).
    pub jsonl_bytes: u64,
    pub messages: u64,
    pub tool_calls: u64,
    pub largest_tool_result_bytes: u64,
    pub compactions: u64,
    pub knowledge: u64,
    /// Events of the live context (after the latest compaction's range).
    pub live_events: u64,
    pub live_bytes: u64,
}

impl HistoryStats {
    pub(crate) fn add(&mut self, other: &HistoryStats) {
        self.events += other.events;
        self.jsonl_bytes += other.jsonl_bytes;
        self.messages += other.messages;
        self.tool_calls += other.tool_calls;
        self.largest_tool_result_bytes = self
            .largest_tool_result_bytes
            .max(other.largest_tool_result_bytes);
        self.compactions += other.compactions;
        self.knowledge += other.knowledge;
        self.live_events += other.live_events;
        self.live_bytes += other.live_bytes;
    }
}

/// The shape of a long agent session.
#[derive(Clone, Debug)]
pub(crate) struct HistoryShape {
    pub name: String,
    pub project: String,
    /// Total JSONL bytes to generate (reached at a turn boundary, so slightly more).
    pub history_bytes: u64,
    /// Compactions spread evenly over the history before the live tail.
    pub compactions: u32,
    /// Bytes after the latest compaction (the live context); ignored without compactions.
    pub live_tail_bytes: u64,
    pub max_tool_result_bytes: u64,
    pub seed: u64,
    /// Seed of the live tail (of the whole history when there is no compaction):
    /// two shapes with the same tail seed and size end in the same live context.
    pub tail_seed: u64,
}

impl HistoryShape {
    /// The resume benchmark's 100 MB session: ≈ 40,000 events, tool results up to
    /// 200 KB, 20 compactions, and a live context of about 1 MB.
    pub(crate) fn resume_100mb() -> Self {
        HistoryShape {
            name: "bench-100mb".into(),
            project: "/home/dev/src/shop-api".into(),
            history_bytes: 100 * MB,
            compactions: 20,
            live_tail_bytes: MB,
            max_tool_result_bytes: 200 * KB,
            seed: 100,
            tail_seed: 1,
        }
    }

    /// The resume benchmark's 1 MB session: no compaction, so its live context is its
    /// whole history, made from the same tail seed as the 100 MB session's live
    /// context. Both resumes then send the same turns; only the history behind them
    /// differs.
    pub(crate) fn resume_1mb() -> Self {
        HistoryShape {
            name: "bench-1mb".into(),
            project: "/home/dev/src/shop-api".into(),
            history_bytes: MB,
            compactions: 0,
            live_tail_bytes: MB,
            max_tool_result_bytes: 200 * KB,
            seed: 1,
            tail_seed: 1,
        }
    }
}

pub(crate) const KB: u64 = 1_000;
pub(crate) const MB: u64 = 1_000_000;

pub(crate) fn generate_history(
    shape: &HistoryShape,
    vocabulary: &Vocabulary,
) -> Result<GeneratedSession> {
    let mut builder = HistoryBuilder::new(vocabulary, shape.seed, shape.max_tool_result_bytes);
    if shape.compactions == 0 {
        builder.rng = Rng::new(shape.tail_seed);
        while builder.bytes < shape.history_bytes {
            builder.turn()?;
        }
    } else {
        let before_tail = shape.history_bytes.saturating_sub(shape.live_tail_bytes);
        let segment = before_tail / u64::from(shape.compactions);
        for k in 1..=u64::from(shape.compactions) {
            while builder.bytes < segment * k {
                builder.turn()?;
            }
            builder.compaction()?;
        }
        builder.rng = Rng::new(shape.tail_seed);
        let tail_start = builder.bytes;
        while builder.bytes - tail_start < shape.live_tail_bytes {
            builder.turn()?;
        }
    }
    builder.finish(NewSession {
        name: SessionName::parse(&shape.name)?,
        title: Some("Refactor the order service onto the new auth layer".into()),
        project: Project::from_stored(shape.project.clone()),
        model: Some(MODEL.into()),
        parent_id: None,
        fork_seq: None,
        created_at: Some(timestamp(EPOCH_SECONDS)?),
    })
}

fn timestamp(seconds: i64) -> Result<Timestamp> {
    Timestamp::from_second(seconds).with_context(|| format!("timestamp {seconds} out of range"))
}

const TOOLS: &[(&str, u32)] = &[
    ("read_file", 35),
    ("search", 20),
    ("shell", 20),
    ("list_files", 8),
    ("edit_file", 12),
    ("write_file", 5),
];

struct HistoryBuilder<'v> {
    vocabulary: &'v Vocabulary,
    rng: Rng,
    max_tool_result: u64,
    events: Vec<Event>,
    /// JSONL line size of each event, parallel to `events`.
    line_bytes: Vec<u64>,
    bytes: u64,
    /// Bytes since the latest compaction, for plausible token counts.
    live_bytes: u64,
    clock: i64,
    next_tool_id: u64,
    next_request: u64,
    /// Seq of the first event of the latest complete turn: a compaction keeps that
    /// turn verbatim, so tool calls and results are never split apart.
    last_turn_start: u64,
    stats: HistoryStats,
}

impl<'v> HistoryBuilder<'v> {
    fn new(vocabulary: &'v Vocabulary, seed: u64, max_tool_result: u64) -> Self {
        HistoryBuilder {
            vocabulary,
            rng: Rng::new(seed),
            max_tool_result,
            events: Vec::new(),
            line_bytes: Vec::new(),
            bytes: 0,
            live_bytes: 0,
            clock: EPOCH_SECONDS,
            next_tool_id: 1,
            next_request: 1,
            last_turn_start: 1,
            stats: HistoryStats::default(),
        }
    }

    fn push(&mut self, payload: Payload) -> Result<u64> {
        let seq = self.events.len() as u64 + 1;
        self.clock += self.rng.range(2, 45) as i64;
        let event = Event {
            seq,
            ts: timestamp(self.clock)?,
            payload,
        };
        let line = serde_json::to_vec(&event)?.len() as u64 + 1;
        self.bytes += line;
        self.live_bytes += line;
        self.line_bytes.push(line);
        match &event.payload {
            Payload::Message(m) => {
                self.stats.messages += 1;
                self.stats.tool_calls += m.tool_uses().count() as u64;
            }
            Payload::Compaction(_) => self.stats.compactions += 1,
            Payload::Knowledge(_) => self.stats.knowledge += 1,
            _ => {}
        }
        self.events.push(event);
        Ok(seq)
    }

    fn prose(&mut self, bytes: u64) -> String {
        let mut out = String::with_capacity(bytes as usize + 64);
        self.vocabulary
            .prose(&mut self.rng, &mut out, bytes as usize);
        out
    }

    fn turn(&mut self) -> Result<()> {
        // The user asks; now and then with a pasted log or snippet.
        let size = self.rng.log_uniform(80, 1_500);
        let mut ask = self.prose(size);
        if self.rng.chance(0.1) {
            ask.push_str("\n\n```\n");
            let paste = self.rng.log_uniform(1_000, 8_000) as usize;
            self.vocabulary.log(&mut self.rng, &mut ask, paste);
            ask.push_str("```\n");
        }
        let turn_start = self.push(Payload::Message(Message::text(Role::User, ask)))?;

        if self.rng.chance(0.01) {
            self.push(Payload::Command(CommandRecord::new("/model", &[MODEL])))?;
        }
        if self.rng.chance(0.08) {
            self.knowledge()?;
        }

        let rounds = *self.rng.pick(&[0u64, 1, 2, 2, 3, 3, 3, 4, 4, 5, 6]);
        for _ in 0..rounds {
            self.tool_round()?;
        }

        let size = self.rng.log_uniform(200, 3_000);
        let mut answer = self.prose(size);
        if self.rng.chance(0.3) {
            answer.push_str("\n\n```rust\n");
            let code = self.rng.log_uniform(200, 2_000) as usize;
            self.vocabulary.code(&mut self.rng, &mut answer, code);
            answer.push_str("```\n");
        }
        let answer_len = answer.len() as u64;
        let reply = self.assistant(vec![ContentBlock::text(answer)], answer_len);
        self.push(Payload::Message(reply))?;
        self.last_turn_start = turn_start;
        Ok(())
    }

    fn knowledge(&mut self) -> Result<()> {
        let kind = *self.rng.pick(&[
            KnowledgeKind::Decision,
            KnowledgeKind::Constraint,
            KnowledgeKind::Preference,
            KnowledgeKind::Fact,
        ]);
        let size = self.rng.range(60, 240);
        let text = self.prose(size);
        let pinned = self.rng.chance(0.2);
        self.push(Payload::Knowledge(KnowledgeItem {
            knowledge_kind: kind,
            text,
            pinned,
            scope: Default::default(),
            extra: Map::new(),
        }))?;
        Ok(())
    }

    fn tool_round(&mut self) -> Result<()> {
        let mut blocks = Vec::new();
        if self.rng.chance(0.3) {
            let size = self.rng.log_uniform(200, 1_500);
            blocks.push(ContentBlock::Thinking {
                text: self.prose(size),
                signature: Some(format!("sig-{:016x}", self.rng.next_u64())),
            });
        }
        if self.rng.chance(0.5) {
            let size = self.rng.log_uniform(60, 400);
            blocks.push(ContentBlock::text(self.prose(size)));
        }
        let calls = if self.rng.chance(0.2) { 2 } else { 1 };
        let mut pending = Vec::new();
        for _ in 0..calls {
            let tool = self.pick_tool();
            let id = format!("toolu_{:08}", self.next_tool_id);
            self.next_tool_id += 1;
            let input = self.tool_input(tool);
            blocks.push(ContentBlock::ToolUse {
                id: id.clone(),
                name: tool.to_owned(),
                input,
            });
            pending.push((id, tool));
        }
        let request_bytes = blocks.iter().map(block_len).sum();
        let call = self.assistant(blocks, request_bytes);
        self.push(Payload::Message(call))?;

        let mut results = Vec::new();
        for (id, tool) in pending {
            let output = self.tool_output(tool);
            self.stats.largest_tool_result_bytes = self
                .stats
                .largest_tool_result_bytes
                .max(output.len() as u64);
            results.push(ContentBlock::ToolResult {
                tool_use_id: id,
                content: ToolResultContent::Text(output),
                is_error: self.rng.chance(0.03),
            });
        }
        self.push(Payload::Message(Message::new(Role::Tool, results)))?;
        Ok(())
    }

    fn pick_tool(&mut self) -> &'static str {
        let total: u32 = TOOLS.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.range(0, u64::from(total) - 1) as u32;
        for (name, weight) in TOOLS {
            if roll < *weight {
                return name;
            }
            roll -= weight;
        }
        TOOLS[0].0
    }

    fn tool_input(&mut self, tool: &str) -> Value {
        let path = self.vocabulary.path(&mut self.rng);
        match tool {
            "read_file" => {
                let start = self.rng.range(1, 600);
                json!({"path": path, "start_line": start, "end_line": start + self.rng.range(20, 400)})
            }
            "search" => {
                json!({"pattern": self.vocabulary.word(&mut self.rng), "path": "src", "regex": false})
            }
            "shell" => {
                json!({"command": format!("cargo test -p {} -- --nocapture", self.vocabulary.word(&mut self.rng))})
            }
            "list_files" => json!({"glob": "src/**/*.rs"}),
            "edit_file" => {
                let mut old = String::new();
                let mut new = String::new();
                let size = self.rng.range(40, 400) as usize;
                self.vocabulary.code(&mut self.rng, &mut old, size);
                self.vocabulary.code(&mut self.rng, &mut new, size);
                json!({"path": path, "old_string": old, "new_string": new})
            }
            _ => {
                let mut content = String::new();
                let size = self.rng.log_uniform(200, 3_000) as usize;
                self.vocabulary.code(&mut self.rng, &mut content, size);
                json!({"path": path, "content": content})
            }
        }
    }

    /// Tool output sizes: mostly small, a ninth medium, 2 % huge (up to the cap).
    fn tool_output_size(&mut self) -> u64 {
        let roll = self.rng.unit();
        if roll < 0.87 {
            self.rng.log_uniform(150, 4_000)
        } else if roll < 0.982 {
            self.rng.log_uniform(4_000, 40_000)
        } else {
            self.rng.log_uniform(40_000, self.max_tool_result)
        }
    }

    fn tool_output(&mut self, tool: &str) -> String {
        let mut out = String::new();
        match tool {
            "read_file" => {
                let size = self.tool_output_size() as usize;
                self.vocabulary.file_content(&mut self.rng, &mut out, size);
            }
            "search" => {
                let size = self.tool_output_size() as usize;
                self.vocabulary.search_output(&mut self.rng, &mut out, size);
            }
            "shell" => {
                let size = self.tool_output_size() as usize;
                self.vocabulary.log(&mut self.rng, &mut out, size);
            }
            "list_files" => {
                let size = self.tool_output_size();
                while (out.len() as u64) < size {
                    out.push_str(&self.vocabulary.path(&mut self.rng));
                    out.push('\n');
                }
            }
            _ => out.push_str("ok: 1 replacement, file written"),
        }
        out.truncate_to_char_boundary(self.max_tool_result as usize);
        out
    }

    /// An assistant message with the usage and cost a provider would report.
    fn assistant(&mut self, content: Vec<ContentBlock>, output_bytes: u64) -> Message {
        let input_tokens = self.live_bytes / 4 + 2_000;
        let output_tokens = output_bytes / 4 + 5;
        let cache_read_tokens = input_tokens * 4 / 5;
        let usage = Usage {
            input_tokens: input_tokens - cache_read_tokens,
            output_tokens,
            cache_read_tokens,
            cache_write_tokens: self.rng.range(0, 2_000),
            reasoning_tokens: 0,
        };
        let cost = (usage.input_tokens as f64 * 3.0
            + usage.output_tokens as f64 * 15.0
            + usage.cache_read_tokens as f64 * 0.3
            + usage.cache_write_tokens as f64 * 3.75)
            / 1e6;
        let mut message = Message::new(Role::Assistant, content);
        message.usage = Some(usage);
        message.cost_usd = Some((cost * 1e6).round() / 1e6);
        message.model = Some(MODEL.into());
        message.request_id = Some(format!("req_{:010}", self.next_request));
        self.next_request += 1;
        message
    }

    fn compaction(&mut self) -> Result<()> {
        let last = self.last_turn_start.saturating_sub(1).max(1);
        let size = self.rng.log_uniform(1_500, 4_000);
        let summary = self.prose(size);
        let mut knowledge = Vec::new();
        for _ in 0..self.rng.range(4, 12) {
            let kind = *self.rng.pick(&[
                KnowledgeKind::Decision,
                KnowledgeKind::Constraint,
                KnowledgeKind::Fact,
            ]);
            let size = self.rng.range(60, 200);
            knowledge.push(KnowledgeEntry {
                kind,
                text: self.prose(size),
            });
        }
        let tokens_before = self.live_bytes / 4;
        let tokens_after = summary.len() as u64 / 4 + 1_000;
        self.push(Payload::Compaction(Compaction {
            knowledge,
            tokens_before,
            tokens_after,
            ..Compaction::new([1, last], summary)
        }))?;
        self.live_bytes = 0;
        Ok(())
    }

    fn finish(mut self, new: NewSession) -> Result<GeneratedSession> {
        let (_, live) = cairn_core::context::live_view(&self.events);
        self.stats.live_events = live.len() as u64;
        self.stats.live_bytes = live
            .iter()
            .map(|e| self.line_bytes[(e.seq - 1) as usize])
            .sum();
        self.stats.events = self.events.len() as u64;
        self.stats.jsonl_bytes = self.bytes;
        Ok(GeneratedSession {
            new,
            events: self.events,
            stats: self.stats,
        })
    }
}

fn block_len(block: &ContentBlock) -> u64 {
    match block {
        ContentBlock::Text { text } | ContentBlock::Thinking { text, .. } => text.len() as u64,
        ContentBlock::ToolUse { input, .. } => input.to_string().len() as u64,
        _ => 0,
    }
}

trait TruncateToCharBoundary {
    fn truncate_to_char_boundary(&mut self, max: usize);
}

impl TruncateToCharBoundary for String {
    fn truncate_to_char_boundary(&mut self, max: usize) {
        if self.len() > max {
            let mut cut = max;
            while !self.is_char_boundary(cut) {
                cut -= 1;
            }
            self.truncate(cut);
        }
    }
}

// ---- search corpus -----------------------------------------------------------------

/// Many sessions of short chat messages, with two query words at known rates.
#[derive(Clone, Debug)]
pub(crate) struct SearchCorpus {
    pub sessions: u32,
    pub messages_per_session: u32,
    /// Share of messages that contain [`COMMON_QUERY_WORD`].
    pub common_share: f64,
    /// Messages that contain [`RARE_QUERY_WORD`].
    pub rare_messages: u32,
    pub seed: u64,
}

/// How many messages contain each query word (counted while generating).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct QueryCounts {
    pub common: u64,
    pub rare: u64,
    /// The vocabulary's most frequent word.
    pub top_word: String,
    pub top: u64,
}

impl SearchCorpus {
    /// 100 sessions × 10,000 messages = 1,000,000 messages.
    pub(crate) fn one_million() -> Self {
        SearchCorpus {
            sessions: 100,
            messages_per_session: 10_000,
            common_share: 0.02,
            rare_messages: 12,
            seed: 1_000_000,
        }
    }

    pub(crate) fn total_messages(&self) -> u64 {
        u64::from(self.sessions) * u64::from(self.messages_per_session)
    }

    /// Global message indices that get the rare word.
    pub(crate) fn rare_positions(&self) -> BTreeSet<u64> {
        let mut rng = Rng::new(self.seed ^ 0xa5a5);
        let total = self.total_messages();
        let mut positions = BTreeSet::new();
        while (positions.len() as u64) < u64::from(self.rare_messages).min(total) {
            positions.insert(rng.range(0, total - 1));
        }
        positions
    }

    /// Session `index` of the corpus (0-based) and what its messages contain.
    pub(crate) fn session(
        &self,
        index: u32,
        vocabulary: &Vocabulary,
        rare_positions: &BTreeSet<u64>,
    ) -> Result<(GeneratedSession, QueryCounts)> {
        let mut rng = Rng::new(self.seed).fork(u64::from(index));
        let top_word = vocabulary.ranked(0).to_owned();
        let mut counts = QueryCounts {
            top_word: top_word.clone(),
            ..QueryCounts::default()
        };
        let start = EPOCH_SECONDS + i64::from(index) * 3 * 86_400;
        let mut clock = start;
        let mut events = Vec::with_capacity(self.messages_per_session as usize);
        let mut stats = HistoryStats::default();
        let first_global = u64::from(index) * u64::from(self.messages_per_session);
        for i in 0..u64::from(self.messages_per_session) {
            let words = rng.range(8, 40) as usize;
            let mut text = String::with_capacity(words * 7);
            vocabulary.prose(&mut rng, &mut text, words * 6);
            if rng.chance(self.common_share) {
                insert_word(&mut rng, &mut text, COMMON_QUERY_WORD);
            }
            if rare_positions.contains(&(first_global + i)) {
                insert_word(&mut rng, &mut text, RARE_QUERY_WORD);
            }
            counts.common += u64::from(contains_word(&text, COMMON_QUERY_WORD));
            counts.rare += u64::from(contains_word(&text, RARE_QUERY_WORD));
            counts.top += u64::from(contains_word(&text, &top_word));
            let role = if i % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            clock += rng.range(20, 120) as i64;
            let event = Event {
                seq: i + 1,
                ts: timestamp(clock)?,
                payload: Payload::Message(Message::text(role, text)),
            };
            stats.jsonl_bytes += serde_json::to_vec(&event)?.len() as u64 + 1;
            events.push(event);
        }
        stats.events = events.len() as u64;
        stats.messages = stats.events;
        stats.live_events = stats.events;
        stats.live_bytes = stats.jsonl_bytes;
        let new = NewSession {
            name: SessionName::parse(&format!("chat-{index:04}"))?,
            title: Some(format!("Chat {index}")),
            project: Project::from_stored(format!("/home/dev/src/service-{:02}", index % 10)),
            model: Some(MODEL.into()),
            parent_id: None,
            fork_seq: None,
            created_at: Some(timestamp(start)?),
        };
        Ok((GeneratedSession { new, events, stats }, counts))
    }
}

fn insert_word(rng: &mut Rng, text: &mut String, word: &str) {
    let spaces: Vec<usize> = text.match_indices(' ').map(|(i, _)| i).collect();
    let at = if spaces.is_empty() {
        text.len()
    } else {
        spaces[rng.index(spaces.len())]
    };
    text.insert_str(at, &format!(" {word}"));
}

/// Whether `text` holds `word` as a whole token, ignoring case, the way a
/// full-text index tokenizes it.
pub(crate) fn contains_word(text: &str, word: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|token| token.eq_ignore_ascii_case(word))
}

// ---- listing --------------------------------------------------------------------

/// Number of sessions in the listing dataset.
pub(crate) const LISTING_SESSIONS: u32 = 10_000;

/// One small session of the listing dataset: a few exchanges with usage, in one of
/// 40 projects, its activity spread over a year.
pub(crate) fn listing_session(index: u32, vocabulary: &Vocabulary) -> Result<GeneratedSession> {
    let mut rng = Rng::new(0x1157).fork(u64::from(index));
    let start = EPOCH_SECONDS - 365 * 86_400 + rng.range(0, 365 * 86_400) as i64;
    let mut title = String::new();
    let words = rng.range(3, 7) as usize;
    vocabulary.push_words(&mut rng, &mut title, words);
    let slug = vocabulary.word(&mut rng).to_owned();
    let mut builder = HistoryBuilder::new(vocabulary, rng.next_u64(), 4 * KB);
    builder.clock = start;
    for _ in 0..rng.range(1, 3) {
        let size = rng.log_uniform(80, 600);
        let ask = builder.prose(size);
        builder.push(Payload::Message(Message::text(Role::User, ask)))?;
        let size = rng.log_uniform(200, 1_500);
        let answer = builder.prose(size);
        let reply = builder.assistant(vec![ContentBlock::text(answer)], size);
        builder.push(Payload::Message(reply))?;
    }
    builder.finish(NewSession {
        name: SessionName::parse(&format!("task-{index:05}-{slug}"))?,
        title: Some(title),
        project: Project::from_stored(format!(
            "/home/dev/src/{}-{:02}",
            vocabulary.ranked(100 + (index % 40) as usize),
            index % 40
        )),
        model: Some(MODEL.into()),
        parent_id: None,
        fork_seq: None,
        created_at: Some(timestamp(start)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_shape(compactions: u32) -> HistoryShape {
        HistoryShape {
            name: "tiny".into(),
            project: "/p".into(),
            history_bytes: 2 * MB,
            compactions,
            live_tail_bytes: 200 * KB,
            max_tool_result_bytes: 50 * KB,
            seed: 42,
            tail_seed: 43,
        }
    }

    #[test]
    fn history_is_dense_valid_and_sized() {
        let vocabulary = Vocabulary::new(2_000, 1);
        let session = generate_history(&small_shape(4), &vocabulary).unwrap();
        let events = &session.events;
        // Dense seqs from 1, times never going backwards.
        for (i, event) in events.iter().enumerate() {
            assert_eq!(event.seq, i as u64 + 1);
            if i > 0 {
                assert!(event.ts >= events[i - 1].ts);
            }
        }
        let stats = &session.stats;
        assert_eq!(stats.events, events.len() as u64);
        assert!(stats.jsonl_bytes >= 2 * MB && stats.jsonl_bytes < 2 * MB + 500 * KB);
        assert_eq!(stats.compactions, 4);
        assert!(stats.largest_tool_result_bytes <= 50 * KB);
        // About 2.5 KB per event, as in the 100 MB target of 40,000 events.
        let per_event = stats.jsonl_bytes / stats.events;
        assert!(
            (1_500..4_000).contains(&per_event),
            "{per_event} bytes/event"
        );
        // The live tail after the last compaction is about the requested size.
        assert!(stats.live_bytes >= 200 * KB && stats.live_bytes < 600 * KB);

        // Every line is valid session JSONL v1 and round-trips losslessly.
        for event in events {
            let line = serde_json::to_string(event).unwrap();
            let back: Event = serde_json::from_str(&line).unwrap();
            assert_eq!(&back, event);
        }
    }

    #[test]
    fn every_tool_call_has_its_result_and_compactions_keep_turns_whole() {
        let vocabulary = Vocabulary::new(2_000, 1);
        let session = generate_history(&small_shape(3), &vocabulary).unwrap();
        let mut open: Vec<String> = Vec::new();
        for event in &session.events {
            match &event.payload {
                Payload::Message(m) => {
                    let results: Vec<&str> = m
                        .content
                        .iter()
                        .filter_map(|b| match b {
                            ContentBlock::ToolResult { tool_use_id, .. } => {
                                Some(tool_use_id.as_str())
                            }
                            _ => None,
                        })
                        .collect();
                    // A tool message answers exactly the calls of the message before it.
                    if m.role == Role::Tool {
                        assert_eq!(results, open, "results at seq {}", event.seq);
                    } else {
                        assert!(open.is_empty(), "calls left open before seq {}", event.seq);
                    }
                    open = m.tool_uses().map(|(id, _, _)| id.to_owned()).collect();
                }
                Payload::Compaction(c) => {
                    // The first event after the replaced range starts a turn.
                    let next = &session.events[c.replaces[1] as usize];
                    let starts_turn = matches!(&next.payload,
                        Payload::Message(m) if m.role == Role::User);
                    assert!(starts_turn, "compaction at {} splits a turn", event.seq);
                }
                _ => {}
            }
        }
    }

    #[test]
    fn equal_tail_seeds_give_equal_live_turns() {
        let vocabulary = Vocabulary::new(2_000, 1);
        let mut big = small_shape(2);
        big.history_bytes = 600 * KB;
        big.live_tail_bytes = 100 * KB;
        let small = HistoryShape {
            compactions: 0,
            history_bytes: 100 * KB,
            seed: 99,
            ..big.clone()
        };
        let big = generate_history(&big, &vocabulary).unwrap();
        let small = generate_history(&small, &vocabulary).unwrap();
        let last_compaction = big
            .events
            .iter()
            .rposition(|e| matches!(e.payload, Payload::Compaction(_)))
            .unwrap();
        let tail = &big.events[last_compaction + 1..];
        assert!(tail.len().abs_diff(small.events.len()) <= 12);
        let texts = |events: &[Event]| -> Vec<String> {
            events
                .iter()
                .take(small.events.len().min(tail.len()))
                .map(|e| e.payload.searchable_text())
                .collect()
        };
        assert_eq!(texts(tail), texts(&small.events));
    }

    #[test]
    fn same_seed_same_history() {
        let vocabulary = Vocabulary::new(500, 1);
        let mut shape = small_shape(2);
        shape.history_bytes = 300 * KB;
        shape.live_tail_bytes = 50 * KB;
        let a = generate_history(&shape, &vocabulary).unwrap();
        let b = generate_history(&shape, &vocabulary).unwrap();
        assert_eq!(a.events, b.events);
        assert_eq!(a.stats, b.stats);
    }

    #[test]
    fn search_corpus_places_query_words_as_counted() {
        let vocabulary = Vocabulary::new(2_000, 1);
        let corpus = SearchCorpus {
            sessions: 4,
            messages_per_session: 2_000,
            common_share: 0.05,
            rare_messages: 3,
            seed: 5,
        };
        let rare = corpus.rare_positions();
        assert_eq!(rare.len(), 3);
        let mut totals = QueryCounts::default();
        for index in 0..corpus.sessions {
            let (session, counts) = corpus.session(index, &vocabulary, &rare).unwrap();
            assert_eq!(session.events.len(), 2_000);
            let recount = session
                .events
                .iter()
                .filter(|e| {
                    let text = e.payload.searchable_text();
                    contains_word(&text, COMMON_QUERY_WORD)
                })
                .count() as u64;
            assert_eq!(recount, counts.common);
            totals.common += counts.common;
            totals.rare += counts.rare;
            totals.top += counts.top;
        }
        assert_eq!(totals.rare, 3);
        // About 5 % of 8,000 messages: neither unique nor everywhere.
        assert!((250..550).contains(&totals.common), "{}", totals.common);
        assert!(totals.top > 4_000 && totals.top < 8_000, "{}", totals.top);
    }

    #[test]
    fn listing_sessions_are_small_and_distinct() {
        let vocabulary = Vocabulary::new(2_000, 1);
        let a = listing_session(1, &vocabulary).unwrap();
        let b = listing_session(2, &vocabulary).unwrap();
        assert_ne!(a.new.name, b.new.name);
        assert!((2..=6).contains(&a.events.len()));
        assert!(a.events.iter().any(|e| matches!(&e.payload,
            Payload::Message(m) if m.usage.is_some())));
    }
}
