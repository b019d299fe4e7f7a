//! Opening a project file for writing without following symlinks: each directory is
//! opened relative to its parent's handle with `O_NOFOLLOW` (`openat`), from the root
//! down, so a directory swapped for a symlink after a check cannot redirect the write
//! outside the project. A symlink on the way is refused rather than followed.

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::confine::Root;

/// A file opened for writing, and how the tools show it.
pub(super) struct Opened {
    pub(super) file: File,
    /// `src/main.rs`, relative to the root.
    pub(super) shown: String,
    /// Whether this open created it.
    pub(super) created: bool,
}

/// How to open the last name.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Open {
    /// Create the file (and missing directories) or empty an existing one; write only.
    CreateOrTruncate,
    /// An existing file, for reading and writing in place.
    Existing,
}

pub(super) fn open(root: &Root, raw: &str, how: Open) -> Result<Opened, String> {
    let names = root.writable_names(raw)?;
    let shown = names
        .iter()
        .map(|n| n.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let Some((last, dirs)) = names.split_last() else {
        return Err(format!("{raw}: is the project root, not a file"));
    };
    let mut dir = rustix::fs::open(
        root.path(),
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("{raw}: cannot open the project root: {e}"))?;
    for name in dirs {
        dir = open_dir(&dir, name, how == Open::CreateOrTruncate)
            .map_err(|e| explain(raw, &dir, name, e))?;
    }
    // O_NONBLOCK: opening a FIFO must not wait for a reader; regular files ignore it.
    let base = OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let (fd, created) = match how {
        Open::CreateOrTruncate => {
            match rustix::fs::openat(
                &dir,
                last.as_os_str(),
                base | OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
                Mode::from_raw_mode(0o666),
            ) {
                Ok(fd) => (fd, true),
                Err(Errno::EXIST) => (
                    rustix::fs::openat(
                        &dir,
                        last.as_os_str(),
                        base | OFlags::WRONLY,
                        Mode::empty(),
                    )
                    .map_err(|e| explain(raw, &dir, last, e))?,
                    false,
                ),
                Err(e) => return Err(explain(raw, &dir, last, e)),
            }
        }
        Open::Existing => (
            rustix::fs::openat(&dir, last.as_os_str(), base | OFlags::RDWR, Mode::empty())
                .map_err(|e| explain(raw, &dir, last, e))?,
            false,
        ),
    };
    let stat = rustix::fs::fstat(&fd).map_err(|e| format!("{raw}: {e}"))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(format!("{raw}: not a regular file"));
    }
    let file = File::from(fd);
    if how == Open::CreateOrTruncate && !created {
        file.set_len(0).map_err(|e| format!("{raw}: {e}"))?;
    }
    Ok(Opened {
        file,
        shown,
        created,
    })
}

/// The directory `name` inside `parent`, never through a symlink; created when
/// missing and `create` is set.
fn open_dir(parent: &OwnedFd, name: &OsString, create: bool) -> Result<OwnedFd, Errno> {
    let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(parent, name.as_os_str(), flags, Mode::empty()) {
        Err(Errno::NOENT) if create => {
            match rustix::fs::mkdirat(parent, name.as_os_str(), Mode::from_raw_mode(0o777)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(e),
            }
            rustix::fs::openat(parent, name.as_os_str(), flags, Mode::empty())
        }
        other => other,
    }
}

/// An open error in words, naming a symlink when that is what stopped it.
fn explain(raw: &str, parent: &OwnedFd, name: &OsString, e: Errno) -> String {
    let is_symlink = rustix::fs::statat(parent, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|s| FileType::from_raw_mode(s.st_mode) == FileType::Symlink);
    let name = name.to_string_lossy();
    if is_symlink {
        return format!(
            "{raw}: {name} is a symlink; the file tools write only through real \
             directories and files (symlink refused; give the path it points to)"
        );
    }
    match e {
        Errno::NOENT => format!("{raw}: no such file or directory"),
        Errno::ISDIR => format!("{raw}: is a directory"),
        Errno::NOTDIR => format!("{raw}: {name} is not a directory"),
        Errno::NXIO => format!("{raw}: not a regular file"),
        e => format!("{raw}: {}", std::io::Error::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn refuses_symlinks_on_the_way_and_at_the_end() {
        let tmp = tempfile::tempdir().unwrap();
        let proj = tmp.path().join("proj");
        std::fs::create_dir_all(proj.join("real")).unwrap();
        std::fs::write(tmp.path().join("outside.txt"), "o").unwrap();
        std::os::unix::fs::symlink(tmp.path(), proj.join("outdir")).unwrap();
        std::os::unix::fs::symlink(proj.join("real"), proj.join("indir")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside.txt"), proj.join("link")).unwrap();
        let root = Root::with_paths(&proj, None).unwrap();
        for path in ["outdir/new.txt", "indir/new.txt", "link"] {
            for how in [Open::CreateOrTruncate, Open::Existing] {
                let err = open(&root, path, how).err().unwrap();
                assert!(err.contains("symlink refused"), "{path}: {err}");
            }
        }
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("outside.txt")).unwrap(),
            "o"
        );
        assert!(!tmp.path().join("new.txt").exists());
        assert!(
            open(&root, "real", Open::CreateOrTruncate)
                .err()
                .unwrap()
                .contains("directory")
        );
        assert!(
            open(&root, "nope", Open::Existing)
                .err()
                .unwrap()
                .contains("no such file")
        );

        let mut made = open(&root, "a/b/c.txt", Open::CreateOrTruncate).unwrap();
        assert!(made.created);
        assert_eq!(made.shown, "a/b/c.txt");
        made.file.write_all(b"x").unwrap();
        let again = open(&root, "a/b/c.txt", Open::CreateOrTruncate).unwrap();
        assert!(!again.created);
        assert_eq!(std::fs::read_to_string(proj.join("a/b/c.txt")).unwrap(), "");
    }

    #[test]
    fn refuses_fifos_without_waiting() {
        let tmp = tempfile::tempdir().unwrap();
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            tmp.path().join("pipe"),
            Mode::from_raw_mode(0o644),
        )
        .unwrap();
        let root = Root::with_paths(tmp.path(), None).unwrap();
        for how in [Open::CreateOrTruncate, Open::Existing] {
            let err = open(&root, "pipe", how).err().unwrap();
            assert!(err.contains("not a regular file"), "{err}");
        }
    }
}
