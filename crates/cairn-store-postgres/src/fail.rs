//! The internal error of store operations: PostgreSQL (or the pool) said no, or
//! the domain refused the request. Mapped to `cairn_core::Error` at the edge of
//! each `Store` method, with the server named by its redacted URL only.

use cairn_core::Error;
use tokio_postgres::error::SqlState;

pub(crate) enum Fail {
    Pg(tokio_postgres::Error),
    Pool(deadpool_postgres::PoolError),
    Domain(Error),
}

pub(crate) type R<T> = std::result::Result<T, Fail>;

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<deadpool_postgres::PoolError> for Fail {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Fail::Pool(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Domain(e)
    }
}

impl Fail {
    /// The SQLSTATE of a server error, if this is one.
    pub(crate) fn code(&self) -> Option<&SqlState> {
        match self {
            Fail::Pg(e) => e.code(),
            _ => None,
        }
    }

    /// A deadlock or serialization failure: the whole transaction may run again.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(
            self.code(),
            Some(&SqlState::T_R_DEADLOCK_DETECTED | &SqlState::T_R_SERIALIZATION_FAILURE)
        )
    }

    /// The domain error, naming the server by `redacted` (never its password).
    pub(crate) fn into_error(self, redacted: &str) -> Error {
        match self {
            Fail::Domain(e) => e,
            // The server's disk is full: committed data is intact, as with SQLite.
            Fail::Pg(e) if e.code() == Some(&SqlState::DISK_FULL) => {
                Error::DiskFull(format!("PostgreSQL {redacted}: {}", describe(&e)))
            }
            // The server went away under the request (restart, crash, network):
            // whoever asked must know that nothing of it was confirmed.
            Fail::Pg(e) if connection_lost(&e) => Error::Storage(format!(
                "PostgreSQL {redacted}: the connection to the server was lost ({}); \
                 this request was not confirmed: retry it (a new connection is made)",
                describe(&e)
            )),
            Fail::Pg(e) => Error::Storage(format!("PostgreSQL {redacted}: {}", describe(&e))),
            Fail::Pool(e) => Error::Storage(format!("PostgreSQL {redacted}: {}", pool_error(&e))),
        }
    }
}

/// The connection died under a request: closed, cut by a server shutting down,
/// or an I/O error on its socket.
fn connection_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if matches!(
        e.code(),
        Some(&SqlState::ADMIN_SHUTDOWN | &SqlState::CRASH_SHUTDOWN | &SqlState::CANNOT_CONNECT_NOW)
    ) {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A server error's own message (with its detail), else the client's.
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => {
            // tokio-postgres prints the cause ("error connecting to server: …").
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let line = cause.to_string();
                if !text.contains(&line) {
                    text = format!("{text}: {line}");
                }
                source = cause.source();
            }
            text
        }
    }
}

fn pool_error(e: &deadpool_postgres::PoolError) -> String {
    match e {
        deadpool_postgres::PoolError::Backend(e) => describe(e),
        deadpool_postgres::PoolError::Timeout(_) => {
            "cannot connect: the server did not answer in time (connect timeout)".into()
        }
        other => other.to_string(),
    }
}

/// A stored value that cannot be read back (written by a broken or newer writer).
pub(crate) fn unreadable(what: impl std::fmt::Display) -> Fail {
    Fail::Domain(Error::Storage(format!("unreadable stored data: {what}")))
}
