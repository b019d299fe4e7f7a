//! The project's instruction files: `AGENTS.md` (or `CLAUDE.md` where a folder has
//! no `AGENTS.md`) of the project root and of each folder down to the working
//! directory, read when a session is opened and put in its system prompt.
//!
//! - All files together are cut at `[memory] project_files_max_bytes`; the model is
//!   told where a file was cut.
//! - A file that is not a regular file, is not UTF-8 text (or holds NUL bytes), or
//!   leads out of the project through a symlink is refused (recorded with the
//!   reason, never put in the prompt).
//! - What was loaded (paths, sizes, cut or not, a sha256 of the text loaded) is
//!   recorded as a `project_files` event. A resumed session reads the files again:
//!   when they are what its live context last recorded, nothing is added; when one
//!   changed (or appeared, or went), the new set is recorded and the person is told.
//!   The model always works with the files as they are now, and the history shows
//!   which version each part of the session saw.

use std::io::Read;
use std::path::{Path, PathBuf};

use cairn_core::attachment::sha256_hex;
use cairn_core::{Event, LiveContext, Payload};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::tools::confine::Root;

/// The kind of the event that records what was loaded.
pub const PROJECT_FILES_KIND: &str = "project_files";
/// The file read in each folder, and the one read when it is missing.
pub const PRIMARY_FILE: &str = "AGENTS.md";
pub const FALLBACK_FILE: &str = "CLAUDE.md";

/// One file that was read (perhaps cut).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadedFile {
    /// Relative to the project root (`AGENTS.md`, `src/api/CLAUDE.md`).
    pub path: String,
    /// The file's size on disk.
    pub bytes: u64,
    /// Bytes of it in the system prompt.
    pub loaded_bytes: u64,
    pub cut: bool,
    /// sha256 of the text loaded.
    pub sha256: String,
}

/// A file that was found and not read, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedFile {
    pub path: String,
    pub reason: String,
}

/// What a session's system prompt holds of the project's files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectFiles {
    pub files: Vec<LoadedFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedFile>,
    pub max_bytes: u64,
    /// The texts, in the order of `files` (not recorded: the files are).
    #[serde(skip)]
    texts: Vec<String>,
}

impl ProjectFiles {
    /// Read the files of `root` and the folders down to `cwd` (when `cwd` is inside
    /// the root), at most `max_bytes` of text in all.
    pub fn read(root: &Root, cwd: Option<&Path>, max_bytes: usize) -> ProjectFiles {
        let mut out = ProjectFiles {
            max_bytes: max_bytes as u64,
            ..ProjectFiles::default()
        };
        let mut left = max_bytes;
        for folder in folders(root.path(), cwd) {
            let Some(raw) = pick(root.path(), &folder) else {
                continue;
            };
            match read_one(root, &raw, left) {
                Ok((file, text)) => {
                    left = left.saturating_sub(text.len());
                    out.files.push(file);
                    out.texts.push(text);
                }
                Err(reason) => out.refused.push(RefusedFile { path: raw, reason }),
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.refused.is_empty()
    }

    /// The system prompt's section, `None` when no file was loaded.
    pub fn prompt_section(&self) -> Option<String> {
        if self.files.is_empty() {
            return None;
        }
        let mut out = String::from(
            "\n\n# Project instructions\nThe project's instruction files, as they were when \
             this session was opened. Follow them unless the developer says otherwise.\n",
        );
        for (file, text) in self.files.iter().zip(&self.texts) {
            out.push_str(&format!("\n## {}\n{}\n", file.path, text.trim_end()));
            if file.cut {
                out.push_str(&format!(
                    "[cairn] cut: {} is {} bytes; only the first {} are shown (the limit for \
                     all instruction files is memory.project_files_max_bytes = {}). Read the \
                     rest with read_file if you need it.\n",
                    file.path, file.bytes, file.loaded_bytes, self.max_bytes
                ));
            }
        }
        Some(out)
    }

    /// The event that records what was loaded.
    pub fn event(&self) -> Payload {
        let fields = match serde_json::to_value(self) {
            Ok(Value::Object(fields)) => fields,
            _ => Map::new(),
        };
        Payload::Other {
            kind: PROJECT_FILES_KIND.to_owned(),
            fields,
        }
    }

    /// Whether the newest `project_files` event of the live context recorded this
    /// same set (so nothing new needs recording).
    pub fn same_as_recorded(&self, live: &LiveContext) -> bool {
        latest_recorded(&live.events).is_some_and(|recorded| {
            recorded.files == self.files && recorded.refused == self.refused
        })
    }

    /// One line per file for `/context` and notices.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .files
            .iter()
            .map(|f| {
                format!(
                    "(project file) {} {} B{} sha256 {}",
                    f.path,
                    f.bytes,
                    if f.cut {
                        format!(", cut to {} B", f.loaded_bytes)
                    } else {
                        String::new()
                    },
                    f.sha256.get(..12).unwrap_or(&f.sha256)
                )
            })
            .collect();
        lines.extend(
            self.refused
                .iter()
                .map(|r| format!("(project file) {} refused: {}", r.path, r.reason)),
        );
        lines
    }
}

/// The newest `project_files` record among `events`.
pub fn latest_recorded(events: &[Event]) -> Option<ProjectFiles> {
    events.iter().rev().find_map(|e| match &e.payload {
        Payload::Other { kind, fields } if kind == PROJECT_FILES_KIND => {
            serde_json::from_value(Value::Object(fields.clone())).ok()
        }
        _ => None,
    })
}

/// The root, then each folder between it and `cwd`, down to `cwd` itself.
fn folders(root: &Path, cwd: Option<&Path>) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let inside = cwd
        .and_then(|cwd| cwd.canonicalize().ok())
        .and_then(|cwd| cwd.strip_prefix(root).ok().map(Path::to_path_buf));
    if let Some(rel) = inside {
        let mut at = root.to_path_buf();
        for part in rel.iter() {
            at.push(part);
            out.push(at.clone());
        }
    }
    out
}

/// The file to read in `folder` (relative to the root): `AGENTS.md`, else
/// `CLAUDE.md`; `None` when neither is there.
fn pick(root: &Path, folder: &Path) -> Option<String> {
    [PRIMARY_FILE, FALLBACK_FILE].into_iter().find_map(|name| {
        let path = folder.join(name);
        // symlink_metadata: a link counts as present (and is checked when read).
        path.symlink_metadata().ok()?;
        let rel = path.strip_prefix(root).ok()?;
        Some(rel.to_string_lossy().into_owned())
    })
}

/// Read `raw` (relative to the root), at most `left` bytes of it.
fn read_one(root: &Root, raw: &str, left: usize) -> Result<(LoadedFile, String), String> {
    // Refuses a symlink whose target is outside the project (without naming the
    // target: it is recorded in the session).
    let path = root.existing(raw).map_err(|e| {
        if e.contains("outside the project root") {
            "a symlink leading out of the project (refused)".to_owned()
        } else {
            e
        }
    })?;
    let meta = std::fs::metadata(&path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    // Never more than the budget: a huge file costs what the budget allows.
    file.take(left as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    let size = meta.len().max(bytes.len() as u64);
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let error = e.utf8_error();
            // Only a character cut in two by the budget is forgiven.
            let cut_mid_character = error.error_len().is_none() && size > left as u64;
            if !cut_mid_character {
                return Err(format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    error.valid_up_to()
                ));
            }
            let mut bytes = e.into_bytes();
            bytes.truncate(error.valid_up_to());
            String::from_utf8(bytes).map_err(|e| e.to_string())?
        }
    };
    // NUL bytes are valid UTF-8 but no instruction file has them (a sparse or binary
    // file would put kilobytes of them in the prompt).
    if let Some(at) = text.find('\0') {
        return Err(format!(
            "a binary file (a NUL byte at offset {at}), not text"
        ));
    }
    let loaded = text.len() as u64;
    Ok((
        LoadedFile {
            path: raw.to_owned(),
            bytes: size,
            loaded_bytes: loaded,
            cut: loaded < size,
            sha256: sha256_hex(text.as_bytes()),
        },
        text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(dir: &Path) -> Root {
        Root::with_paths(dir, None).unwrap()
    }

    #[test]
    fn agents_md_wins_claude_md_fills_in_and_the_cap_cuts() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::write(base.join("AGENTS.md"), "root rules").unwrap();
        std::fs::write(base.join("CLAUDE.md"), "ignored: AGENTS.md is here").unwrap();
        std::fs::create_dir_all(base.join("api/v2")).unwrap();
        std::fs::write(base.join("api/CLAUDE.md"), "api rules ").unwrap();
        std::fs::write(base.join("api/v2/AGENTS.md"), "v2 rules that go on and on").unwrap();
        let r = root(base);
        let all = ProjectFiles::read(&r, Some(&base.join("api/v2")), 1000);
        let paths: Vec<&str> = all.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["AGENTS.md", "api/CLAUDE.md", "api/v2/AGENTS.md"]);
        let prompt = all.prompt_section().unwrap();
        assert!(prompt.contains("root rules") && !prompt.contains("ignored"));

        // 10 + 10 bytes fit, the third file gets 5 of its 26.
        let cut = ProjectFiles::read(&r, Some(&base.join("api/v2")), 25);
        assert_eq!(cut.files[2].loaded_bytes, 5);
        assert!(cut.files[2].cut && !cut.files[0].cut);
        let prompt = cut.prompt_section().unwrap();
        assert!(
            prompt.contains("[cairn] cut: api/v2/AGENTS.md is 26 bytes"),
            "{prompt}"
        );

        // A working directory outside the root adds nothing.
        let other = tempfile::tempdir().unwrap();
        assert_eq!(
            ProjectFiles::read(&r, Some(other.path()), 1000).files.len(),
            1
        );
    }

    #[test]
    fn non_utf8_and_escaping_symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.md"), "secret").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.md"),
            dir.path().join("AGENTS.md"),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/AGENTS.md"), b"ok \xff\xfe bad").unwrap();
        let got = ProjectFiles::read(&root(dir.path()), Some(&dir.path().join("sub")), 1000);
        assert!(got.files.is_empty(), "{got:?}");
        assert_eq!(got.refused.len(), 2);
        assert!(
            got.refused[0].reason.contains("leading out of the project"),
            "{:?}",
            got.refused
        );
        assert!(
            got.refused[1].reason.contains("not UTF-8"),
            "{:?}",
            got.refused
        );
        assert!(got.prompt_section().is_none());
    }

    #[test]
    fn a_character_cut_by_the_cap_is_dropped_not_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("AGENTS.md"), "ab€").unwrap();
        let got = ProjectFiles::read(&root(dir.path()), None, 3);
        assert_eq!(got.files[0].loaded_bytes, 2);
        assert!(got.files[0].cut);
    }
}
