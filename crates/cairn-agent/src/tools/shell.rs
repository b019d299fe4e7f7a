//! `shell`: run a command with `sh -c` in the project root. Whether it may run at all
//! (approval, `--yes`, the `[shell] allow` list) is decided by the turn loop.

use std::process::Stdio;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::capped_output::CappedOutput;
use super::confine::Root;

const DEFAULT_TIMEOUT_SECS: u64 = 120;
const MAX_TIMEOUT_SECS: u64 = 3600;
/// Of each stream, this much of the start and of the end is kept; the middle is read
/// and dropped, so a runaway command fills neither memory nor the store (the model's
/// view is cut much shorter anyway).
const KEPT_HEAD_BYTES: usize = 6 * 1024 * 1024;
const KEPT_TAIL_BYTES: usize = 2 * 1024 * 1024;

/// `shell`'s arguments; the tool's schema is derived from them.
#[derive(Deserialize, JsonSchema)]
pub(super) struct Args {
    /// the command line, run with sh -c in the project root
    pub(super) command: String,
    /// seconds before the command is stopped
    #[schemars(range(min = 1, max = 3600))]
    timeout_secs: Option<u64>,
}

/// Whether `[shell] allow` lets `command` run without asking.
///
/// - `*` alone allows every command.
/// - An entry matches a command with exactly the same words (`git status` allows
///   `git status`, not `git status --porcelain` nor `git status; rm x`).
/// - An entry whose last word is `*` (`cargo test *`) allows its words followed by any
///   further arguments. The user wrote that wildcard, so arbitrary arguments are their
///   choice (for a build or test runner that is arbitrary code).
///
/// Shell control characters (`;`, `&`, `|`, `` ` ``, `$`, `>`, `<`, `(`, `)`,
/// newlines) never pass a match, so no entry but `*` lets a second command through;
/// and the words an exact entry compares must be plain (no quotes, globs, `~` or
/// backslashes), so what `sh` runs is exactly the words compared.
pub fn shell_allowed(command: &str, allow: &[String]) -> bool {
    if allow.iter().any(|entry| entry.trim() == "*") {
        return true;
    }
    const CONTROL: [char; 10] = [';', '&', '|', '`', '$', '>', '<', '(', ')', '\n'];
    if command.contains(CONTROL) || command.contains('\r') {
        return false;
    }
    let words: Vec<&str> = command.split_whitespace().collect();
    allow.iter().any(|entry| {
        let wanted: Vec<&str> = entry.split_whitespace().collect();
        match wanted.split_last() {
            Some((&"*", fixed)) if !fixed.is_empty() => {
                words.len() >= fixed.len()
                    && words[..fixed.len()] == *fixed
                    && words[..fixed.len()].iter().all(|w| plain_word(w))
            }
            Some(_) => words == wanted && words.iter().all(|w| plain_word(w)),
            None => false,
        }
    })
}

/// A word `sh` passes on unchanged: no quoting, expansion or globbing can make it
/// mean something other than what the allow-list compared.
fn plain_word(word: &str) -> bool {
    word.chars()
        .all(|c| c.is_alphanumeric() || "-_./=:,@+%".contains(c))
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
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    let pid = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let finished = async {
        let (out, err, status) = tokio::join!(
            CappedOutput::new(KEPT_HEAD_BYTES, KEPT_TAIL_BYTES).read_all(stdout),
            CappedOutput::new(KEPT_HEAD_BYTES, KEPT_TAIL_BYTES).read_all(stderr),
            child.wait()
        );
        Ok::<_, std::io::Error>((out?, err?, status?))
    };
    let outcome = tokio::select! {
        out = finished => Ok(out),
        _ = tokio::time::sleep(timeout) => Err(format!("timed out after {} s; stopped", timeout.as_secs())),
        _ = cancel.cancelled() => Err("interrupted; stopped".to_owned()),
    };
    let (stdout, stderr, status) = match outcome {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(format!("cannot run the command: {e}")),
        Err(why) => {
            kill_group(pid);
            return Err(why);
        }
    };
    let mut text = match status.code() {
        Some(code) => format!("exit code {code}\n"),
        None => "killed by a signal\n".to_owned(),
    };
    for (label, output) in [("stdout", &stdout), ("stderr", &stderr)] {
        if output.is_empty() {
            continue;
        }
        text.push_str(&format!("--- {label} ---\n{}", output.render(label)));
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    if status.success() {
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
    fn allowlist_matches_whole_commands_or_an_explicit_wildcard() {
        let allow = vec![
            "cargo test".to_owned(),
            "git diff".to_owned(),
            "cargo build *".to_owned(),
            "ls".to_owned(),
        ];
        assert!(shell_allowed("cargo test", &allow));
        assert!(shell_allowed("  cargo   test ", &allow));
        assert!(shell_allowed("ls", &allow));
        // An entry without a wildcard is the whole command: arguments are not allowed.
        assert!(!shell_allowed("cargo test -p x", &allow));
        assert!(!shell_allowed(
            "cargo test --config 'target.x86_64-unknown-linux-gnu.runner=\"sh\"'",
            &allow
        ));
        assert!(!shell_allowed(
            "git diff --no-index --output=/tmp/x a b",
            &allow
        ));
        assert!(!shell_allowed(
            "git diff --no-index /etc/passwd /dev/null",
            &allow
        ));
        assert!(!shell_allowed("cargo testx", &allow));
        assert!(!shell_allowed("'cargo' test", &allow));
        // The explicit wildcard allows further arguments, never a second command.
        assert!(shell_allowed("cargo build", &allow));
        assert!(shell_allowed("cargo build --release -p 'a b'", &allow));
        assert!(!shell_allowed("cargo buildx", &allow));
        assert!(!shell_allowed("cargo build; rm -rf /", &allow));
        assert!(!shell_allowed("cargo build && rm x", &allow));
        assert!(!shell_allowed("cargo build | sh", &allow));
        assert!(!shell_allowed("cargo build $(rm x)", &allow));
        assert!(!shell_allowed("cargo build `rm x`", &allow));
        assert!(!shell_allowed("cargo build > /tmp/x", &allow));
        assert!(!shell_allowed("cargo build < /etc/passwd", &allow));
        assert!(!shell_allowed("cargo build\nrm x", &allow));
        assert!(!shell_allowed("cargo build $HOME", &allow));
        assert!(!shell_allowed("ls; rm -rf /", &allow));
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
