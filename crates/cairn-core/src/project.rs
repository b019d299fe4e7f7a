//! Project detection: the canonical git top-level of a directory, else the
//! canonical directory itself. Never a basename (two `api/` folders are two projects).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;

/// An absolute, canonical project root, stored as a string key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Project(String);

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

    /// A project key taken as is (from the store or an imported file).
    pub fn from_stored(key: impl Into<String>) -> Self {
        Project(key.into())
    }

    fn from_canonical(path: PathBuf) -> Self {
        Project(path.to_string_lossy().into_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn path(&self) -> &Path {
        Path::new(&self.0)
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
            .unwrap_or(&self.0)
    }
}

impl fmt::Display for Project {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
    fn missing_directory_is_an_error() {
        let err = Project::detect(Path::new("/definitely/not/here")).unwrap_err();
        assert!(err.to_string().contains("/definitely/not/here"));
    }
}
