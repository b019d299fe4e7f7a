//! Keeping file tools inside the project root: a path given by the model is refused
//! when it climbs out with `..`, is absolute outside the root, or reaches outside
//! through a symlink (checked on the canonical path). Writing is refused, besides,
//! for configuration that runs commands without asking (`.git`, `.cairn.toml`,
//! `.mcp.json`, cairn's own directories): a model that could edit `.git/config` could
//! make an allowed `git status` run anything.

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use cairn_core::paths::{PROJECT_CONFIG_FILE, Paths};

/// File names the file tools never write, wherever they are in the project, and why.
/// Matched ignoring ASCII case, as the filesystem may (`.GIT` is `.git` on macOS).
const PROTECTED_NAMES: [(&str, &str); 3] = [
    (
        ".git",
        "git's directory (or a .git file naming one): git runs commands from its config \
         and hooks without asking",
    ),
    (
        PROJECT_CONFIG_FILE,
        "cairn's project configuration: change it yourself",
    ),
    (
        ".mcp.json",
        "MCP client configuration: it names commands to start",
    ),
];

/// The canonical project root every file tool works under.
#[derive(Clone, Debug)]
pub struct Root {
    canonical: PathBuf,
    /// Directories under the root that are not to be written, relative to it, each
    /// with the rule that protects it.
    protected: Vec<(PathBuf, String)>,
}

impl Root {
    /// `dir` is canonicalised once here; cairn's own directories come from the
    /// environment of this process.
    pub fn new(dir: &Path) -> Result<Root, String> {
        Root::with_paths(dir, Paths::from_env().ok())
    }

    /// Like [`Root::new`] with cairn's directories given.
    pub fn with_paths(dir: &Path, paths: Option<Paths>) -> Result<Root, String> {
        let canonical = dir
            .canonicalize()
            .map_err(|e| format!("cannot resolve the project root {}: {e}", dir.display()))?;
        let mut candidates = Vec::new();
        if let Some(paths) = paths {
            for (dir, rule) in [
                (&paths.config_dir, "cairn's config directory"),
                (&paths.data_dir, "cairn's data directory"),
            ] {
                let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
                if dir == canonical {
                    // cairn's home is the project itself: its own files, not the project.
                    let store = paths.store_file();
                    let store = store.to_string_lossy();
                    for file in [
                        paths.config_file(),
                        paths.history_dir(),
                        store.clone().into_owned().into(),
                        format!("{store}-wal").into(),
                        format!("{store}-shm").into(),
                    ] {
                        candidates.push((file, format!("a file of {rule}")));
                    }
                } else {
                    candidates.push((dir, rule.to_owned()));
                }
            }
        }
        if let Some(gitdir) = gitdir_named_by_git_file(&canonical) {
            candidates.push((gitdir, "the git directory named by .git".to_owned()));
        }
        let protected = candidates
            .into_iter()
            .filter_map(|(dir, rule)| {
                let dir = dir.canonicalize().unwrap_or(dir);
                let rel = dir.strip_prefix(&canonical).ok()?.to_path_buf();
                Some((rel, rule))
            })
            .collect();
        Ok(Root {
            canonical,
            protected,
        })
    }

    pub fn path(&self) -> &Path {
        &self.canonical
    }

    /// A path for reading: it must exist and its canonical form must be inside the root.
    pub fn existing(&self, raw: &str) -> Result<PathBuf, String> {
        let joined = self.lexical(raw)?;
        let canonical = joined.canonicalize().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{raw}: no such file or directory"),
            _ => format!("{raw}: {e}"),
        })?;
        self.inside(raw, &canonical)?;
        Ok(canonical)
    }

    /// The names leading to a file to write, relative to the root (`src`, `main.rs`),
    /// after refusing `..`, outside paths and protected paths. Symlinks are dealt with
    /// while opening (see `write_at`), not here.
    pub fn writable_names(&self, raw: &str) -> Result<Vec<OsString>, String> {
        let joined = self.lexical(raw)?;
        let names: Vec<OsString> = joined
            .strip_prefix(&self.canonical)
            .map_err(|_| format!("{raw}: not a path inside the project root"))?
            .iter()
            .map(OsStr::to_owned)
            .collect();
        if names.is_empty() {
            return Err(format!("{raw}: is the project root, not a file"));
        }
        for name in &names {
            if let Some((protected, why)) = PROTECTED_NAMES
                .iter()
                .find(|(protected, _)| same_name(name, OsStr::new(protected)))
            {
                return Err(format!(
                    "{raw}: protected path, not written by the file tools (rule: {protected} \
                     is {why})"
                ));
            }
        }
        for (dir, rule) in &self.protected {
            let under = dir.iter().count() <= names.len()
                && dir.iter().zip(&names).all(|(a, b)| same_name(a, b));
            if under {
                return Err(format!(
                    "{raw}: protected path, not written by the file tools (rule: {} is {rule})",
                    dir.display()
                ));
            }
        }
        Ok(names)
    }

    /// A path relative to the root, for showing (`src/main.rs`).
    pub fn relative<'a>(&self, path: &'a Path) -> std::borrow::Cow<'a, str> {
        match path.strip_prefix(&self.canonical) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.to_string_lossy(),
            Err(_) => path.to_string_lossy(),
        }
    }

    /// Join `raw` to the root without touching the disk, refusing `..` and absolute
    /// paths outside the root.
    fn lexical(&self, raw: &str) -> Result<PathBuf, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err("path is empty".into());
        }
        if trimmed.contains('\0') {
            return Err("path contains a NUL byte".into());
        }
        let given = Path::new(trimmed);
        let relative = if given.is_absolute() {
            given.strip_prefix(&self.canonical).map_err(|_| {
                format!(
                    "{raw}: outside the project root {} (file tools only work inside it)",
                    self.canonical.display()
                )
            })?
        } else {
            given
        };
        let mut out = self.canonical.clone();
        for component in relative.components() {
            match component {
                Component::Normal(part) => out.push(part),
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err(format!(
                        "{raw}: `..` is not allowed (file tools only work inside the project root)"
                    ));
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(format!("{raw}: not a path inside the project root"));
                }
            }
        }
        Ok(out)
    }

    fn inside(&self, raw: &str, canonical: &Path) -> Result<(), String> {
        if canonical.starts_with(&self.canonical) {
            Ok(())
        } else {
            Err(format!(
                "{raw}: resolves to {} outside the project root (symlink escape refused)",
                canonical.display()
            ))
        }
    }
}

/// Names compared as a case-insensitive filesystem would (ASCII only).
fn same_name(a: &OsStr, b: &OsStr) -> bool {
    a.as_encoded_bytes()
        .eq_ignore_ascii_case(b.as_encoded_bytes())
}

/// The directory a `.git` file at the root points to (`gitdir: <path>`, as git
/// worktrees and submodules have), when there is one.
fn gitdir_named_by_git_file(root: &Path) -> Option<PathBuf> {
    let dot_git = root.join(".git");
    if !std::fs::symlink_metadata(&dot_git).ok()?.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let named = text.lines().find_map(|l| l.strip_prefix("gitdir:"))?.trim();
    Some(root.join(named))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_parent_absolute_and_symlink_escapes() {
        let tmp = tempfile::tempdir().unwrap();
        let root_dir = tmp.path().join("proj");
        std::fs::create_dir_all(root_dir.join("src")).unwrap();
        std::fs::write(root_dir.join("src/a.txt"), "a").unwrap();
        std::fs::write(tmp.path().join("secret.txt"), "s").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret.txt"), root_dir.join("link")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), root_dir.join("outdir")).unwrap();
        let root = Root::new(&root_dir).unwrap();

        assert!(root.existing("src/a.txt").is_ok());
        assert!(
            root.existing("./src/../src/a.txt")
                .unwrap_err()
                .contains("..")
        );
        assert!(root.existing("../secret.txt").unwrap_err().contains(".."));
        let abs = tmp.path().join("secret.txt");
        assert!(
            root.existing(abs.to_str().unwrap())
                .unwrap_err()
                .contains("outside")
        );
        assert!(root.existing("link").unwrap_err().contains("symlink"));
        let inside = root_dir.canonicalize().unwrap().join("src/a.txt");
        assert!(root.existing(inside.to_str().unwrap()).is_ok());
        assert_eq!(
            root.writable_names("new/dir/file.txt").unwrap(),
            ["new", "dir", "file.txt"]
        );
        assert!(root.writable_names("../x").unwrap_err().contains(".."));
    }

    #[test]
    fn refuses_to_write_configuration_that_runs_commands() {
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("proj");
        let home = proj.join("dot-cairn");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(proj.join("gitdirs/wt")).unwrap();
        std::fs::write(proj.join(".git"), "gitdir: gitdirs/wt\n").unwrap();
        let root = Root::with_paths(&proj, Some(Paths::at(&home))).unwrap();
        for (path, rule) in [
            (".git/config", ".git"),
            (".git/hooks/pre-commit", ".git"),
            (".GIT/config", ".git"),
            (".Git", ".git"),
            ("sub/.git", ".git"),
            ("vendor/x/.git/info/attributes", ".git"),
            (".cairn.toml", ".cairn.toml"),
            ("sub/.CAIRN.toml", ".cairn.toml"),
            (".mcp.json", ".mcp.json"),
            ("dot-cairn/config.toml", "cairn's config directory"),
            ("DOT-cairn/cairn.db", "cairn's config directory"),
            ("gitdirs/wt/config", "the git directory named by .git"),
            ("gitdirs/wt", "the git directory named by .git"),
        ] {
            let err = root.writable_names(path).unwrap_err();
            assert!(
                err.contains("protected path") && err.contains(rule),
                "{path}: {err}"
            );
        }
        for fine in [
            ".gitignore",
            "git/config",
            "src/.github/x.yml",
            "gitdirs/other",
        ] {
            assert!(root.writable_names(fine).is_ok(), "{fine}");
        }
    }
}
