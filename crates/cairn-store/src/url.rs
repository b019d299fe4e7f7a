//! Store URLs: which backend, and where.

use std::fmt;
use std::path::{Path, PathBuf};

use cairn_core::{Error, Result};

/// What `StoreUrl::parse` accepts, for error messages.
const SUPPORTED: &str = "sqlite:///ABSOLUTE/PATH, an absolute file path, or \
     postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE";

/// Printed (`Display`, `Debug`) without a PostgreSQL password: only
/// [`StoreUrl::connection_url`] gives the URL as written, to connect with.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A SQLite file at an absolute path.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://` or `postgresql://`), as written.
    Postgres(String),
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
            "postgres" | "postgresql" => Ok(StoreUrl::Postgres(raw.to_owned())),
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
            StoreUrl::Postgres(_) => "PostgreSQL",
        }
    }

    /// The URL as written, password included: for connecting, never for printing.
    pub fn connection_url(&self) -> String {
        match self {
            StoreUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            StoreUrl::Postgres(url) => url.clone(),
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
            StoreUrl::Postgres(url) => f.write_str(&cairn_store_postgres::redact(url)),
        }
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreUrl({self})")
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
        let err = StoreUrl::parse("mysql://me:hunter2@db/cairn")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported scheme \"mysql\""), "{err}");
        assert!(err.contains("sqlite:///ABSOLUTE/PATH"), "{err}");
        assert!(err.contains("postgres://USER"), "{err}");
        assert!(!err.contains("hunter2"), "the password leaked: {err}");
    }

    #[test]
    fn postgres_urls_are_kept_as_written_and_printed_without_the_password() {
        for raw in [
            "postgres://me:hunter2@db.example:5432/cairn",
            "postgresql://me:hunter2@db.example/cairn?sslmode=require",
        ] {
            let url = StoreUrl::parse(raw).unwrap();
            assert_eq!(url, StoreUrl::Postgres(raw.into()));
            assert_eq!(url.connection_url(), raw);
            assert_eq!(url.backend(), "PostgreSQL");
            for shown in [url.to_string(), format!("{url:?}")] {
                assert!(!shown.contains("hunter2"), "the password leaked: {shown}");
                assert!(shown.contains("me:***@db.example"), "{shown}");
            }
        }
    }
}
