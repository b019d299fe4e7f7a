//! Codex rollouts (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`, also `.jsonl.zst`)
//! read into a cairn session. The format is undocumented; what this reader knows of
//! it (the rollout types of codex-rs/protocol):
//!
//! - Each line is `{timestamp, type, payload}`: `session_meta` (id, cwd, model
//!   provider), `turn_context` (the model of the turn), `response_item` (what was
//!   sent to or came from the model), `event_msg` (what the interface showed: mostly
//!   copies of response items, and `token_count`), `compacted`.
//! - Response items: `message` (role user/assistant/developer/system, `input_text`,
//!   `output_text`, `input_image` parts), `reasoning` (summaries), `function_call`
//!   (arguments as a JSON string), `custom_tool_call` (free-form input),
//!   `local_shell_call`, and their outputs, paired by `call_id`.
//! - `token_count` carries cumulative totals: a request's usage is the difference
//!   from the previous one. OpenAI counts cached input inside input and reasoning
//!   inside output; cairn's counters do not overlap, so both are split out.
//! - `compacted` replaces the history with its summary; its
//!   `replacement_history`, when present, is the new live context.
//! - A forked rollout (`codex fork`, or editing an earlier message) names its
//!   parent in its `session_meta` (`forked_from_id`, codex-rs/protocol
//!   `SessionMeta`) and then replays the parent's rollout items up to the fork
//!   point, the parent's own `session_meta` among them, before its own lines.
//! - Early rollouts had no wrapper: a bare session meta line, then bare items.

use std::collections::HashSet;
use std::path::Path;

use cairn_core::event::ToolResultContent;
use cairn_core::jsonl::Header;
use cairn_core::{Compaction, ContentBlock, Message, Payload, Role, Timestamp, Usage};
use cairn_llm::{ModelRef, PriceTable, ProviderKind};
use serde_json::{Map, Value, json};

use crate::import_claude_code::{default_name, first_chars, project_of};
use crate::transcript::{EventLog, Lines, Transcript, cost, count, image_from_data_url, timestamp};

pub const SOURCE: &str = "codex";

/// Cumulative token totals as Codex reports them.
#[derive(Clone, Copy, Default, PartialEq)]
struct Totals {
    input: u64,
    cached: u64,
    output: u64,
    reasoning: u64,
}

impl Totals {
    fn of(value: &Value) -> Totals {
        Totals {
            input: count(value, "input_tokens"),
            cached: count(value, "cached_input_tokens"),
            output: count(value, "output_tokens"),
            reasoning: count(value, "reasoning_output_tokens"),
        }
    }

    /// The usage of the request between `earlier` and `self`, in cairn's
    /// non-overlapping counters.
    fn since(&self, earlier: &Totals) -> Usage {
        let input = self.input.saturating_sub(earlier.input);
        let cached = self.cached.saturating_sub(earlier.cached);
        let output = self.output.saturating_sub(earlier.output);
        let reasoning = self.reasoning.saturating_sub(earlier.reasoning);
        Usage {
            input_tokens: input.saturating_sub(cached),
            output_tokens: output.saturating_sub(reasoning),
            cache_read_tokens: cached,
            cache_write_tokens: 0,
            reasoning_tokens: reasoning,
        }
    }
}

struct Reader<'a> {
    prices: &'a PriceTable,
    log: EventLog,
    provider: ProviderKind,
    model: Option<ModelRef>,
    session_model: Option<ModelRef>,
    assistant: Vec<ContentBlock>,
    assistant_ts: Option<Timestamp>,
    results: Vec<ContentBlock>,
    results_ts: Option<Timestamp>,
    calls: HashSet<String>,
    answered: HashSet<String>,
    totals: Totals,
    /// Usage reported before its message was written.
    pending_usage: Option<(Usage, Option<ModelRef>)>,
    /// The first event after the last token count: usage goes to an assistant
    /// message from here on.
    usage_from: u64,
}

/// Reads the whole rollout at `path`.
pub fn read(path: &Path, prices: &PriceTable) -> Result<Transcript, String> {
    let mut lines = Lines::open(path)?;
    let mut reader = Reader {
        prices,
        log: EventLog::default(),
        provider: ProviderKind::OpenAi,
        model: None,
        session_model: None,
        assistant: Vec::new(),
        assistant_ts: None,
        results: Vec::new(),
        results_ts: None,
        calls: HashSet::new(),
        answered: HashSet::new(),
        totals: Totals::default(),
        pending_usage: None,
        usage_from: 1,
    };
    let mut session_id: Option<String> = None;
    let mut forked_from: Option<String> = None;
    let mut cwd: Option<String> = None;
    let mut created_at: Option<Timestamp> = None;
    let mut last_ts: Option<Timestamp> = None;
    while let Some(line) = lines.next_line() {
        let Some(mut entry) = lines.object(&line) else {
            continue;
        };
        let ts = timestamp(entry.get("timestamp")).or(last_ts);
        last_ts = ts;
        let ts = ts.unwrap_or_else(Timestamp::now);
        let kind = entry.get("type").and_then(Value::as_str).map(str::to_owned);
        let payload = entry.remove("payload");
        match (kind.as_deref(), payload) {
            (Some("session_meta"), Some(meta)) => {
                // A forked rollout replays its parent's lines, the parent's own
                // session meta among them: only the first meta is this rollout's.
                if session_id.is_none() {
                    forked_from = str_field(&meta, "forked_from_id");
                } else {
                    lines.skipped.add("session meta of the replayed parent");
                }
                session_id = session_id.or_else(|| str_field(&meta, "id"));
                cwd = cwd.or_else(|| str_field(&meta, "cwd"));
                created_at = created_at
                    .or_else(|| timestamp(meta.get("timestamp")))
                    .or(Some(ts));
                if let Some(provider) = meta.get("model_provider").and_then(Value::as_str) {
                    reader.provider = ProviderKind::parse(provider).unwrap_or(ProviderKind::OpenAi);
                }
            }
            (Some("turn_context"), Some(context)) => {
                if let Some(model) = context.get("model").and_then(Value::as_str) {
                    reader.model = Some(ModelRef::new(reader.provider, model));
                }
                cwd = cwd.or_else(|| str_field(&context, "cwd"));
            }
            (Some("response_item"), Some(item)) => reader.item(&item, ts, line.number, &mut lines),
            (Some("event_msg"), Some(event)) => reader.event(&event, &mut lines),
            (Some("compacted"), Some(compacted)) => {
                reader.compacted(&compacted, ts, line.number, &mut lines);
            }
            // Early rollouts: a bare session meta line, then bare response items.
            (None, None) if entry.contains_key("id") && session_id.is_none() => {
                let meta = Value::Object(entry);
                session_id = str_field(&meta, "id");
                created_at = timestamp(meta.get("timestamp")).or(created_at);
            }
            (Some(item_kind), None) if is_item_kind(item_kind) => {
                reader.item(&Value::Object(entry), ts, line.number, &mut lines);
            }
            (Some("state"), None) => lines.skipped.add("bookkeeping (state)"),
            (Some(other), Some(_)) => lines.skipped.add(format!("unknown type {}", short(other))),
            _ => lines.problem(
                line.number,
                "not a rollout line",
                "no \"type\" with a \"payload\"",
            ),
        }
    }
    reader.flush();
    let stem = path
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("rollout")
        .trim_end_matches(".zst")
        .trim_end_matches(".jsonl")
        .to_owned();
    let original_id = session_id.unwrap_or(stem);
    let created_at = created_at
        .or_else(|| reader.log.events.first().map(|e| e.ts))
        .unwrap_or_else(Timestamp::now);
    let project = cwd
        .as_deref()
        .map(project_of)
        .unwrap_or_else(|| cairn_core::Project::from_stored(""));
    let name = default_name("codex", created_at, &first_chars(&original_id))?;
    let mut header = Header::new(&name, project, created_at);
    header.model = reader
        .session_model
        .as_ref()
        .or(reader.model.as_ref())
        .map(ToString::to_string);
    let fingerprint = lines.fingerprint();
    Ok(Transcript {
        path: path.to_owned(),
        source: SOURCE,
        original_id,
        header,
        cwd,
        events: reader.log.events,
        consumed: lines.consumed(),
        fingerprint,
        skipped: lines.skipped,
        problems: lines.problems,
        parent_original_id: None,
        forked_from,
        branches: Vec::new(),
    })
}

fn is_item_kind(kind: &str) -> bool {
    matches!(
        kind,
        "message"
            | "reasoning"
            | "function_call"
            | "function_call_output"
            | "custom_tool_call"
            | "custom_tool_call_output"
            | "local_shell_call"
    )
}

fn str_field(value: &Value, field: &str) -> Option<String> {
    value.get(field).and_then(Value::as_str).map(str::to_owned)
}

fn short(raw: &str) -> String {
    raw.chars().take(40).collect()
}

impl Reader<'_> {
    fn item(&mut self, item: &Value, ts: Timestamp, line: u64, lines: &mut Lines) {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "message" => self.message(item, ts, line, lines),
            "reasoning" => {
                let mut text: Vec<&str> = Vec::new();
                for list in ["summary", "content"] {
                    if let Some(Value::Array(parts)) = item.get(list) {
                        text.extend(
                            parts
                                .iter()
                                .filter_map(|p| p.get("text").and_then(Value::as_str)),
                        );
                    }
                }
                if text.is_empty() {
                    lines
                        .skipped
                        .add("reasoning without a summary (encrypted only)");
                    return;
                }
                self.assistant_block(
                    ContentBlock::Thinking {
                        text: text.join("\n\n"),
                        signature: None,
                    },
                    ts,
                );
            }
            "function_call" | "custom_tool_call" | "local_shell_call" => {
                let Some(id) = item
                    .get("call_id")
                    .or_else(|| item.get("id"))
                    .and_then(Value::as_str)
                else {
                    lines.problem(line, "tool call without call_id", "skipped");
                    return;
                };
                if !self.calls.insert(id.to_owned()) {
                    lines.skipped.add("duplicate tool call");
                    return;
                }
                let (name, input) = match kind {
                    "function_call" => {
                        let raw = item
                            .get("arguments")
                            .and_then(Value::as_str)
                            .unwrap_or("{}");
                        let input = serde_json::from_str::<Value>(raw)
                            .ok()
                            .filter(Value::is_object)
                            .unwrap_or_else(|| json!({ "arguments": raw }));
                        (str_field(item, "name").unwrap_or_default(), input)
                    }
                    "custom_tool_call" => (
                        str_field(item, "name").unwrap_or_default(),
                        json!({ "input": item.get("input").cloned().unwrap_or(Value::Null) }),
                    ),
                    _ => (
                        "local_shell".to_owned(),
                        item.get("action")
                            .cloned()
                            .unwrap_or(Value::Object(Map::new())),
                    ),
                };
                self.assistant_block(
                    ContentBlock::ToolUse {
                        id: id.to_owned(),
                        name,
                        input,
                    },
                    ts,
                );
            }
            "function_call_output" | "custom_tool_call_output" | "local_shell_call_output" => {
                let id = item.get("call_id").and_then(Value::as_str).unwrap_or("");
                if !self.calls.contains(id) {
                    lines.problem(
                        line,
                        "tool result without call",
                        format!("call_id {:?} names no earlier call", short(id)),
                    );
                    return;
                }
                if !self.answered.insert(id.to_owned()) {
                    lines.skipped.add("duplicate tool result");
                    return;
                }
                self.flush_assistant();
                let (content, is_error) = output(item.get("output"));
                self.results.push(ContentBlock::ToolResult {
                    tool_use_id: id.to_owned(),
                    content,
                    is_error,
                });
                self.results_ts.get_or_insert(ts);
            }
            other => lines.skipped.add(format!(
                "unknown item {}",
                short(if other.is_empty() { "(no type)" } else { other })
            )),
        }
    }

    fn message(&mut self, item: &Value, ts: Timestamp, line: u64, lines: &mut Lines) {
        let role = item.get("role").and_then(Value::as_str).unwrap_or("");
        let mut blocks = Vec::new();
        match item.get("content") {
            Some(Value::Array(parts)) => {
                for part in parts {
                    match part.get("type").and_then(Value::as_str).unwrap_or("") {
                        "input_text" | "output_text" | "text" => {
                            if let Some(text) = part
                                .get("text")
                                .and_then(Value::as_str)
                                .filter(|t| !t.is_empty())
                            {
                                blocks.push(ContentBlock::text(text));
                            }
                        }
                        "input_image" => {
                            let url = part.get("image_url").and_then(Value::as_str).unwrap_or("");
                            match image_from_data_url(url) {
                                Some(image) => blocks.push(image),
                                None => lines.problem(
                                    line,
                                    "image is not a base64 data URL",
                                    "image skipped",
                                ),
                            }
                        }
                        other => lines
                            .skipped
                            .add(format!("unknown content part {}", short(other))),
                    }
                }
            }
            Some(Value::String(text)) => blocks.push(ContentBlock::text(text.clone())),
            _ => {}
        }
        if blocks.is_empty() {
            lines.skipped.add("message with nothing to keep");
            return;
        }
        match role {
            "assistant" => {
                for block in blocks {
                    self.assistant_block(block, ts);
                }
            }
            "user" | "developer" | "system" => {
                self.flush();
                let role = if role == "user" {
                    Role::User
                } else {
                    Role::System
                };
                self.log
                    .push(ts, Payload::Message(Message::new(role, blocks)));
            }
            other => lines.problem(
                line,
                "unknown role",
                format!("{:?}; message skipped", short(other)),
            ),
        }
    }

    fn assistant_block(&mut self, block: ContentBlock, ts: Timestamp) {
        self.flush_results();
        self.assistant.push(block);
        self.assistant_ts.get_or_insert(ts);
    }

    fn event(&mut self, event: &Value, lines: &mut Lines) {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        if kind != "token_count" {
            lines.skipped.add(format!(
                "event_msg {} (shown in the interface only)",
                short(kind)
            ));
            return;
        }
        let Some(total) = event.get("info").and_then(|i| i.get("total_token_usage")) else {
            lines.skipped.add("token_count without totals");
            return;
        };
        let totals = Totals::of(total);
        if totals == self.totals {
            lines.skipped.add("token_count repeated");
            return;
        }
        let usage = totals.since(&self.totals);
        self.totals = totals;
        self.flush();
        self.attach_usage(usage, self.model.clone());
    }

    /// Puts a request's usage on the newest assistant message since the previous
    /// token count, or keeps it for the next one.
    fn attach_usage(&mut self, usage: Usage, model: Option<ModelRef>) {
        let from = self.usage_from;
        self.usage_from = self.log.head() + 1;
        let target = self
            .log
            .events
            .iter_mut()
            .rev()
            .take_while(|e| e.seq >= from)
            .find_map(|e| match &mut e.payload {
                Payload::Message(m) if m.role == Role::Assistant && m.usage.is_none() => Some(m),
                _ => None,
            });
        match target {
            Some(message) => {
                message.cost_usd = cost(self.prices, model.as_ref(), &usage);
                message.usage = Some(usage);
                message.model = model.as_ref().map(ToString::to_string);
                if model.is_some() {
                    self.session_model = model;
                }
            }
            None => {
                let (mut sum, _) = self
                    .pending_usage
                    .take()
                    .unwrap_or((Usage::default(), None));
                sum.add(&usage);
                self.pending_usage = Some((sum, model));
            }
        }
    }

    fn compacted(&mut self, compacted: &Value, ts: Timestamp, line: u64, lines: &mut Lines) {
        self.flush();
        let summary = compacted
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if self.log.head() == 0 {
            lines.problem(
                line,
                "compaction of nothing",
                "no history before it; skipped",
            );
            return;
        }
        self.log.push(
            ts,
            Payload::Compaction(Compaction::new([1, self.log.head()], summary)),
        );
        if let Some(Value::Array(history)) = compacted.get("replacement_history") {
            for item in history {
                self.item(item, ts, line, lines);
            }
            self.flush();
        }
    }

    fn flush_assistant(&mut self) {
        if self.assistant.is_empty() {
            return;
        }
        let content = std::mem::take(&mut self.assistant);
        let ts = self.assistant_ts.take().unwrap_or_else(Timestamp::now);
        let mut message = Message::new(Role::Assistant, content);
        if let Some((usage, model)) = self.pending_usage.take() {
            message.cost_usd = cost(self.prices, model.as_ref(), &usage);
            message.usage = Some(usage);
            message.model = model.as_ref().map(ToString::to_string);
        }
        self.log.push(ts, Payload::Message(message));
    }

    fn flush_results(&mut self) {
        if self.results.is_empty() {
            return;
        }
        let content = std::mem::take(&mut self.results);
        let ts = self.results_ts.take().unwrap_or_else(Timestamp::now);
        self.log
            .push(ts, Payload::Message(Message::new(Role::Tool, content)));
    }

    fn flush(&mut self) {
        self.flush_assistant();
        self.flush_results();
    }
}

/// A tool output: a string, `{content, success}`, or a list of content items.
fn output(raw: Option<&Value>) -> (ToolResultContent, bool) {
    match raw {
        Some(Value::String(text)) => (ToolResultContent::Text(text.clone()), false),
        Some(Value::Object(map)) => {
            let failed = map.get("success").and_then(Value::as_bool) == Some(false);
            let (content, _) = output(map.get("content"));
            (content, failed)
        }
        Some(Value::Array(parts)) => {
            let blocks = parts
                .iter()
                .filter_map(|part| match part.get("type").and_then(Value::as_str) {
                    Some("input_image") => part
                        .get("image_url")
                        .and_then(Value::as_str)
                        .and_then(image_from_data_url),
                    _ => part
                        .get("text")
                        .and_then(Value::as_str)
                        .map(ContentBlock::text),
                })
                .collect();
            (ToolResultContent::Blocks(blocks), false)
        }
        _ => (ToolResultContent::Text(String::new()), false),
    }
}
