//! Real source code for generated tool outputs: slices of real files, so the
//! store's size (compressed or not) and its full-text index are measured on text
//! like what an agent reads, not on a synthetic vocabulary that compresses far
//! better.
//!
//! The corpus is the `.rs` files under some directories (by default the cargo
//! registry's sources and this repository), sorted by path so a seed picks the same
//! slices on every run over the same files. The harness resolves the directories
//! once and hands them to its workers in [`CODE_DIRS_VAR`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context as _, Result, bail};

use crate::rng::Rng;

/// The workers' copy of the corpus directories (`std::env::join_paths`).
pub(crate) const CODE_DIRS_VAR: &str = "CAIRN_BENCH_CODE_DIRS";
/// Files smaller than this are skipped: a slice would mostly be their license header.
const MIN_FILE_BYTES: u64 = 2_000;

/// The directories resolved by the harness, passed to every worker it starts.
pub(crate) static CODE_DIRS: OnceLock<OsString> = OnceLock::new();

pub(crate) struct CodeCorpus {
    files: Vec<PathBuf>,
    bytes: u64,
    dirs: Vec<PathBuf>,
}

impl CodeCorpus {
    /// `$CARGO_HOME/registry/src` (or `~/.cargo/…`) and this repository.
    pub(crate) fn default_dirs() -> Vec<PathBuf> {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
        let mut dirs = Vec::new();
        if let Some(home) = cargo_home {
            dirs.push(home.join("registry").join("src"));
        }
        dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
        dirs
    }

    pub(crate) fn load(dirs: &[PathBuf]) -> Result<CodeCorpus> {
        let mut files = Vec::new();
        let mut bytes = 0;
        for dir in dirs {
            let dir = dir
                .canonicalize()
                .with_context(|| format!("code corpus directory {}", dir.display()))?;
            collect(&dir, &mut files, &mut bytes);
        }
        files.sort();
        files.dedup();
        if files.is_empty() {
            bail!(
                "no .rs file of at least {MIN_FILE_BYTES} bytes under {} (pass --code-dir)",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(CodeCorpus {
            files,
            bytes,
            dirs: dirs.to_vec(),
        })
    }

    /// The corpus named by the harness in [`CODE_DIRS_VAR`], if any.
    pub(crate) fn from_env() -> Result<Option<CodeCorpus>> {
        match std::env::var_os(CODE_DIRS_VAR) {
            Some(joined) if !joined.is_empty() => {
                let dirs: Vec<PathBuf> = std::env::split_paths(&joined).collect();
                Ok(Some(CodeCorpus::load(&dirs)?))
            }
            _ => Ok(None),
        }
    }

    /// What the corpus is, for reports.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} .rs files, {:.0} MB, under {}",
            self.files.len(),
            self.bytes as f64 / 1e6,
            self.dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// At least `bytes` of real code (whole lines, from a random line of a random
    /// file, continuing in further random files when one ends).
    pub(crate) fn slice(&self, rng: &mut Rng, out: &mut String, bytes: usize) {
        let goal = out.len() + bytes;
        while out.len() < goal {
            let path = &self.files[rng.index(self.files.len())];
            let Ok(raw) = std::fs::read(path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&raw);
            let start = rng.index(text.len());
            let start = text[..]
                .char_indices()
                .map(|(i, _)| i)
                .find(|&i| i >= start)
                .unwrap_or(0);
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            for line in text[line_start..].split_inclusive('\n') {
                if out.len() >= goal {
                    break;
                }
                out.push_str(line);
            }
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>, bytes: &mut u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        let name = entry.file_name();
        if kind.is_dir() {
            if name != "target" && name != ".git" {
                collect(&path, files, bytes);
            }
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "rs") {
            let size = entry.metadata().map_or(0, |m| m.len());
            if size >= MIN_FILE_BYTES {
                files.push(path);
                *bytes += size;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_real_lines_of_the_size_asked() {
        let corpus = CodeCorpus::load(&[PathBuf::from(env!("CARGO_MANIFEST_DIR"))]).unwrap();
        let mut rng = Rng::new(7);
        let mut out = String::new();
        corpus.slice(&mut rng, &mut out, 50_000);
        assert!(out.len() >= 50_000);
        // Lines of this crate's sources, not one line repeated.
        let lines: std::collections::HashSet<&str> = out.lines().collect();
        assert!(lines.len() > 300, "{}", lines.len());
        let mut again = String::new();
        corpus.slice(&mut Rng::new(7), &mut again, 50_000);
        assert_eq!(out, again, "the same seed gives the same slice");
    }
}
