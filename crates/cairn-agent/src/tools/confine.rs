//! Keeping file tools inside the project root: a path given by the model is refused
//! when it climbs out with `..`, is absolute outside the root, or reaches outside
//! through a symlink (checked on the canonical path).

use std::path::{Component, Path, PathBuf};

/// The canonical project root every file tool works under.
#[derive(Clone, Debug)]
pub struct Root {
    canonical: PathBuf,
}

impl Root {
    /// `dir` is canonicalised once here.
    pub fn new(dir: &Path) -> Result<Root, String> {
        let canonical = dir
            .canonicalize()
            .map_err(|e| format!("cannot resolve the project root {}: {e}", dir.display()))?;
        Ok(Root { canonical })
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

    /// A path for writing: it may not exist yet, but its deepest existing ancestor
    /// (and the file itself, when it exists) must resolve inside the root.
    pub fn writable(&self, raw: &str) -> Result<PathBuf, String> {
        let joined = self.lexical(raw)?;
        if joined == self.canonical {
            return Err(format!("{raw}: is the project root, not a file"));
        }
        if let Ok(meta) = std::fs::symlink_metadata(&joined) {
            if meta.is_dir() {
                return Err(format!("{raw}: is a directory"));
            }
            let canonical = joined
                .canonicalize()
                .map_err(|e| format!("{raw}: cannot resolve: {e}"))?;
            self.inside(raw, &canonical)?;
            return Ok(canonical);
        }
        let mut existing = joined.as_path();
        let mut rest = Vec::new();
        while !existing.exists() {
            let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                return Err(format!("{raw}: cannot resolve"));
            };
            rest.push(name.to_owned());
            existing = parent;
        }
        let mut target = existing
            .canonicalize()
            .map_err(|e| format!("{raw}: cannot resolve: {e}"))?;
        self.inside(raw, &target)?;
        for name in rest.into_iter().rev() {
            target.push(name);
        }
        Ok(target)
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
        assert!(root.writable("link").unwrap_err().contains("symlink"));
        assert!(
            root.writable("outdir/new.txt")
                .unwrap_err()
                .contains("symlink")
        );
        let inside = root_dir.canonicalize().unwrap().join("src/a.txt");
        assert!(root.existing(inside.to_str().unwrap()).is_ok());
        assert_eq!(
            root.writable("new/dir/file.txt").unwrap(),
            root_dir.canonicalize().unwrap().join("new/dir/file.txt")
        );
    }
}
