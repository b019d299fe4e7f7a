//! Runs the real `cairn` binary inside a [`TestHome`]: a clean environment (only
//! `PATH`, `HOME`, `CAIRN_HOME` and what the test adds), stdin closed unless given,
//! and the whole outcome captured for assertions.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

use crate::home::TestHome;

/// A way to run `cairn` in one test home. Tests pass `env!("CARGO_BIN_EXE_cairn")`.
#[derive(Clone)]
pub struct Cairn {
    bin: PathBuf,
    cwd: PathBuf,
    env: Vec<(OsString, OsString)>,
}

impl Cairn {
    pub fn new(bin: impl Into<PathBuf>, home: &TestHome) -> Self {
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
        let mut env: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), path),
            ("HOME".into(), home.user_home.clone().into()),
            ("CAIRN_HOME".into(), home.cairn_home.clone().into()),
            ("LANG".into(), "C.UTF-8".into()),
        ];
        // The suite on PostgreSQL (`CAIRN_TEST_STORE=postgres`): the home's database.
        if let Some(url) = &home.store_url {
            env.push(("CAIRN_STORE_URL".into(), url.into()));
        }
        Cairn {
            bin: bin.into(),
            cwd: home.project.clone(),
            env,
        }
    }

    /// Adds or replaces an environment variable for every later run.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        let key = key.as_ref().to_owned();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.as_ref().to_owned()));
        self
    }

    /// Talks to `fake` as its OpenAI provider, with `openai:gpt-4.1` as the model.
    pub fn with_fake_openai(self, fake: &crate::fake_llm::FakeLlm) -> Self {
        self.env("OPENAI_API_KEY", "test-key")
            .env("OPENAI_BASE_URL", fake.openai_base_url())
            .env("CAIRN_MODEL", "openai:gpt-4.1")
    }

    /// Talks to `fake` as its Gemini provider, with `gemini:gemini-2.5-flash` as the
    /// model.
    pub fn with_fake_gemini(self, fake: &crate::fake_llm::FakeLlm) -> Self {
        self.env("GEMINI_API_KEY", "test-gemini-key")
            .env("GEMINI_BASE_URL", fake.gemini_base_url())
            .env("CAIRN_MODEL", "gemini:gemini-2.5-flash")
    }

    /// Runs in `dir` instead of the project directory.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = dir.as_ref().to_owned();
        self
    }

    pub fn run<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.run_with_stdin(args, None)
    }

    /// Runs with `stdin` as the process's standard input (closed when `None`).
    // The child is reaped by `wait4` (wait_measuring_peak_rss), which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    pub fn run_with_stdin<I, S>(&self, args: I, stdin: Option<&[u8]>) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let mut command = Command::new(&self.bin);
        command
            .args(&args)
            .current_dir(&self.cwd)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("piped stdin");
            let input = input.to_vec();
            // Write from a thread so a large input cannot deadlock against the output.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let stdout = read_to_end(child.stdout.take());
        let stderr = read_to_end(child.stderr.take());
        let (status, peak_rss_bytes) = wait_measuring_peak_rss(&child);
        let stdout = stdout.join().expect("the stdout reader");
        let stderr = stderr.join().expect("the stderr reader");
        Outcome {
            args: args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            stdout_bytes: stdout,
            peak_rss_bytes,
        }
    }
}

/// Reads a pipe to its end on a thread of its own, so neither pipe can fill up and
/// stall the child while the other is read.
fn read_to_end<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            pipe.read_to_end(&mut bytes)
                .expect("read the child's output");
        }
        bytes
    })
}

/// Reaps `child` with `wait4`, which reports the peak resident memory of this one
/// child (and of the descendants it waited for). `getrusage(RUSAGE_CHILDREN)` would
/// report the largest of every child of the test process, and the tests of a test
/// binary run side by side in one process. Linux counts the spawning process's own
/// peak in too (the memory the child had before its exec), so a bound well below the
/// test process's peak needs a test binary of its own (`tests/import_memory.rs`).
fn wait_measuring_peak_rss(child: &Child) -> (ExitStatus, u64) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let mut status: libc::c_int = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    loop {
        // SAFETY: wait4 writes only the status and the struct it is given.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        assert!(
            error.kind() == std::io::ErrorKind::Interrupted,
            "wait for cairn (pid {pid}): {error}"
        );
    }
    // SAFETY: filled by the successful wait4 above.
    let usage = unsafe { usage.assume_init() };
    // Linux reports ru_maxrss in kilobytes.
    let peak = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
    (ExitStatus::from_raw(status), peak)
}

/// What one run printed and how it ended.
#[derive(Debug)]
pub struct Outcome {
    pub args: Vec<String>,
    /// `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_bytes: Vec<u8>,
    /// The process's peak resident memory (its waited-for children included).
    pub peak_rss_bytes: u64,
}

impl Outcome {
    /// Panics, showing everything, unless the exit code is 0.
    #[track_caller]
    pub fn success(&self) -> &Self {
        self.code(0)
    }

    /// Panics, showing everything, unless the exit code is `expected`.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "`cairn {}` exited with {:?}, expected {expected}\n--- stdout\n{}\n--- stderr\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless stderr contains every one of `needles`.
    #[track_caller]
    pub fn stderr_has(&self, needles: &[&str]) -> &Self {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "`cairn {}`: stderr lacks {needle:?}\n--- stderr\n{}",
                self.args.join(" "),
                self.stderr
            );
        }
        self
    }

    /// Panics unless stdout contains every one of `needles`.
    #[track_caller]
    pub fn stdout_has(&self, needles: &[&str]) -> &Self {
        for needle in needles {
            assert!(
                self.stdout.contains(needle),
                "`cairn {}`: stdout lacks {needle:?}\n--- stdout\n{}",
                self.args.join(" "),
                self.stdout
            );
        }
        self
    }

    /// Stdout parsed as JSON; panics with the text when it is not.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`cairn {}`: stdout is not JSON ({e})\n--- stdout\n{}\n--- stderr\n{}",
                self.args.join(" "),
                self.stdout,
                self.stderr
            )
        })
    }
}
