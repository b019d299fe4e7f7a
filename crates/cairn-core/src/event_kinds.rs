//! The records cairn itself writes into events besides messages, compactions and
//! knowledge items: `command`, `error`, `hint` and `compression` events, and the
//! typed facts kept on messages and compactions (a provider request's cost, a
//! sub-agent's record, how a compaction was made).
//!
//! Each serializes to exactly the keys session JSONL v1 has always had
//! (ARCHITECTURE.md), in the order cairn writes them, and keeps the fields it does not
//! know in `extra`. Enumerations read from files have an `Unknown` arm, so a value
//! written by a newer cairn loads and is written back unchanged.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Usage;

/// A provider request as an event other than a message records it, under the keys a
/// message uses (`model`, `usage`, `cost_usd`, `request_id`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl RequestRecord {
    pub fn is_empty(&self) -> bool {
        self.usage.is_none() && self.cost_usd.is_none()
    }
}

/// How a compaction was made (its `method` field).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompactionMethod {
    /// The compressor model's structured summary.
    Model,
    /// cairn's extractive fallback, without a model.
    Extractive,
    /// The answer of a `/run` command with `output = "replace"`.
    Command,
    /// A method this version does not know, kept verbatim.
    #[serde(untagged)]
    Unknown(String),
}

impl CompactionMethod {
    pub fn as_str(&self) -> &str {
        match self {
            CompactionMethod::Model => "model",
            CompactionMethod::Extractive => "extractive",
            CompactionMethod::Command => "command",
            CompactionMethod::Unknown(raw) => raw,
        }
    }
}

/// What the session's compactions did so far, recorded on each compaction (`totals`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CompactionTotals {
    #[serde(default)]
    pub compactions: u64,
    /// Live-context tokens the compactions took away (before − after, summed).
    #[serde(default)]
    pub tokens_saved: u64,
    /// Tokens of the compressor's own requests.
    #[serde(default)]
    pub compressor_tokens: u64,
    /// What the compressor's requests cost (USD); part of the session's cost.
    #[serde(default)]
    pub compressor_usd: f64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a `delegate` tool result keeps about the sub-agent that produced it (the
/// message's `subagent` field).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SubagentRecord {
    /// The child session's name.
    #[serde(default)]
    pub session: String,
    #[serde(default)]
    pub session_id: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub stop_reason: String,
    #[serde(default)]
    pub requests: u64,
    #[serde(default)]
    pub usage: Usage,
    #[serde(default)]
    pub cost_usd: f64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `command` event: a slash command the person ran (`{"name":"/model","args":[…]}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub name: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CommandRecord {
    pub fn new(name: impl Into<String>, args: &[&str]) -> Self {
        CommandRecord {
            name: name.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            extra: Map::new(),
        }
    }
}

/// An `error` event: a provider request that failed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// The failure's kind, as the agent reports it (`rate_limit`, `auth`, …).
    pub error_kind: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `hint` event: a compression hint was shown, so a resumed session knows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HintRecord {
    pub threshold: u64,
    #[serde(default)]
    pub live_tokens: u64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// How a compression whose answer was recorded as a `compression` event ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompressionOutcome {
    /// The compressor answered but its summary could not be used.
    NotApplied,
    /// An outcome this version does not know, kept verbatim.
    #[serde(untagged)]
    Unknown(String),
}

/// A `compression` event: a compressor request whose answer was not applied, kept
/// because it cost tokens and money all the same (they count toward the totals).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompressionRecord {
    pub outcome: CompressionOutcome,
    #[serde(default)]
    pub reason: String,
    #[serde(flatten)]
    pub request: RequestRecord,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
