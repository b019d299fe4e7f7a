//! Opens the store a URL names. This is the only crate that knows the backends:
//! core stays free of SQL and the binary never names a backend crate, so adding a
//! backend means implementing `cairn_core::Store`, passing the conformance suite
//! (`cairn-store-conformance`) and adding a scheme here.
//!
//! Supported URLs:
//! - `sqlite:///ABSOLUTE/PATH`: everything after `sqlite://` is the file path,
//!   taken literally (no percent-decoding, no query options). A relative path is
//!   refused: it would name another store for every working directory.
//! - a bare absolute path, read as a SQLite file.
//! - `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (or `postgresql://`), with
//!   the libpq options tokio-postgres knows (`sslmode`, `connect_timeout`, `host=`
//!   a unix socket directory, …): a PostgreSQL database shared by a team.
//!
//! The URL comes from `--store URL`, else `CAIRN_STORE_URL`, else `[store] url` in
//! the user's own config (a project's `.cairn.toml` may not set `[store]`); without
//! one the store is `cairn.db` in cairn's data directory (`$CAIRN_HOME`).

mod url;

use std::path::Path;
use std::sync::Arc;

use cairn_core::paths::Paths;
use cairn_core::settings::Settings;
use cairn_core::{Error, Result, Store};
use cairn_store_sqlite::SqliteOptions;
use serde::{Deserialize, Serialize};

pub use crate::url::StoreUrl;

/// The default store: the SQLite file in the data directory.
pub fn default_url(paths: &Paths) -> StoreUrl {
    StoreUrl::Sqlite(paths.store_file())
}

/// The `[store]` key that names the store rather than configuring its backend.
const URL_KEY: &str = "url";

/// The store to use: `flag` (`--store`), else `env` (`CAIRN_STORE_URL`), else
/// `[store] url` of the settings, else the default. A bad URL names where it came
/// from, never its password.
pub fn choose_url(flag: Option<&str>, env: Option<&str>, settings: &Settings) -> Result<StoreUrl> {
    if let Some(raw) = flag {
        return StoreUrl::parse(raw).map_err(|e| Error::invalid(format!("--store: {e}")));
    }
    if let Some(raw) = env.filter(|raw| !raw.is_empty()) {
        return StoreUrl::parse(raw).map_err(|e| {
            Error::invalid(format!(
                "environment variable {}: {e}",
                cairn_core::env_vars::CAIRN_STORE_URL
            ))
        });
    }
    let options = &settings.store_options;
    let Some(value) = options.table.get(URL_KEY) else {
        return Ok(default_url(&settings.paths));
    };
    let parsed = match value.as_str() {
        Some(raw) => StoreUrl::parse(raw).map_err(|e| e.to_string()),
        None => Err(format!("expected a string, found {}", value.type_str())),
    };
    parsed.map_err(|message| {
        let message = format!("key `store.{URL_KEY}`: {message}");
        match options.source_of(URL_KEY, &settings.sources) {
            Some(path) => Error::Config {
                path: path.to_path_buf(),
                message: format!("{}{message}", line_of(path, URL_KEY)),
            },
            None => Error::invalid(message),
        }
    })
}

/// Opens (creating it when absent) the store at `url` with the backend options of
/// the settings' `[store]` table.
pub fn open_store(url: &StoreUrl, settings: &Settings) -> Result<Arc<dyn Store>> {
    match url {
        StoreUrl::Sqlite(path) => {
            let options: SqliteOptions = backend_options(url, settings)?;
            cairn_store_sqlite::open_store(path, options.synchronous)
        }
        StoreUrl::Postgres(_) => {
            let _: PostgresOptions = backend_options(url, settings)?;
            cairn_store_postgres::open_store(&url.connection_url())
        }
    }
}

/// The PostgreSQL backend has no options of its own (yet): every key but `url` is
/// refused by name.
#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PostgresOptions {}

/// Checks the settings' `[store]` table against the backend of `url` and returns
/// it with the backend's defaults filled in (what `cairn config show` prints), and
/// the URL (password hidden) when it is not the default. An unknown key or a bad
/// value is an error naming the key and the file that set it.
pub fn resolve_options(url: &StoreUrl, settings: &Settings) -> Result<toml::Table> {
    let mut table = match url {
        StoreUrl::Sqlite(_) => {
            let options: SqliteOptions = backend_options(url, settings)?;
            toml::Table::try_from(options).map_err(|e| Error::Storage(e.to_string()))?
        }
        StoreUrl::Postgres(_) => {
            let options: PostgresOptions = backend_options(url, settings)?;
            toml::Table::try_from(options).map_err(|e| Error::Storage(e.to_string()))?
        }
    };
    if *url != default_url(&settings.paths) {
        table.insert(URL_KEY.into(), toml::Value::String(url.to_string()));
    }
    Ok(table)
}

/// The backend's options, each key checked on its own so an error can name it.
fn backend_options<T>(url: &StoreUrl, settings: &Settings) -> Result<T>
where
    T: for<'de> Deserialize<'de> + Serialize,
{
    let options = &settings.store_options;
    let backend_keys = || options.table.iter().filter(|(key, _)| *key != URL_KEY);
    for (key, value) in backend_keys() {
        let single = toml::Table::from_iter([(key.clone(), value.clone())]);
        if let Err(e) = T::deserialize(single) {
            let message = format!(
                "key `store.{key}`: {} (for a {} store)",
                e.message().trim(),
                url.backend()
            );
            return Err(match options.source_of(key, &settings.sources) {
                Some(path) => Error::Config {
                    path: path.to_path_buf(),
                    message: format!("{}{message}", line_of(path, key)),
                },
                None => Error::invalid(message),
            });
        }
    }
    let table: toml::Table = backend_keys()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    T::deserialize(table).map_err(|e| Error::invalid(e.message().to_owned()))
}

/// `line N, ` for the line of `path` that sets `key` of `[store]`, or nothing.
fn line_of(path: &Path, key: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut in_store = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            in_store = line.trim_matches(['[', ']', ' ']) == "store";
            continue;
        }
        let sets = |name: &str| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        };
        if (in_store && sets(key)) || sets(&format!("store.{key}")) {
            return format!("line {}, ", i + 1);
        }
    }
    String::new()
}
