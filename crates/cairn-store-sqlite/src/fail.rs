//! The internal error of store operations: either SQLite said no (which may be
//! retried when the database was busy) or the domain refused the request.

use std::path::Path;

use cairn_core::Error;
use rusqlite::ErrorCode;

pub(crate) enum Fail {
    Sql(rusqlite::Error),
    Domain(Error),
}

pub(crate) type R<T> = std::result::Result<T, Fail>;

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Domain(e)
    }
}

impl Fail {
    /// Another connection holds a lock: the whole transaction can be run again.
    pub(crate) fn is_busy(&self) -> bool {
        match self {
            Fail::Sql(e) => is_busy(e),
            Fail::Domain(_) => false,
        }
    }

    pub(crate) fn into_error(self, path: &Path) -> Error {
        match self {
            Fail::Domain(e) => e,
            Fail::Sql(e) => sql_error(path, e),
        }
    }
}

pub(crate) fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Maps an SQLite failure to the domain error; a damaged file is `StoreUnusable`.
pub(crate) fn sql_error(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::StoreUnusable {
            path: path.to_path_buf(),
            message: "the file is not a SQLite database; cairn leaves it untouched \
                      (move it away or point CAIRN_HOME elsewhere)"
                .into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => Error::StoreUnusable {
            path: path.to_path_buf(),
            message: format!("the database is corrupt ({e}); cairn leaves it untouched"),
        },
        _ => Error::Storage(format!("{} ({})", e, path.display())),
    }
}

/// A stored value that cannot be read back (written by a broken or newer writer).
pub(crate) fn unreadable(what: impl std::fmt::Display) -> Fail {
    Fail::Domain(Error::Storage(format!("unreadable stored data: {what}")))
}
