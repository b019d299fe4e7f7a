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
    eprintln!("error: {}", with_hint(&error, render(&error)));
    ExitCode::from(code_of(&error))
}

/// The error's text with what this face can say about getting past it: core
/// errors name what went wrong, the command line knows its own flags.
fn with_hint(error: &anyhow::Error, text: String) -> String {
    let core = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<cairn_core::Error>());
    match core {
        Some(cairn_core::Error::LeaseHeld { .. }) => {
            format!("{text}; use --force to take it over")
        }
        Some(cairn_core::Error::DiskFull(_)) => format!("{text}; {FREE_SPACE}"),
        _ if writes_to_a_full_disk(error) => format!("disk full: {text}; {FREE_SPACE}"),
        _ => text,
    }
}

const FREE_SPACE: &str =
    "free some space and run the command again (what was written before is kept)";

/// A file write of the command's own (an export, a config file) that found no room.
fn writes_to_a_full_disk(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::StorageFull)
    })
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

    fn shown(error: anyhow::Error) -> String {
        let text = render(&error);
        with_hint(&error, text)
    }

    #[test]
    fn a_full_disk_is_called_a_full_disk_with_what_to_do() {
        let sqlite_full = cairn_core::Error::DiskFull("database or disk is full (/s.db)".into());
        assert_eq!(
            shown(sqlite_full.into()),
            format!("disk full: database or disk is full (/s.db); {FREE_SPACE}")
        );
        let enospc = std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left");
        assert_eq!(
            shown(cairn_core::Error::io("cannot write x", enospc).into()),
            format!("disk full: cannot write x: no space left; {FREE_SPACE}")
        );
        let io = cairn_core::Error::Storage("disk I/O error (/s.db)".into());
        assert_eq!(
            shown(io.into()),
            "storage error: disk I/O error (/s.db)",
            "the store decides whether an I/O error is a full disk, not the text"
        );
        assert_eq!(shown(anyhow::anyhow!("something else")), "something else");
    }

    #[test]
    fn a_held_session_names_the_flag_that_takes_it_over() {
        let held = cairn_core::Error::LeaseHeld {
            session: "auth".into(),
            holder: "pid 7@box".into(),
            heartbeat: "2026-12-06T04:00:00Z".into(),
        };
        assert_eq!(
            shown(anyhow::Error::from(held).context("cannot open the session")),
            "cannot open the session: session auth is in use by pid 7@box \
             (last heartbeat 2026-12-06T04:00:00Z); use --force to take it over"
        );
    }
}
