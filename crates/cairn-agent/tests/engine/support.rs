use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cairn_agent::frontend::Collect;
use cairn_agent::{Agent, AgentEvent, AgentOptions, Outcome, SessionTarget};
use cairn_core::paths::Paths;
use cairn_core::settings::{Settings, Synchronous};
use cairn_core::{Event, Project, SessionName, Store};
use cairn_llm::{ClientOptions, LlmClient, RetryPolicy};
use cairn_testkit::fake_llm::{FakeLlm, Turn};
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

pub const MODEL: &str = "openai:gpt-4.1";

/// A temp home with a store, a fixture project and a fake provider.
pub struct World {
    pub _tmp: TempDir,
    pub project_dir: PathBuf,
    pub project: Project,
    pub store: Arc<dyn Store>,
    pub fake: FakeLlm,
    pub settings: Settings,
}

impl World {
    pub fn new(turns: impl IntoIterator<Item = Turn>) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let home = base.join("home");
        let project_dir = base.join("project");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(project_dir.join("src")).unwrap();
        std::fs::write(
            project_dir.join("README.md"),
            "# Fixture\nThe auth module uses JWT with 15 minute expiry.\n",
        )
        .unwrap();
        std::fs::write(
            project_dir.join("src/auth.rs"),
            "pub fn expiry_minutes() -> u32 {\n    15\n}\n",
        )
        .unwrap();
        let project = Project::detect(&project_dir).unwrap();
        let store =
            cairn_store_sqlite::open_store(&home.join("cairn.db"), Synchronous::Normal).unwrap();
        let fake = FakeLlm::start(turns).unwrap();
        let mut settings = Settings::defaults(Paths::at(&home));
        settings.providers.openai.api_key = Some("test-key".into());
        settings.providers.openai.base_url = Some(fake.openai_base_url());
        settings.providers.anthropic.api_key = Some("test-key".into());
        settings.providers.anthropic.base_url = Some(fake.anthropic_base_url());
        settings.model = Some(MODEL.into());
        World {
            _tmp: tmp,
            project_dir,
            project,
            store,
            fake,
            settings,
        }
    }

    pub fn options(&self) -> AgentOptions {
        let client_options = ClientOptions {
            retry: RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(20),
                max_retry_after: Duration::from_secs(1),
            },
            ..ClientOptions::default()
        };
        AgentOptions {
            project: self.project.clone(),
            settings: Arc::new(self.settings.clone()),
            llm: LlmClient::new(self.settings.providers.clone(), client_options).unwrap(),
            model: None,
            auto_approve_shell: false,
            force: false,
        }
    }

    pub async fn open(&self, target: SessionTarget, ui: &mut Collect) -> Agent {
        Agent::open(self.store.clone(), self.options(), target, ui)
            .await
            .unwrap()
    }

    pub async fn history(&self, name: &str) -> Vec<Event> {
        let session = self.store.session(&named(name)).await.unwrap();
        self.store
            .events_after(session.id, 0, 10_000)
            .await
            .unwrap()
    }

    /// The body of the `n`th request the fake received (0-based).
    pub fn request(&self, n: usize) -> Value {
        self.fake.requests()[n].body.clone()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.project_dir.join(rel)
    }
}

pub fn named(name: &str) -> SessionName {
    SessionName::parse(name).unwrap()
}

pub fn ui() -> Collect {
    Collect::default()
}

pub fn interactive(answer: bool) -> Collect {
    Collect {
        interactive: true,
        answer,
        ..Collect::default()
    }
}

pub async fn say(agent: &mut Agent, ui: &mut Collect, text: &str) -> Outcome {
    agent
        .submit(text, ui, &CancellationToken::new())
        .await
        .unwrap()
}

/// Every text of every message of an OpenAI-format request body, in order, as
/// `role: text` lines (tool calls as `tool_call NAME ARGS`, results as `tool: TEXT`).
pub fn transcript(body: &Value) -> Vec<String> {
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

/// The texts of the events of one kind the frontend received.
pub fn texts(ui: &Collect) -> String {
    ui.events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

pub fn errors(ui: &Collect) -> Vec<(String, String)> {
    ui.events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Error { kind, message } => Some((kind.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

pub fn command_output(ui: &Collect) -> String {
    ui.events
        .iter()
        .rev()
        .find_map(|e| match e {
            AgentEvent::CommandOutput { text, .. } => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_default()
}
