//! Errors of the ACP face, and how engine errors reach a client: as JSON-RPC errors
//! whose message is the engine's plain words (a held lease names its holder, a
//! missing session names itself) and whose `data` carries cairn's stable kind.

use agent_client_protocol as acp;
use cairn_agent::AgentError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AcpError {
    /// The connection failed (transport closed mid-message, malformed framing…).
    #[error("ACP connection: {0}")]
    Connection(String),
}

impl From<acp::Error> for AcpError {
    fn from(error: acp::Error) -> Self {
        AcpError::Connection(error.to_string())
    }
}

/// An engine error as the JSON-RPC error a client shows.
pub(crate) fn engine_error(error: AgentError) -> acp::Error {
    let kind = match &error {
        AgentError::Core(cairn_core::Error::NotFound { .. }) => "not_found",
        AgentError::Core(cairn_core::Error::LeaseHeld { .. }) => "session_busy_elsewhere",
        AgentError::Core(cairn_core::Error::LeaseLost { .. }) => "session_taken_over",
        AgentError::Core(cairn_core::Error::SpendingLimit(_)) => "spending_limit",
        AgentError::Core(cairn_core::Error::AlreadyExists { .. }) => "already_exists",
        AgentError::Provider(_) => "provider",
        AgentError::Core(_) => "error",
    };
    let code = match error.exit_code() {
        3 => acp::ErrorCode::RESOURCE_NOT_FOUND,
        2 => acp::ErrorCode::INVALID_PARAMS,
        _ => acp::ErrorCode::INTERNAL_ERROR,
    };
    acp::Error::new(code, error.to_string()).data(json!({ "cairn": kind }))
}

/// A request the client got wrong (unknown session, bad name…), in plain words.
pub(crate) fn invalid(message: impl Into<String>) -> acp::Error {
    acp::Error::new(acp::ErrorCode::INVALID_PARAMS, message)
}
