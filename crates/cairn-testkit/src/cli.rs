//! Runs the real `cairn` binary inside a [`TestHome`]: a clean environment (only
//! `PATH`, `HOME`, `CAIRN_HOME` and what the test adds), stdin closed unless given,
//! and the whole outcome captured for assertions.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
        let output = child.wait_with_output().expect("wait for cairn");
        Outcome {
            args: args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            stdout_bytes: output.stdout,
        }
    }
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
