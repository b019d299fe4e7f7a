//! Turning a command's outcome into a message and an exit code (DESIGN.md invariant 6:
//! 0 ok, 1 failure, 2 usage error, 3 not found, 4 spending limit reached).

use std::process::ExitCode;

pub fn report(result: anyhow::Result<()>) -> ExitCode {
    let Err(error) = result else {
        return ExitCode::SUCCESS;
    };
    if is_broken_pipe(&error) {
        // The reader went away (`cairn sessions context x | head`): not a failure.
        return ExitCode::SUCCESS;
    }
    eprintln!("error: {}", render(&error));
    ExitCode::from(code_of(&error))
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
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}
