//! What both engine test binaries (`engine`, `compression`) build on: a temp home with
//! a real SQLite store, a fixture project, settings that send both providers to a
//! scripted fake LLM, and the few helpers every test uses. Each binary's `support`
//! module wraps this in its own `World` (one fake or two, its retry policy).
//!
//! Included by each binary with `#[path = "../common/mod.rs"] mod common;`; a helper
//! one binary does not use is not dead code in the other.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cairn_agent::frontend::Collect;
use cairn_agent::{Agent, AgentEvent, AgentOptions, Outcome};
use cairn_core::paths::Paths;
use cairn_core::settings::Settings;
use cairn_core::{Event, Project, SessionName, Store};
use cairn_llm::{ClientOptions, LlmClient, RetryPolicy};
use cairn_store_sqlite::Synchronous;
use cairn_testkit::fake_llm::FakeLlm;
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// A temp home (`home/cairn.db`) and a fixture project (`project/`: a README and
/// `src/auth.rs`, a JWT module with a 15 minute expiry).
pub(crate) struct Home {
    pub tmp: TempDir,
    pub home: PathBuf,
    pub project_dir: PathBuf,
    pub project: Project,
    pub store: Arc<dyn Store>,
}

impl Home {
    pub(crate) fn new() -> Home {
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
        Home {
            tmp,
            home,
            project_dir,
            project,
            store,
        }
    }

    /// Default settings for this home, both providers keyed and sent to `fake`, with
    /// `model` as the model.
    pub(crate) fn settings(&self, fake: &FakeLlm, model: &str) -> Settings {
        let mut settings = Settings::defaults(Paths::at(&self.home));
        settings.providers.openai.api_key = Some("test-key".into());
        settings.providers.openai.base_url = Some(fake.openai_base_url());
        settings.providers.anthropic.api_key = Some("test-key".into());
        settings.providers.anthropic.base_url = Some(fake.anthropic_base_url());
        settings.providers.gemini.api_key = Some("test-key".into());
        settings.providers.gemini.base_url = Some(fake.gemini_base_url());
        settings.model = Some(model.into());
        settings
    }
}

/// Agent options for `project` and `settings`, with a fast retry policy of
/// `max_attempts` (1: a scripted failure is final; 2: one retry).
pub(crate) fn agent_options(
    project: &Project,
    settings: &Settings,
    max_attempts: u32,
) -> AgentOptions {
    let client_options = ClientOptions {
        retry: RetryPolicy {
            max_attempts,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(1),
        },
        ..ClientOptions::default()
    };
    AgentOptions {
        project: project.clone(),
        settings: Arc::new(settings.clone()),
        llm: LlmClient::new(settings.providers.clone(), client_options).unwrap(),
        auto_approve_shell: false,
        force: false,
        allow_other_project: false,
    }
}

/// Every event of session `name`, oldest first (read page by page).
pub(crate) async fn history(store: &Arc<dyn Store>, name: &str) -> Vec<Event> {
    let session = store.session(&named(name)).await.unwrap();
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.events_after(session.id, after, 5_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        all.extend(page);
    }
    all
}

pub(crate) fn named(name: &str) -> SessionName {
    SessionName::parse(name).unwrap()
}

/// Send one line (message or slash command), never cancelled.
pub(crate) async fn say(agent: &mut Agent, ui: &mut Collect, text: &str) -> Outcome {
    agent
        .submit(text, ui, &CancellationToken::new())
        .await
        .unwrap()
}

pub(crate) fn notices(ui: &Collect) -> Vec<String> {
    ui.events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Notice { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// The errors the face received, as `(kind, message)`.
pub(crate) fn error_events(ui: &Collect) -> Vec<(String, String)> {
    ui.events
        .iter()
        .filter_map(|e| match e {
            AgentEvent::Error { kind, message } => Some((kind.clone(), message.clone())),
            _ => None,
        })
        .collect()
}

/// The text and data of the last command output.
pub(crate) fn last_command_output(ui: &Collect) -> (String, Value) {
    ui.events
        .iter()
        .rev()
        .find_map(|e| match e {
            AgentEvent::CommandOutput { text, data, .. } => Some((text.clone(), data.clone())),
            _ => None,
        })
        .unwrap_or_default()
}
