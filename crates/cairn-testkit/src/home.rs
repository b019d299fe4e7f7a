//! A private, throw-away world for one test: a `CAIRN_HOME`, a project directory
//! (optionally a git repository) and a `HOME` of its own, all in one temp dir that
//! disappears with the value. Nothing a test does reaches the real home.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

pub struct TestHome {
    root: TempDir,
    /// `CAIRN_HOME`: config, store and attachments.
    pub cairn_home: PathBuf,
    /// The working directory commands run in (the project, canonical).
    pub project: PathBuf,
    /// `HOME` for the processes started, so no real dotfile is read.
    pub user_home: PathBuf,
    /// The store the commands use when the suite runs on PostgreSQL
    /// (`CAIRN_TEST_STORE=postgres`: a fresh database per home); `None`: SQLite.
    pub store_url: Option<String>,
}

impl TestHome {
    /// A home and a plain (non-git) project directory.
    pub fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("cairn-test-")
            .tempdir()
            .expect("create a temp dir");
        let base = root
            .path()
            .canonicalize()
            .expect("canonicalize the temp dir");
        let cairn_home = base.join("cairn-home");
        let project = base.join("project");
        let user_home = base.join("user-home");
        for dir in [&cairn_home, &project, &user_home] {
            std::fs::create_dir_all(dir).expect("create test dirs");
        }
        TestHome {
            root,
            cairn_home,
            project,
            user_home,
            store_url: crate::postgres::store_under_test(),
        }
    }

    /// A home whose project directory is a fresh git repository.
    pub fn with_git() -> Self {
        let home = TestHome::new();
        let status = Command::new("git")
            .args(["init", "--quiet"])
            .current_dir(&home.project)
            .env("HOME", &home.user_home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .expect("run `git init` (is git installed?)");
        assert!(status.success(), "git init failed");
        home
    }

    /// The environment that points a process at the suite's store: `CAIRN_STORE_URL`
    /// on PostgreSQL, nothing on SQLite. Tests that start `cairn` with a cleared
    /// environment add it, or the process would use a SQLite file instead.
    pub fn store_env(&self) -> Vec<(&'static str, String)> {
        self.store_url
            .iter()
            .map(|url| ("CAIRN_STORE_URL", url.clone()))
            .collect()
    }

    /// The temp dir everything lives in; extra files can go here.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Another directory next to the project (e.g. a second project); created.
    pub fn dir(&self, name: &str) -> PathBuf {
        let dir = self.project.parent().unwrap_or(self.root.path()).join(name);
        std::fs::create_dir_all(&dir).expect("create dir");
        dir
    }

    /// The project key cairn stores for `self.project`.
    pub fn project_key(&self) -> String {
        self.project.to_string_lossy().into_owned()
    }

    pub fn config_file(&self) -> PathBuf {
        self.cairn_home.join("config.toml")
    }

    pub fn store_file(&self) -> PathBuf {
        self.cairn_home.join("cairn.db")
    }

    pub fn write_config(&self, toml: &str) {
        std::fs::write(self.config_file(), toml).expect("write config.toml");
    }

    pub fn write_project_config(&self, toml: &str) {
        std::fs::write(self.project.join(".cairn.toml"), toml).expect("write .cairn.toml");
    }

    /// Writes `bytes` to `name` under the temp root and returns the path.
    pub fn write_file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.root.path().join(name);
        std::fs::write(&path, bytes).expect("write test file");
        path
    }
}

impl Drop for TestHome {
    /// On PostgreSQL, a SQLite file in the home means some process of the test
    /// fell back to the default store: the test did not run on the store it says.
    fn drop(&mut self) {
        if self.store_url.is_some() && !std::thread::panicking() && self.store_file().exists() {
            panic!(
                "the suite runs on PostgreSQL, but a process made the SQLite store {} \
                 (a `cairn` started without `TestHome::store_env`?)",
                self.store_file().display()
            );
        }
    }
}

impl Default for TestHome {
    fn default() -> Self {
        TestHome::new()
    }
}
