//! What can stop the engine. Provider failures during a turn are not errors of the
//! engine: they are reported as [`crate::AgentEvent::Error`] and the session stays
//! usable. These are the failures a face must act on (exit code, message).

use cairn_llm::LlmError;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A store or domain failure: not found, lease held, spending limit, bad input…
    #[error(transparent)]
    Core(#[from] cairn_core::Error),

    /// The model cannot be used at all (no provider configured, bad model name).
    #[error(transparent)]
    Provider(#[from] LlmError),
}

impl AgentError {
    /// The exit code of ARCHITECTURE.md invariant 6 (spending limit → 4, not found → 3,
    /// usage → 2, anything else → 1).
    pub fn exit_code(&self) -> i32 {
        match self {
            AgentError::Core(e) => e.exit_code(),
            AgentError::Provider(e) => match e.kind() {
                cairn_llm::ErrorKind::InvalidModel => 2,
                _ => 1,
            },
        }
    }
}

pub type Result<T, E = AgentError> = std::result::Result<T, E>;
