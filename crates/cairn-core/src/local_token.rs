//! The bearer token of cairn's local HTTP faces (`cairn mcp --http`, and
//! `cairn serve` later). Loopback is not private on a shared machine, so an
//! HTTP face asks for a token by default: one is generated once into a file
//! only its owner can read, and local clients read it from there.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::paths::Paths;

/// The token file's name inside the data directory (`$CAIRN_HOME`).
pub const TOKEN_FILE_NAME: &str = "http-token";

/// Where the local token lives for these paths.
pub fn token_file(paths: &Paths) -> PathBuf {
    paths.data_dir.join(TOKEN_FILE_NAME)
}

/// The token in `path`, generated (32 random bytes, hex) into a new 0600 file
/// when there is none. Refuses a file that other users could read or that
/// holds no token, saying what to do.
pub fn load_or_create(path: &Path) -> Result<String, Error> {
    match read_token(path)? {
        Some(token) => Ok(token),
        None => {
            create(path)?;
            read_token(path)?.ok_or_else(|| {
                Error::invalid(format!("the token file {} is empty", path.display()))
            })
        }
    }
}

fn read_token(path: &Path) -> Result<Option<String>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    refuse_shared(path)?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::invalid(format!(
            "the token file {} is empty: delete it and a new token is generated",
            path.display()
        )));
    }
    Ok(Some(token.to_owned()))
}

#[cfg(unix)]
fn refuse_shared(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::invalid(format!(
            "the token file {} can be read by other users (mode {mode:o}): run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared(_path: &Path) -> Result<(), Error> {
    Ok(())
}

/// Writes a new token to a private temporary file, then links it into place:
/// two servers starting at once end up with the same token, never half a file.
fn create(path: &Path) -> Result<(), Error> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::invalid(format!("{} has no directory", path.display())))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    let token = hex::encode(rand::random::<[u8; 32]>());
    let temp = dir.join(format!(
        ".{TOKEN_FILE_NAME}.{}",
        ulid::Ulid::new().to_string().to_lowercase()
    ));
    let written = write_private(&temp, &token).and_then(|()| {
        match std::fs::hard_link(&temp, path) {
            Ok(()) => Ok(()),
            // Another process made it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(Error::io(format!("cannot create {}", path.display()), e)),
        }
    });
    let _ = std::fs::remove_file(&temp);
    written
}

fn write_private(path: &Path, token: &str) -> Result<(), Error> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reads_the_same_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("home").join(TOKEN_FILE_NAME);
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), 64, "{first}");
        assert_eq!(load_or_create(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_file_others_can_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKEN_FILE_NAME);
        std::fs::write(&path, "abc\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600") && err.contains("644"), "{err}");
    }

    #[test]
    fn refuses_an_empty_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKEN_FILE_NAME);
        write_private(&path, "").unwrap();
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }
}
