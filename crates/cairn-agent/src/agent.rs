//! The [`Agent`]: one session driven by one face. Input in (`submit`), events out
//! (through the [`Frontend`]).

use std::sync::Arc;

use cairn_core::settings::Settings;
use cairn_core::{Project, Session, SessionName, Store};
use cairn_llm::LlmClient;
use tokio_util::sync::CancellationToken;

use crate::{AgentError, Frontend};

/// How an agent is set up; built once by the face from the resolved settings and flags.
#[derive(Clone)]
pub struct AgentOptions {
    /// The project the session belongs to; file tools are confined to its root.
    pub project: Project,
    pub settings: Arc<Settings>,
    pub llm: LlmClient,
    /// `-m/--model`: overrides the session's and the settings' model.
    pub model: Option<String>,
    /// `--yes`: run shell commands without asking.
    pub auto_approve_shell: bool,
    /// `--force`: take the session's writer lease over from another process.
    pub force: bool,
}

/// Which session to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionTarget {
    /// `--name X`: resume X if it exists, else create it.
    CreateOrResume(SessionName),
    /// `--resume X`: X must exist (`NotFound`, exit 3, otherwise).
    Resume(SessionName),
    /// `--resume-recent`: the most recently active session of the project
    /// (`NotFound` when the project has none).
    ResumeRecent,
    /// A new session with a generated name (`YYYYMMDD-<project>-HHMM-xxxx`).
    New,
}

/// How a call to [`Agent::submit`] ended. Provider failures and refusals have
/// already been reported as events; the session stays usable in every case but
/// `Exit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The model finished its answer.
    Answered,
    /// The answer was interrupted (cancelled, or the stream broke); what arrived is
    /// stored, marked interrupted.
    Interrupted,
    /// The provider failed (`kind` as in [`crate::AgentEvent::Error`]).
    Failed { kind: String },
    /// The turn was stopped before or between requests: a spending limit the person
    /// declined to pass, or an input that was refused.
    Stopped { reason: String },
    /// A slash command ran.
    Command,
    /// `/exit`: the face should close the agent and leave.
    Exit,
}

/// One session driven by one face.
pub struct Agent {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) options: AgentOptions,
    pub(crate) session: Session,
    pub(crate) model: String,
}

impl Agent {
    /// Open (resume or create) a session, take its writer lease, repair tool calls
    /// left without a result, and report `SessionOpened` (with a recap when resumed).
    pub async fn open(
        store: Arc<dyn Store>,
        options: AgentOptions,
        target: SessionTarget,
        ui: &mut dyn Frontend,
    ) -> Result<Agent, AgentError> {
        let _ = (store, options, target, ui);
        Err(cairn_core::Error::invalid("the chat engine is not built yet").into())
    }

    /// One line from the face: a slash command when it starts with `/`, otherwise a
    /// message to the model (with any attachments queued by `/image` / `/video`).
    /// Cancelling `cancel` interrupts the stream or the running tool.
    pub async fn submit(
        &mut self,
        input: &str,
        ui: &mut dyn Frontend,
        cancel: &CancellationToken,
    ) -> Result<Outcome, AgentError> {
        let _ = (input, ui, cancel);
        Err(cairn_core::Error::invalid("the chat engine is not built yet").into())
    }

    /// The session being driven (totals as of the last append).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The model requests go to (`provider:model`).
    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn project(&self) -> &Project {
        &self.options.project
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Release the writer lease. Dropping an agent without closing it leaves the lease
    /// to expire (another process can take it after it goes stale, or with --force).
    pub async fn close(self) -> Result<(), AgentError> {
        Ok(())
    }
}
