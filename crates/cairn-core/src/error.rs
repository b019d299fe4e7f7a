//! The error type shared by the store and the domain.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure a store or domain operation can report.
///
/// Variants are chosen so that a face can map them to an exit code or a protocol
/// error without string matching: `NotFound` → 3, `InvalidInput`/`InvalidName` → 2,
/// `SpendingLimit` → 4, everything else → 1.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidName(String),

    #[error("{what} not found: {name}")]
    NotFound { what: &'static str, name: String },

    #[error("{what} already exists: {name}")]
    AlreadyExists { what: &'static str, name: String },

    /// Bad input from a user, a file or the network; the message names the field
    /// and the rule that was broken.
    #[error("{0}")]
    InvalidInput(String),

    /// Another process drives this session. (How to take it over is the face's
    /// to say: `cairn run` has `--force`.)
    #[error("session {session} is in use by {holder} (last heartbeat {heartbeat})")]
    LeaseHeld {
        session: String,
        holder: String,
        heartbeat: String,
    },

    /// This process held the session and another took it over; `message` says who,
    /// and whether it happened at the same time as this process's own `--force`.
    #[error("{message}")]
    LeaseLost { session: String, message: String },

    #[error("config error in {}: {message}", path.display())]
    Config { path: PathBuf, message: String },

    /// The session has forks, which read its history: deleting it alone would
    /// break them.
    #[error("session {session} has forks ({}); delete them too, or first", forks.join(", "))]
    HasForks { session: String, forks: Vec<String> },

    #[error("spending limit reached: {0}")]
    SpendingLimit(String),

    /// The store file is unusable (not a database, corrupt, newer schema).
    #[error("store {}: {message}", path.display())]
    StoreUnusable { path: PathBuf, message: String },

    #[error("storage error: {0}")]
    Storage(String),

    /// The disk holding the store has no room left to write; what was committed
    /// before is intact. `detail` is what the storage said, with the file.
    #[error("disk full: {0}")]
    DiskFull(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    pub fn not_found(what: &'static str, name: impl Into<String>) -> Self {
        Error::NotFound {
            what,
            name: name.into(),
        }
    }

    /// The process exit code ARCHITECTURE.md invariant 6 assigns to this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound { .. } => 3,
            Error::InvalidName(_) | Error::InvalidInput(_) => 2,
            Error::SpendingLimit(_) => 4,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Core errors say what went wrong; how to get past it with a flag is the
    /// face's to say (the REPL has no `--force`, the MCP server no flags at all).
    #[test]
    fn core_errors_name_no_command_line_flag() {
        let held = Error::LeaseHeld {
            session: "auth".into(),
            holder: "pid 7@box".into(),
            heartbeat: "2026-12-06T04:00:00Z".into(),
        };
        assert_eq!(
            held.to_string(),
            "session auth is in use by pid 7@box (last heartbeat 2026-12-06T04:00:00Z)"
        );
        let full = Error::DiskFull("database or disk is full (/s.db)".into());
        assert_eq!(
            full.to_string(),
            "disk full: database or disk is full (/s.db)"
        );
        assert_eq!(full.exit_code(), 1);
    }
}
