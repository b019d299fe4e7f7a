//! The compression tests' world: the shared home and fixture project (`common`), the
//! scripted fake LLM for the chat model and (optionally) a second one for
//! `[compression] model`, so the two queues of scripted answers never mix.

use std::sync::Arc;

use cairn_agent::frontend::Collect;
use cairn_agent::{Agent, AgentOptions, SessionTarget};
use cairn_core::settings::{PressureLevel, Settings};
use cairn_core::{Compaction, Event, Payload, Project, Store};
use cairn_testkit::fake_llm::{FakeLlm, FakeUsage, Reply, Turn};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::common::{Home, agent_options, error_events, last_command_output};
pub(crate) use crate::common::{named, notices, say};

/// OpenAI model: counted exactly with o200k.
pub(crate) const OPENAI_MODEL: &str = "openai:gpt-4.1";
/// Anthropic model: counted with the bytes heuristic (fast in debug builds).
pub(crate) const ANTHROPIC_MODEL: &str = "anthropic:claude-sonnet-4-5";

pub(crate) struct World {
    _tmp: TempDir,
    pub project: Project,
    pub store: Arc<dyn Store>,
    /// Answers the chat model (and the compressor when it is the same model).
    pub chat: FakeLlm,
    /// Answers `[compression] model`, when one is set with [`World::compressor`].
    pub compressor: Option<FakeLlm>,
    pub settings: Settings,
}

impl World {
    /// A world whose chat model is `model` (OpenAI or Anthropic, both served by
    /// `chat`).
    pub(crate) fn new(model: &str) -> World {
        let home = Home::new();
        let chat = FakeLlm::start([]).unwrap();
        let settings = home.settings(&chat, model);
        World {
            _tmp: home.tmp,
            project: home.project,
            store: home.store,
            chat,
            compressor: None,
            settings,
        }
    }

    /// Summaries go to `model` on its own fake server (its provider must differ from
    /// the chat model's).
    pub(crate) fn compressor(mut self, model: &str) -> World {
        let fake = FakeLlm::start([]).unwrap();
        if model.starts_with("anthropic:") {
            self.settings.providers.anthropic.base_url = Some(fake.anthropic_base_url());
        } else {
            self.settings.providers.openai.base_url = Some(fake.openai_base_url());
        }
        self.settings.compression.model = Some(model.into());
        self.compressor = Some(fake);
        self
    }

    pub(crate) fn levels(mut self, levels: &[(u64, f64)]) -> World {
        self.settings.compression.pressure_levels = levels
            .iter()
            .map(|&(threshold, target_ratio)| PressureLevel {
                threshold,
                target_ratio,
            })
            .collect();
        self
    }

    /// No retries: a scripted failure of the compressor is final.
    pub(crate) fn options(&self) -> AgentOptions {
        agent_options(&self.project, &self.settings, 1)
    }

    pub(crate) async fn open(&self, name: &str, ui: &mut Collect) -> Agent {
        Agent::open(
            self.store.clone(),
            self.options(),
            SessionTarget::CreateOrResume(named(name)),
            ui,
        )
        .await
        .unwrap()
    }

    pub(crate) async fn history(&self, name: &str) -> Vec<Event> {
        crate::common::history(&self.store, name).await
    }
}

/// A chat answer that reports no prompt size (so cairn counts the context itself)
/// and comes in one chunk.
pub(crate) fn answer(text: impl Into<String>) -> Turn {
    Reply::new()
        .text(text)
        .usage(FakeUsage {
            input: 0,
            output: 40,
            ..FakeUsage::default()
        })
        .chunk_size(1_000_000)
        .into()
}

/// A compressor answer: the structured summary cairn asks for.
pub(crate) fn summary(goal: &str, decisions: &[&str], knowledge: &[(&str, &str)]) -> Turn {
    let knowledge: Vec<Value> = knowledge
        .iter()
        .map(|(kind, text)| json!({"kind": kind, "text": text}))
        .collect();
    let body = json!({
        "goal": goal,
        "progress": "work went on",
        "decisions": decisions,
        "constraints": [],
        "files": [{"path": "src/auth.rs", "role": "token expiry"}],
        "open_problems": [],
        "next_steps": ["keep going"],
        "knowledge": knowledge,
    });
    Reply::new()
        .text(format!("```json\n{body}\n```"))
        .usage(FakeUsage {
            input: 900,
            output: 120,
            ..FakeUsage::default()
        })
        .chunk_size(1_000_000)
        .into()
}

/// Every string inside a request body, joined: what the model was sent, in either
/// wire format.
pub(crate) fn sent_text(body: &Value) -> String {
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = String::new();
    walk(&body["system"], &mut out);
    walk(&body["messages"], &mut out);
    out
}

/// The compaction events of a history, oldest first.
pub(crate) fn compactions(history: &[Event]) -> Vec<(u64, Compaction)> {
    history
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::Compaction(c) => Some((e.seq, c.clone())),
            _ => None,
        })
        .collect()
}

pub(crate) fn errors(ui: &Collect) -> Vec<String> {
    error_events(ui)
        .into_iter()
        .map(|(_, message)| message)
        .collect()
}

pub(crate) fn command_output(ui: &Collect) -> (String, Value) {
    last_command_output(ui)
}

/// A user message of about `words` words, numbered so every one is distinct.
pub(crate) fn words(label: &str, words: usize) -> String {
    let mut out = format!("{label}:");
    for i in 0..words {
        out.push_str(&format!(" w{i}"));
    }
    out
}

/// The text of one wire message (a string, or text parts), without a trailing
/// newline.
pub(crate) fn message_text(message: &Value) -> String {
    sent_text(&json!({"messages": [message["content"]]}))
        .trim_end()
        .to_owned()
}
