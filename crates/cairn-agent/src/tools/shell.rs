//! `shell`: run a command with `sh -c` in the project root. Whether it may run at all
//! (approval, `--yes`, the `[shell] allow` list) is decided by the turn loop.

use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::confine::Root;

const DEFAULT_TIMEOUT_SECS: u64 = 120;
const MAX_TIMEOUT_SECS: u64 = 3600;
/// Output beyond this is dropped even from the stored result (a runaway command must
/// not fill the store); the model's view is cut much shorter anyway.
const MAX_STORED_OUTPUT_BYTES: usize = 8 * 1024 * 1024;

#[derive(Deserialize)]
pub(super) struct Args {
    command: String,
    timeout_secs: Option<u64>,
}

/// Whether `[shell] allow` lets `command` run without asking. An entry allows a
/// command whose words start with the entry's words (`cargo test` allows
/// `cargo test -p x`, not `cargo testx`); `*` allows everything. A command with shell
/// control characters (`;`, `&`, `|`, `` ` ``, `$(`, `>`, `<`, newlines) is only
/// allowed by `*`, so an allowed prefix cannot smuggle a second command.
pub fn shell_allowed(command: &str, allow: &[String]) -> bool {
    if allow.iter().any(|entry| entry.trim() == "*") {
        return true;
    }
    const CONTROL: [&str; 9] = [";", "&", "|", "`", "$(", ">", "<", "\n", "\r"];
    if CONTROL.iter().any(|c| command.contains(c)) {
        return false;
    }
    let words: Vec<&str> = command.split_whitespace().collect();
    allow.iter().any(|entry| {
        let wanted: Vec<&str> = entry.split_whitespace().collect();
        !wanted.is_empty() && words.len() >= wanted.len() && words[..wanted.len()] == wanted[..]
    })
}

pub(super) async fn run(
    root: &Root,
    args: Args,
    cancel: &CancellationToken,
) -> Result<String, String> {
    if args.command.trim().is_empty() {
        return Err("command is empty".into());
    }
    let timeout = Duration::from_secs(
        args.timeout_secs
            .unwrap_or(DEFAULT_TIMEOUT_SECS)
            .clamp(1, MAX_TIMEOUT_SECS),
    );
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(&args.command)
        .current_dir(root.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group, so a timeout or Ctrl+C stops the children too.
        .process_group(0);
    let child = command
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    let pid = child.id();
    let outcome = tokio::select! {
        out = child.wait_with_output() => Ok(out),
        _ = tokio::time::sleep(timeout) => Err(format!("timed out after {} s; stopped", timeout.as_secs())),
        _ = cancel.cancelled() => Err("interrupted; stopped".to_owned()),
    };
    let output = match outcome {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(format!("cannot run the command: {e}")),
        Err(why) => {
            kill_group(pid);
            return Err(why);
        }
    };
    let mut text = match output.status.code() {
        Some(code) => format!("exit code {code}\n"),
        None => "killed by a signal\n".to_owned(),
    };
    for (label, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
        if bytes.is_empty() {
            continue;
        }
        let shown = &bytes[..bytes.len().min(MAX_STORED_OUTPUT_BYTES)];
        text.push_str(&format!(
            "--- {label} ---\n{}",
            String::from_utf8_lossy(shown)
        ));
        if !text.ends_with('\n') {
            text.push('\n');
        }
        if bytes.len() > shown.len() {
            text.push_str(&format!(
                "[{} more bytes of {label} dropped]\n",
                bytes.len() - shown.len()
            ));
        }
    }
    if output.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group we created;
        // it touches no memory of ours.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_matches_whole_words_and_refuses_chaining() {
        let allow = vec!["cargo test".to_owned(), "ls".to_owned()];
        assert!(shell_allowed("cargo test -p x", &allow));
        assert!(shell_allowed("ls", &allow));
        assert!(!shell_allowed("cargo testx", &allow));
        assert!(!shell_allowed("cargo build", &allow));
        assert!(!shell_allowed("ls; rm -rf /", &allow));
        assert!(!shell_allowed("ls $(rm x)", &allow));
        assert!(!shell_allowed("ls", &[]));
        assert!(shell_allowed("anything | goes", &["*".to_owned()]));
    }

    #[tokio::test]
    async fn runs_in_the_root_and_reports_exit_codes() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("marker"), "").unwrap();
        let root = Root::new(tmp.path()).unwrap();
        let cancel = CancellationToken::new();
        let ok = run(
            &root,
            Args {
                command: "ls".into(),
                timeout_secs: None,
            },
            &cancel,
        )
        .await
        .unwrap();
        assert_eq!(ok, "exit code 0\n--- stdout ---\nmarker\n");
        let bad = run(
            &root,
            Args {
                command: "echo no >&2; exit 3".into(),
                timeout_secs: None,
            },
            &cancel,
        )
        .await
        .unwrap_err();
        assert_eq!(bad, "exit code 3\n--- stderr ---\nno\n");
        let slow = run(
            &root,
            Args {
                command: "sleep 5".into(),
                timeout_secs: Some(1),
            },
            &cancel,
        )
        .await
        .unwrap_err();
        assert!(slow.contains("timed out"), "{slow}");
    }
}
