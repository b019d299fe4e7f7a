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
        Some(ErrorCode::DiskFull) => Error::DiskFull(format!("{} ({})", e, path.display())),
        // A failed WAL or journal write is a bare "disk I/O error": a full disk
        // only when the store's file system really has no room.
        Some(ErrorCode::SystemIoFailure) if no_room_for(path) => {
            Error::DiskFull(format!("{} ({})", e, path.display()))
        }
        _ => Error::Storage(format!("{} ({})", e, path.display())),
    }
}

/// Whether the file system holding `path` has (almost) no space left for us.
fn no_room_for(path: &Path) -> bool {
    const ALMOST_NOTHING: u128 = 64 * 1024;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    rustix::fs::statvfs(dir)
        .is_ok_and(|stat| u128::from(stat.f_bavail) * u128::from(stat.f_frsize) < ALMOST_NOTHING)
}

/// A stored value that cannot be read back (written by a broken or newer writer).
pub(crate) fn unreadable(what: impl std::fmt::Display) -> Fail {
    Fail::Domain(Error::Storage(format!("unreadable stored data: {what}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn a_full_disk_is_its_own_error() {
        let path = Path::new("/tmp/store.db");
        let full = sql_error(path, sqlite(rusqlite::ffi::SQLITE_FULL));
        assert!(matches!(full, Error::DiskFull(_)), "{full:?}");
        assert!(full.to_string().contains("/tmp/store.db"), "{full}");
        let busy = sql_error(path, sqlite(rusqlite::ffi::SQLITE_BUSY));
        assert!(matches!(busy, Error::Storage(_)), "{busy:?}");
    }

    #[test]
    fn an_io_error_with_room_left_is_not_a_full_disk() {
        let here = std::env::temp_dir().join("store.db");
        let io = sql_error(&here, sqlite(rusqlite::ffi::SQLITE_IOERR));
        assert!(matches!(io, Error::Storage(_)), "{io:?}");
    }
}
