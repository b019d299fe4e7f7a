//! The engine tests' world: the shared home and fixture project (`common`), one fake
//! provider answering both wire formats, one retry allowed.

use std::path::PathBuf;
use std::sync::Arc;

use cairn_agent::frontend::Collect;
use cairn_agent::{Agent, AgentEvent, AgentOptions, SessionTarget};
use cairn_core::settings::{Settings, SettingsLayer};
use cairn_core::{ContentBlock, Event, Payload, Project, Store};
use cairn_testkit::fake_llm::{FakeLlm, Turn};
use serde_json::Value;
use tempfile::TempDir;

use crate::common::{Home, agent_options, error_events, last_command_output};
pub(crate) use crate::common::{named, say};

pub(crate) const MODEL: &str = "openai:gpt-4.1";

/// A temp home with a store, a fixture project and a fake provider.
pub(crate) struct World {
    pub _tmp: TempDir,
    pub project_dir: PathBuf,
    pub project: Project,
    pub store: Arc<dyn Store>,
    pub fake: FakeLlm,
    pub settings: Settings,
}

impl World {
    pub(crate) fn new(turns: impl IntoIterator<Item = Turn>) -> World {
        let home = Home::new();
        let fake = FakeLlm::start(turns).unwrap();
        let settings = home.settings(&fake, MODEL);
        World {
            _tmp: home.tmp,
            project_dir: home.project_dir,
            project: home.project,
            store: home.store,
            fake,
            settings,
        }
    }

    pub(crate) fn options(&self) -> AgentOptions {
        agent_options(&self.project, &self.settings, 2)
    }

    /// The options of `cairn run -m MODEL`: the flag is the settings' last layer.
    pub(crate) fn options_with_model_flag(&self, model: &str) -> AgentOptions {
        let mut settings = self.settings.clone();
        settings.apply_flags(SettingsLayer {
            model: Some(model.into()),
            ..SettingsLayer::default()
        });
        agent_options(&self.project, &settings, 2)
    }

    pub(crate) async fn open(&self, target: SessionTarget, ui: &mut Collect) -> Agent {
        Agent::open(self.store.clone(), self.options(), target, ui)
            .await
            .unwrap()
    }

    pub(crate) async fn history(&self, name: &str) -> Vec<Event> {
        crate::common::history(&self.store, name).await
    }

    /// The body of the `n`th request the fake received (0-based).
    pub(crate) fn request(&self, n: usize) -> Value {
        self.fake.requests()[n].body.clone()
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.project_dir.join(rel)
    }
}

pub(crate) fn ui() -> Collect {
    Collect::default()
}

pub(crate) fn interactive(answer: bool) -> Collect {
    Collect {
        interactive: true,
        answer,
        ..Collect::default()
    }
}

/// Every text of every message of an OpenAI-format request body, in order, as
/// `role: text` lines (tool calls as `tool_call NAME ARGS`, results as `tool: TEXT`).
pub(crate) fn transcript(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for m in body["messages"].as_array().unwrap() {
        let role = m["role"].as_str().unwrap_or("?");
        match &m["content"] {
            Value::String(s) => out.push(format!("{role}: {s}")),
            Value::Array(parts) => {
                for p in parts {
                    if let Some(t) = p["text"].as_str() {
                        out.push(format!("{role}: {t}"));
                    }
                }
            }
            _ => {}
        }
        if let Some(calls) = m["tool_calls"].as_array() {
            for c in calls {
                out.push(format!(
                    "tool_call {} {}",
                    c["function"]["name"].as_str().unwrap_or(""),
                    c["function"]["arguments"].as_str().unwrap_or("")
                ));
            }
        }
    }
    out
}

/// The answer text the frontend received.
pub(crate) fn texts(ui: &Collect) -> String {
    ui.events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

pub(crate) fn errors(ui: &Collect) -> Vec<(String, String)> {
    error_events(ui)
}

pub(crate) fn command_output(ui: &Collect) -> String {
    last_command_output(ui).0
}

/// A reply costing $2.00 on gpt-4.1: $2 of output at $8 per million tokens. (Not $2
/// of input: a reported prompt of a million tokens passes the default pressure level,
/// and the next request of the turn would rightly compress first.)
pub(crate) fn two_dollars(reply: cairn_testkit::fake_llm::Reply) -> Turn {
    reply
        .usage(cairn_testkit::fake_llm::FakeUsage {
            output: 250_000,
            ..Default::default()
        })
        .into()
}

/// The message of the spending-limit error a submit ended with (exit code 4); fails
/// the test on any other outcome.
pub(crate) fn spending_limit_message<T: std::fmt::Debug>(
    result: Result<T, cairn_agent::AgentError>,
) -> String {
    let err = match result {
        Ok(outcome) => panic!("expected a spending limit, the turn ended: {outcome:?}"),
        Err(err) => err,
    };
    assert_eq!(err.exit_code(), 4, "{err}");
    match err {
        cairn_agent::AgentError::Core(cairn_core::Error::SpendingLimit(message)) => message,
        other => panic!("expected a spending limit: {other}"),
    }
}

/// The names of the tools a request offered (OpenAI wire).
pub(crate) fn tool_names(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The tool results of a session's log: (text, is_error, the message's extra fields).
pub(crate) async fn tool_results(world: &World, name: &str) -> Vec<(String, bool, Value)> {
    let mut out = Vec::new();
    for event in world.history(name).await {
        let Payload::Message(message) = event.payload else {
            continue;
        };
        for block in &message.content {
            if let ContentBlock::ToolResult {
                content, is_error, ..
            } = block
            {
                out.push((
                    content.as_text().to_string(),
                    *is_error,
                    serde_json::to_value(&message).unwrap(),
                ));
            }
        }
    }
    out
}
