//! The lossless, append-only event log and its content blocks.
//!
//! The serde form of [`Event`] is exactly one line of session JSONL v1 (ARCHITECTURE.md):
//! `{"seq":1,"ts":"…","kind":"message","role":"user","content":[…]}`. Unknown event
//! kinds and unknown event fields are kept, not dropped, so files written by a newer
//! cairn survive a round trip through an older one.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::event_kinds::{
    CommandRecord, CompactionMethod, CompactionTotals, CompressionRecord, ErrorRecord, HintRecord,
    RequestRecord, SubagentRecord,
};
use crate::{Timestamp, Usage};

/// One entry of a session's log. `seq` is dense per session, starting at 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub seq: u64,
    pub ts: Timestamp,
    pub payload: Payload,
}

/// An event about to be appended; the store assigns `seq` (and `ts` when absent).
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub ts: Option<Timestamp>,
    pub payload: Payload,
}

impl NewEvent {
    pub fn now(payload: Payload) -> Self {
        NewEvent { ts: None, payload }
    }
}

impl From<Payload> for NewEvent {
    fn from(payload: Payload) -> Self {
        NewEvent::now(payload)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    Message(Message),
    Compaction(Compaction),
    Knowledge(KnowledgeItem),
    /// A slash command the person ran.
    Command(CommandRecord),
    /// A provider request that failed.
    Error(ErrorRecord),
    /// A compression hint that was shown.
    Hint(HintRecord),
    /// A compressor request whose answer was not applied.
    Compression(CompressionRecord),
    /// Any other kind, kept field for field: kinds this version does not know, and
    /// events of the kinds above whose fields do not have the types cairn writes
    /// (so a file that loaded before still loads, unchanged).
    Other {
        kind: String,
        fields: Map<String, Value>,
    },
}

impl Payload {
    pub fn kind(&self) -> &str {
        match self {
            Payload::Message(_) => "message",
            Payload::Compaction(_) => "compaction",
            Payload::Knowledge(_) => "knowledge",
            Payload::Command(_) => "command",
            Payload::Error(_) => "error",
            Payload::Hint(_) => "hint",
            Payload::Compression(_) => "compression",
            Payload::Other { kind, .. } => kind,
        }
    }

    pub fn as_message(&self) -> Option<&Message> {
        match self {
            Payload::Message(m) => Some(m),
            _ => None,
        }
    }

    /// Text that full-text search indexes for this event.
    pub fn searchable_text(&self) -> String {
        match self {
            Payload::Message(m) => m.text_for_search(),
            Payload::Compaction(c) => c.summary.clone(),
            Payload::Knowledge(k) => k.text.clone(),
            Payload::Command(_)
            | Payload::Error(_)
            | Payload::Hint(_)
            | Payload::Compression(_)
            | Payload::Other { .. } => String::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "system" => Some(Role::System),
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            "tool" => Some(Role::Tool),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: Vec<ContentBlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The answer (or tool result) was cut short: cancelled, or the stream broke.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// On a `delegate` tool result: the sub-agent that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subagent: Option<SubagentRecord>,
    /// On the question a `/run` command asked: the command's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    pub fn new(role: Role, content: Vec<ContentBlock>) -> Self {
        Message {
            role,
            content,
            usage: None,
            cost_usd: None,
            model: None,
            request_id: None,
            interrupted: false,
            subagent: None,
            command: None,
            extra: Map::new(),
        }
    }

    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Message::new(role, vec![ContentBlock::Text { text: text.into() }])
    }

    /// The concatenated text blocks (what a person reads).
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for block in &self.content {
            if let ContentBlock::Text { text } = block {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(text);
            }
        }
        out
    }

    fn text_for_search(&self) -> String {
        let mut out = String::new();
        for block in &self.content {
            let piece = match block {
                ContentBlock::Text { text } | ContentBlock::Thinking { text, .. } => text.as_str(),
                ContentBlock::ToolResult { content, .. } => content.as_text(),
                _ => continue,
            };
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(piece);
        }
        out
    }

    pub fn tool_uses(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.content.iter().filter_map(|b| match b {
            ContentBlock::ToolUse { id, name, input } => Some((id.as_str(), name.as_str(), input)),
            _ => None,
        })
    }

    /// The ids of the tool calls this message carries results for.
    pub fn tool_result_ids(&self) -> impl Iterator<Item = &str> {
        self.content.iter().filter_map(|b| match b {
            ContentBlock::ToolResult { tool_use_id, .. } => Some(tool_use_id.as_str()),
            _ => None,
        })
    }
}

/// One block of a message's content. Unknown block types are kept as `Other`;
/// its JSON form is in `block_json.rs`.
#[derive(Clone, Debug, PartialEq)]
pub enum ContentBlock {
    Text {
        text: String,
    },
    Thinking {
        text: String,
        /// Provider signature that must be sent back with the thinking (Anthropic).
        signature: Option<String>,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: ToolResultContent,
        is_error: bool,
    },
    Image(MediaBlock),
    Video(MediaBlock),
    Other(Map<String, Value>),
}

impl ContentBlock {
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text { text: text.into() }
    }

    pub fn type_name(&self) -> &str {
        match self {
            ContentBlock::Text { .. } => "text",
            ContentBlock::Thinking { .. } => "thinking",
            ContentBlock::ToolUse { .. } => "tool_use",
            ContentBlock::ToolResult { .. } => "tool_result",
            ContentBlock::Image(_) => "image",
            ContentBlock::Video(_) => "video",
            ContentBlock::Other(map) => map.get("type").and_then(Value::as_str).unwrap_or("?"),
        }
    }
}

/// A tool result is either plain text or a list of blocks (text and images).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolResultContent {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

impl ToolResultContent {
    /// The text of the result; for block lists, the first text block.
    pub fn as_text(&self) -> &str {
        match self {
            ToolResultContent::Text(t) => t,
            ToolResultContent::Blocks(blocks) => blocks
                .iter()
                .find_map(|b| match b {
                    ContentBlock::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .unwrap_or(""),
        }
    }
}

/// An image or video, stored content-addressed; `data_base64` only travels in exports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaBlock {
    pub sha256: String,
    pub mime: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_base64: Option<String>,
}

/// Replaces a prefix of the live context; the replaced events stay in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compaction {
    /// Inclusive seq range `[first, last]` this compaction stands for.
    pub replaces: [u64; 2],
    pub summary: String,
    #[serde(default)]
    pub knowledge: Vec<KnowledgeEntry>,
    #[serde(default)]
    pub tokens_before: u64,
    #[serde(default)]
    pub tokens_after: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<CompactionMethod>,
    /// What the person asked the summary to keep (`/compact <focus>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<String>,
    /// The `/run` command whose answer became the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Why the extractive fallback was used instead of the model's summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// The compressor's own request, counted toward the session's totals.
    #[serde(flatten)]
    pub request: RequestRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals: Option<CompactionTotals>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Compaction {
    /// A compaction of `replaces` into `summary`, with nothing else recorded yet.
    pub fn new(replaces: [u64; 2], summary: impl Into<String>) -> Self {
        Compaction {
            replaces,
            summary: summary.into(),
            knowledge: Vec::new(),
            tokens_before: 0,
            tokens_after: 0,
            method: None,
            focus: None,
            command: None,
            fallback_reason: None,
            request: RequestRecord::default(),
            totals: None,
            extra: Map::new(),
        }
    }
}

/// A knowledge item as carried inside a compaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeEntry {
    pub kind: KnowledgeKind,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KnowledgeKind {
    Decision,
    Constraint,
    Preference,
    Fact,
}

impl KnowledgeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            KnowledgeKind::Decision => "decision",
            KnowledgeKind::Constraint => "constraint",
            KnowledgeKind::Preference => "preference",
            KnowledgeKind::Fact => "fact",
        }
    }
}

/// Whose a knowledge item is: the session's own (the default, not written), or the
/// project's, which every new session of the project (same project key) starts with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KnowledgeScope {
    #[default]
    Session,
    Project,
    /// A scope this version does not know, kept verbatim (treated as the session's).
    #[serde(untagged)]
    Unknown(String),
}

impl KnowledgeScope {
    pub fn as_str(&self) -> &str {
        match self {
            KnowledgeScope::Session => "session",
            KnowledgeScope::Project => "project",
            KnowledgeScope::Unknown(raw) => raw,
        }
    }

    pub fn is_session(&self) -> bool {
        *self == KnowledgeScope::Session
    }
}

/// A `knowledge` event: one decision, constraint, preference or fact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeItem {
    pub knowledge_kind: KnowledgeKind,
    pub text: String,
    #[serde(default)]
    pub pinned: bool,
    /// `"project"` for an item of the project; absent for the session's own.
    #[serde(default, skip_serializing_if = "KnowledgeScope::is_session")]
    pub scope: KnowledgeScope,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut line = Map::new();
        line.insert("seq".into(), Value::from(self.seq));
        line.insert("ts".into(), Value::String(self.ts.to_string()));
        line.insert("kind".into(), Value::String(self.payload.kind().to_owned()));
        let fields = payload_value(&self.payload).map_err(serde::ser::Error::custom)?;
        if let Value::Object(fields) = fields {
            for (key, value) in fields {
                if !matches!(key.as_str(), "seq" | "ts" | "kind") {
                    line.insert(key, value);
                }
            }
        }
        line.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(deserializer)?;
        let seq = map
            .shift_remove("seq")
            .ok_or_else(|| D::Error::custom("missing field \"seq\""))?
            .as_u64()
            .filter(|s| *s >= 1)
            .ok_or_else(|| D::Error::custom("field \"seq\" must be a positive integer"))?;
        let ts = match map.shift_remove("ts") {
            Some(Value::String(raw)) => raw.parse::<Timestamp>().map_err(|e| {
                D::Error::custom(format!("field \"ts\" is not an RFC 3339 time: {e}"))
            })?,
            Some(_) => return Err(D::Error::custom("field \"ts\" must be a string")),
            None => return Err(D::Error::custom("missing field \"ts\"")),
        };
        let kind = match map.shift_remove("kind") {
            Some(Value::String(kind)) => kind,
            Some(_) => return Err(D::Error::custom("field \"kind\" must be a string")),
            None => return Err(D::Error::custom("missing field \"kind\"")),
        };
        let payload = decode_payload(kind, map).map_err(D::Error::custom)?;
        Ok(Event { seq, ts, payload })
    }
}

/// The fields of a payload as one JSON object (without seq, ts and kind).
fn payload_value(payload: &Payload) -> serde_json::Result<Value> {
    match payload {
        Payload::Message(m) => serde_json::to_value(m),
        Payload::Compaction(c) => serde_json::to_value(c),
        Payload::Knowledge(k) => serde_json::to_value(k),
        Payload::Command(c) => serde_json::to_value(c),
        Payload::Error(e) => serde_json::to_value(e),
        Payload::Hint(h) => serde_json::to_value(h),
        Payload::Compression(c) => serde_json::to_value(c),
        Payload::Other { fields, .. } => Ok(Value::Object(fields.clone())),
    }
}

/// Decode the fields of an event of `kind` (everything but seq, ts and kind).
///
/// Messages, compactions and knowledge items must have the types this version
/// writes; the side kinds cairn writes (command, error, hint, compression) become
/// typed when they fit and are kept as [`Payload::Other`] when they do not, as every
/// kind was before they were typed, so no file that loaded before is refused now.
pub fn decode_payload(kind: String, fields: Map<String, Value>) -> Result<Payload, String> {
    let typed = match kind.as_str() {
        "message" => serde_json::from_value(Value::Object(fields)).map(Payload::Message),
        "compaction" => serde_json::from_value(Value::Object(fields)).map(Payload::Compaction),
        "knowledge" => serde_json::from_value(Value::Object(fields)).map(Payload::Knowledge),
        "command" => return Ok(typed_or_other(kind, fields, Payload::Command)),
        "error" => return Ok(typed_or_other(kind, fields, Payload::Error)),
        "hint" => return Ok(typed_or_other(kind, fields, Payload::Hint)),
        "compression" => return Ok(typed_or_other(kind, fields, Payload::Compression)),
        _ => return Ok(Payload::Other { kind, fields }),
    };
    typed.map_err(|e| format!("{kind} event: {e}"))
}

/// The typed payload when `fields` fit `T` and write back to the same object; else
/// the untyped one (a value typing would change, such as an explicit `null`, stays).
fn typed_or_other<T>(
    kind: String,
    fields: Map<String, Value>,
    wrap: impl FnOnce(T) -> Payload,
) -> Payload
where
    T: serde::de::DeserializeOwned + Serialize,
{
    match serde_json::from_value::<T>(Value::Object(fields.clone())) {
        Ok(typed)
            if serde_json::to_value(&typed).is_ok_and(|v| v == Value::Object(fields.clone())) =>
        {
            wrap(typed)
        }
        _ => Payload::Other { kind, fields },
    }
}

/// Encode the fields of a payload (without seq, ts and kind), as the store keeps them.
pub fn encode_payload(payload: &Payload) -> Map<String, Value> {
    if let Payload::Other { fields, .. } = payload {
        return fields.clone();
    }
    match payload_value(payload) {
        Ok(Value::Object(map)) => map,
        // Our own payload types always serialize to objects.
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(line: &str) -> String {
        let event: Event = serde_json::from_str(line).unwrap();
        serde_json::to_string(&event).unwrap()
    }

    #[test]
    fn message_line_round_trips_with_unknown_fields() {
        let line = r#"{"seq":1,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"user","content":[{"type":"text","text":"hi"},{"type":"tool_use","id":"t1","name":"read_file","input":{"path":"a"}},{"type":"hologram","x":1}],"usage":{"input_tokens":3,"output_tokens":4,"cache_read_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0},"cost_usd":0.25,"future_field":{"a":[1,2]}}"#;
        assert_eq!(round_trip(line), line);
    }

    #[test]
    fn unknown_kind_is_kept() {
        let line = r#"{"seq":7,"ts":"2026-11-20T09:00:01Z","kind":"checkpoint_note","name":"/model","args":["x"]}"#;
        assert_eq!(round_trip(line), line);
    }

    #[test]
    fn compaction_and_knowledge_round_trip() {
        let c = r#"{"seq":9,"ts":"2026-11-20T09:00:01Z","kind":"compaction","replaces":[1,8],"summary":"s","knowledge":[{"kind":"decision","text":"use JWT"}],"tokens_before":100,"tokens_after":10}"#;
        assert_eq!(round_trip(c), c);
        let k = r#"{"seq":10,"ts":"2026-11-20T09:00:01Z","kind":"knowledge","knowledge_kind":"constraint","text":"no unsafe","pinned":true}"#;
        assert_eq!(round_trip(k), k);
    }

    fn decoded(line: &str) -> Payload {
        serde_json::from_str::<Event>(line).unwrap().payload
    }

    /// Every kind and field cairn writes, as the lines cairn wrote before they were
    /// typed: each must decode to its typed form and write back byte for byte.
    #[test]
    fn typed_kinds_write_the_lines_cairn_always_wrote() {
        let usage = r#"{"input_tokens":700,"output_tokens":50,"cache_read_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0}"#;
        let command = r#"{"seq":7,"ts":"2026-11-20T09:00:01Z","kind":"command","name":"/model","args":["openai:gpt-4.1"]}"#;
        let error = r#"{"seq":8,"ts":"2026-11-20T09:00:01Z","kind":"error","error_kind":"rate_limit","message":"slow down","status":429}"#;
        let hint = r#"{"seq":9,"ts":"2026-11-20T09:00:01Z","kind":"hint","threshold":50000,"live_tokens":51234}"#;
        let compression = format!(
            r#"{{"seq":10,"ts":"2026-11-20T09:00:01Z","kind":"compression","outcome":"not_applied","reason":"no gain","model":"anthropic:claude-haiku-4-5","usage":{usage},"cost_usd":0.0125,"request_id":"req_1"}}"#
        );
        let compaction = format!(
            r#"{{"seq":11,"ts":"2026-11-20T09:00:01Z","kind":"compaction","replaces":[1,10],"summary":"s","knowledge":[],"tokens_before":900,"tokens_after":90,"method":"model","focus":"the schema","model":"anthropic:claude-haiku-4-5","usage":{usage},"cost_usd":0.0125,"request_id":"req_2","totals":{{"compactions":1,"tokens_saved":810,"compressor_tokens":750,"compressor_usd":0.0125}}}}"#
        );
        let by_command = r#"{"seq":12,"ts":"2026-11-20T09:00:01Z","kind":"compaction","replaces":[1,11],"summary":"s","knowledge":[],"tokens_before":900,"tokens_after":90,"method":"command","command":"reduce"}"#;
        let fallback = r#"{"seq":13,"ts":"2026-11-20T09:00:01Z","kind":"compaction","replaces":[1,12],"summary":"s","knowledge":[],"tokens_before":900,"tokens_after":90,"method":"extractive","fallback_reason":"the model answered nothing"}"#;
        let interrupted = format!(
            r#"{{"seq":14,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"assistant","content":[{{"type":"text","text":"par"}}],"usage":{usage},"cost_usd":0.5,"model":"openai:gpt-4.1","request_id":"req_3","interrupted":true}}"#
        );
        let delegated = format!(
            r#"{{"seq":15,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"tool","content":[{{"type":"tool_result","tool_use_id":"t1","content":"done","is_error":false}}],"interrupted":true,"subagent":{{"session":"s-sub-1","session_id":"01JD0000000000000000000000","model":"openai:gpt-4.1","stop_reason":"end_turn","requests":2,"usage":{usage},"cost_usd":0.25}}}}"#
        );
        let asked = r#"{"seq":16,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"user","content":[{"type":"text","text":"/run reduce"}],"command":"reduce"}"#;
        for line in [
            command,
            error,
            hint,
            &compression,
            &compaction,
            by_command,
            fallback,
            &interrupted,
            &delegated,
            asked,
        ] {
            assert_eq!(round_trip(line), line);
        }
        assert_eq!(
            decoded(command),
            Payload::Command(CommandRecord::new("/model", &["openai:gpt-4.1"]))
        );
        let Payload::Error(e) = decoded(error) else {
            panic!("error is typed")
        };
        assert_eq!((e.error_kind.as_str(), e.status), ("rate_limit", Some(429)));
        assert!(matches!(decoded(hint), Payload::Hint(h) if h.threshold == 50_000));
        let Payload::Compression(c) = decoded(&compression) else {
            panic!("compression is typed")
        };
        assert_eq!(c.outcome, crate::CompressionOutcome::NotApplied);
        assert_eq!(c.request.request_id.as_deref(), Some("req_1"));
        let Payload::Compaction(c) = decoded(&compaction) else {
            panic!("compaction")
        };
        assert_eq!(c.method, Some(CompactionMethod::Model));
        assert_eq!(c.request.usage.map(|u| u.input_tokens), Some(700));
        assert_eq!(c.totals.map(|t| t.tokens_saved), Some(810));
        assert!(c.extra.is_empty(), "{:?}", c.extra);
        let Payload::Message(m) = decoded(&delegated) else {
            panic!("message")
        };
        assert!(m.interrupted && m.extra.is_empty());
        assert_eq!(m.subagent.map(|s| s.requests), Some(2));
    }

    /// Values this version does not know, and side events whose fields are not what
    /// cairn writes, load and write back unchanged.
    #[test]
    fn unknown_values_and_misfit_side_events_are_kept() {
        let outcome = r#"{"seq":1,"ts":"2026-11-20T09:00:01Z","kind":"compression","outcome":"applied_later","reason":"r","cost_usd":0.5,"later":1}"#;
        assert_eq!(round_trip(outcome), outcome);
        let Payload::Compression(c) = decoded(outcome) else {
            panic!("typed")
        };
        assert_eq!(
            c.outcome,
            crate::CompressionOutcome::Unknown("applied_later".into())
        );
        let method = r#"{"seq":2,"ts":"2026-11-20T09:00:01Z","kind":"compaction","replaces":[1,1],"summary":"s","knowledge":[],"tokens_before":0,"tokens_after":0,"method":"telepathy"}"#;
        assert_eq!(round_trip(method), method);
        for misfit in [
            // args that are not strings, a null status, an integer cost: typing would
            // change them, so they stay untyped.
            r#"{"seq":3,"ts":"2026-11-20T09:00:01Z","kind":"command","name":"/x","args":[1,{"a":2}]}"#,
            r#"{"seq":4,"ts":"2026-11-20T09:00:01Z","kind":"error","error_kind":"e","message":"m","status":null}"#,
            r#"{"seq":5,"ts":"2026-11-20T09:00:01Z","kind":"compression","outcome":"not_applied","reason":"r","cost_usd":1}"#,
            r#"{"seq":6,"ts":"2026-11-20T09:00:01Z","kind":"hint"}"#,
        ] {
            assert_eq!(round_trip(misfit), misfit);
            assert!(matches!(decoded(misfit), Payload::Other { .. }), "{misfit}");
        }
    }

    #[test]
    fn wrong_types_are_refused_with_the_field() {
        let bad = r#"{"seq":1,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"user","content":[{"type":"text","text":5}]}"#;
        let err = serde_json::from_str::<Event>(bad).unwrap_err().to_string();
        assert!(err.contains("text"), "{err}");
        let bad_role =
            r#"{"seq":1,"ts":"2026-11-20T09:00:01Z","kind":"message","role":"robot","content":[]}"#;
        assert!(serde_json::from_str::<Event>(bad_role).is_err());
        let bad_seq = r#"{"seq":"1","ts":"2026-11-20T09:00:01Z","kind":"message","role":"user","content":[]}"#;
        let err = serde_json::from_str::<Event>(bad_seq)
            .unwrap_err()
            .to_string();
        assert!(err.contains("seq"), "{err}");
    }
}
