//! Store URLs: which backend, and where.

use std::fmt;
use std::path::{Path, PathBuf};

use cairn_core::{Error, Result};

/// What `StoreUrl::parse` accepts, for error messages.
const SUPPORTED: &str = "sqlite:///ABSOLUTE/PATH or an absolute file path";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    /// A SQLite file at an absolute path.
    Sqlite(PathBuf),
}

impl StoreUrl {
    /// Parses a store URL. Errors name the scheme but never echo the rest of the
    /// URL: a database URL may carry a password.
    pub fn parse(raw: &str) -> Result<Self> {
        if raw.trim().is_empty() {
            return Err(Error::invalid(format!(
                "store URL: empty (expected {SUPPORTED})"
            )));
        }
        if raw.starts_with('/') {
            return Ok(StoreUrl::Sqlite(PathBuf::from(raw)));
        }
        let Some((scheme, rest)) = raw.split_once("://") else {
            return Err(Error::invalid(format!(
                "store URL: not a URL nor an absolute path (expected {SUPPORTED})"
            )));
        };
        match scheme {
            "sqlite" => sqlite_path(rest).map(StoreUrl::Sqlite),
            other => Err(Error::invalid(format!(
                "store URL: unsupported scheme {:?} (supported: {SUPPORTED})",
                other.chars().take(32).collect::<String>()
            ))),
        }
    }

    /// The backend's name, for messages.
    pub fn backend(&self) -> &'static str {
        match self {
            StoreUrl::Sqlite(_) => "SQLite",
        }
    }
}

fn sqlite_path(rest: &str) -> Result<PathBuf> {
    let path = Path::new(rest);
    if rest.is_empty() || !path.is_absolute() {
        return Err(Error::invalid(format!(
            "store URL: a sqlite URL needs an absolute path, as in sqlite:///home/me/cairn.db \
             (got {:?}; a relative path would name another store in every directory)",
            rest
        )));
    }
    Ok(path.to_path_buf())
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_and_absolute_paths_name_a_file() {
        assert_eq!(
            StoreUrl::parse("sqlite:///home/me/cairn.db").unwrap(),
            StoreUrl::Sqlite("/home/me/cairn.db".into())
        );
        // Taken literally: no percent-decoding, `?` is part of the name.
        assert_eq!(
            StoreUrl::parse("sqlite:///a b/c%20d?x").unwrap(),
            StoreUrl::Sqlite("/a b/c%20d?x".into())
        );
        assert_eq!(
            StoreUrl::parse("/var/cairn.db").unwrap(),
            StoreUrl::Sqlite("/var/cairn.db".into())
        );
        let url = StoreUrl::parse("sqlite:///x/y.db").unwrap();
        assert_eq!(StoreUrl::parse(&url.to_string()).unwrap(), url);
    }

    #[test]
    fn relative_empty_and_unknown_urls_are_refused_with_the_supported_forms() {
        for raw in ["sqlite://cairn.db", "sqlite://", "sqlite://./x.db"] {
            let err = StoreUrl::parse(raw).unwrap_err().to_string();
            assert!(err.contains("absolute path"), "{raw}: {err}");
        }
        for raw in ["", "  ", "cairn.db", "sqlite:/x.db"] {
            let err = StoreUrl::parse(raw).unwrap_err().to_string();
            assert!(err.contains("sqlite:///ABSOLUTE/PATH"), "{raw}: {err}");
        }
        let err = StoreUrl::parse("postgres://me:hunter2@db/cairn")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported scheme \"postgres\""), "{err}");
        assert!(err.contains("sqlite:///ABSOLUTE/PATH"), "{err}");
        assert!(!err.contains("hunter2"), "the password leaked: {err}");
    }
}
