//! Project detection: the canonical git top-level of a directory, else the
//! canonical directory itself. Never a basename (two `api/` folders are two projects).
//!
//! A project has two parts: its root (the path on this machine, shown to people)
//! and its key (`project_key`: the same for every checkout of one repository, on
//! any machine). Two projects are equal when their keys are; filters use the key.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// An absolute, canonical project root and its key. Serialised as the root alone
/// (what people read); a root read back without its key is its own key.
#[derive(Clone, Debug)]
pub struct Project {
    root: String,
    key: String,
}

impl PartialEq for Project {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Project {}

impl Hash for Project {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl PartialOrd for Project {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Project {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl Serialize for Project {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.root)
    }
}

impl<'de> Deserialize<'de> for Project {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Project::from_stored)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Project {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Project".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}

impl Project {
    /// Detect the project of `dir` by walking up to the nearest `.git` (a directory,
    /// or a file as in worktrees and submodules).
    pub fn detect(dir: &Path) -> Result<Self, Error> {
        let canonical = dir
            .canonicalize()
            .map_err(|e| Error::io(format!("cannot resolve directory {}", dir.display()), e))?;
        let root = canonical
            .ancestors()
            .find(|candidate| candidate.join(".git").exists())
            .map(Path::to_path_buf)
            .unwrap_or(canonical);
        Ok(Project::from_canonical(root))
    }

    /// The project of the process's working directory.
    pub fn current() -> Result<Self, Error> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the working directory", e))?;
        Project::detect(&cwd)
    }

    /// A project given by a person (`--project PATH`): resolved the same way.
    pub fn from_user_path(path: &Path) -> Result<Self, Error> {
        Project::detect(path)
    }

    /// A project root taken as is, with no key of its own (its key is the root):
    /// a root from a file or a face, or from a store written before keys.
    pub fn from_stored(root: impl Into<String>) -> Self {
        let root = root.into();
        Project {
            key: root.clone(),
            root,
        }
    }

    /// A project as a store keeps it: its root and its key.
    pub fn from_parts(root: impl Into<String>, key: impl Into<String>) -> Self {
        Project {
            root: root.into(),
            key: key.into(),
        }
    }

    /// The project of a root taken from a file or a store: its key is computed
    /// from the checkout when the directory exists here, else the root itself.
    pub fn keyed_if_present(root: impl Into<String>) -> Self {
        let root = root.into();
        let path = Path::new(&root);
        if !root.is_empty() && path.is_absolute() && path.is_dir() {
            let key = crate::project_key::key_for_root(path);
            return Project { root, key };
        }
        Project::from_stored(root)
    }

    fn from_canonical(path: PathBuf) -> Self {
        let key = crate::project_key::key_for_root(&path);
        Project {
            root: path.to_string_lossy().into_owned(),
            key,
        }
    }

    /// The root on this machine, as people read it.
    pub fn as_str(&self) -> &str {
        &self.root
    }

    /// The key every checkout of this project shares; filters compare it.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn path(&self) -> &Path {
        Path::new(&self.root)
    }

    /// Whether this root is `/` or the user's home directory: tools working there
    /// can read and write every file the user owns, so faces warn about it.
    pub fn is_broad_root(&self) -> bool {
        let path = self.path();
        if path.parent().is_none() {
            return true;
        }
        let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
            return false;
        };
        let home = Path::new(&home);
        path == home || home.canonicalize().is_ok_and(|h| h == path)
    }

    /// The folder name, for display only.
    pub fn short_name(&self) -> &str {
        self.path()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(&self.root)
    }
}

impl fmt::Display for Project {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_top_level_wins_over_subdirectory() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("api");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("src/deep")).unwrap();
        let project = Project::detect(&repo.join("src/deep")).unwrap();
        assert_eq!(project.path(), repo.canonicalize().unwrap());
    }

    #[test]
    fn same_basename_different_projects() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("one/api");
        let b = tmp.path().join("two/api");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let pa = Project::detect(&a).unwrap();
        let pb = Project::detect(&b).unwrap();
        assert_ne!(pa, pb);
        assert_eq!(pa.short_name(), pb.short_name());
    }

    #[test]
    fn root_and_home_are_broad() {
        assert!(Project::from_stored("/").is_broad_root());
        if let Some(home) = std::env::var_os("HOME").filter(|h| h.len() > 1) {
            let home = Path::new(&home).to_string_lossy().into_owned();
            assert!(Project::from_stored(home.clone()).is_broad_root());
            assert!(!Project::from_stored(format!("{home}/code/api")).is_broad_root());
        }
        assert!(!Project::from_stored("/srv/code/api").is_broad_root());
    }

    #[test]
    fn two_checkouts_of_one_origin_are_one_project_shown_by_their_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let mut projects = Vec::new();
        for (dir, url) in [
            ("laptop/api", "git@github.com:acme/api.git"),
            ("work/src/api-2", "https://github.com/acme/api"),
        ] {
            let repo = tmp.path().join(dir);
            std::fs::create_dir_all(repo.join(".git")).unwrap();
            std::fs::write(
                repo.join(".git/config"),
                format!("[core]\n\tbare = false\n[remote \"origin\"]\n\turl = {url}\n"),
            )
            .unwrap();
            projects.push(Project::detect(&repo).unwrap());
        }
        assert_eq!(projects[0], projects[1]);
        assert_eq!(projects[0].key(), "github.com/acme/api");
        assert_ne!(projects[0].as_str(), projects[1].as_str());
        assert_eq!(
            serde_json::to_value(&projects[1]).unwrap(),
            serde_json::json!(projects[1].as_str())
        );
    }

    #[test]
    fn missing_directory_is_an_error() {
        let err = Project::detect(Path::new("/definitely/not/here")).unwrap_err();
        assert!(err.to_string().contains("/definitely/not/here"));
    }
}
