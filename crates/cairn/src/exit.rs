//! Turning a command's outcome into a message and an exit code (ARCHITECTURE.md invariant 6:
//! 0 ok, 1 failure, 2 usage error, 3 not found, 4 spending limit reached).

use std::process::ExitCode;

pub(crate) fn report(result: anyhow::Result<()>) -> ExitCode {
    let Err(error) = result else {
        return ExitCode::SUCCESS;
    };
    if is_broken_pipe(&error) {
        // The reader went away (`cairn sessions context x | head`): not a failure.
        return ExitCode::SUCCESS;
    }
    let text = render(&error);
    if is_disk_full(&error, &text, store_disk_is_full) {
        eprintln!(
            "error: disk full: there is no space left to write; free some space and run the \
             command again (what was written before is kept). ({text})"
        );
    } else {
        eprintln!("error: {text}");
    }
    ExitCode::from(code_of(&error))
}

/// SQLite reports a full disk as "database or disk is full" (SQLITE_FULL), or, when
/// a WAL or journal write is what failed, as a bare "disk I/O error"; the latter is
/// called a full disk only when the store's file system really has no room.
fn is_disk_full(error: &anyhow::Error, text: &str, disk_is_full: fn() -> bool) -> bool {
    let io_full = error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|e| {
            e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(libc::ENOSPC)
        })
    });
    io_full
        || text.contains("database or disk is full")
        || (text.contains("disk I/O error") && disk_is_full())
}

/// Whether the file system holding cairn's data has (almost) no space left.
fn store_disk_is_full() -> bool {
    let Ok(paths) = cairn_core::paths::Paths::from_env() else {
        return false;
    };
    let Ok(dir) = std::ffi::CString::new(paths.data_dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statvfs only writes into the zeroed struct we pass; `dir` is a valid
    // NUL-terminated path.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(dir.as_ptr(), &mut stat) } != 0 {
        return false;
    }
    (stat.f_bavail as u128) * (stat.f_frsize as u128) < 64 * 1024
}

fn render(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
    })
}

fn code_of(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(core) = cause.downcast_ref::<cairn_core::Error>() {
            return core.exit_code() as u8;
        }
        if cause.is::<UsageError>() {
            return 2;
        }
    }
    1
}

/// A usage error found after argument parsing (e.g. conflicting options).
#[derive(Debug)]
pub(crate) struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(error: anyhow::Error, disk_is_full: fn() -> bool) -> bool {
        let text = render(&error);
        is_disk_full(&error, &text, disk_is_full)
    }

    #[test]
    fn a_full_disk_is_called_a_full_disk() {
        let full = || true;
        let room = || false;
        let sqlite_full = cairn_core::Error::Storage("database or disk is full (/s.db)".into());
        assert!(shown(sqlite_full.into(), room));
        let enospc = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(shown(
            cairn_core::Error::io("cannot write x", enospc).into(),
            room
        ));
        let io = || cairn_core::Error::Storage("disk I/O error (/s.db)".into());
        assert!(shown(io().into(), full));
        assert!(
            !shown(io().into(), room),
            "an I/O error with room left is not a full disk"
        );
        assert!(!shown(anyhow::anyhow!("something else"), full));
    }
}
