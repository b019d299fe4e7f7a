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
//!
//! Without a URL the store is `cairn.db` in cairn's data directory (`$CAIRN_HOME`).

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

/// Opens (creating it when absent) the store at `url` with the backend options of
/// the settings' `[store]` table.
pub fn open_store(url: &StoreUrl, settings: &Settings) -> Result<Arc<dyn Store>> {
    match url {
        StoreUrl::Sqlite(path) => {
            let options: SqliteOptions = backend_options(url, settings)?;
            cairn_store_sqlite::open_store(path, options.synchronous)
        }
    }
}

/// Checks the settings' `[store]` table against the backend of `url` and returns
/// it with the backend's defaults filled in (what `cairn config show` prints). An
/// unknown key or a bad value is an error naming the key and the file that set it.
pub fn resolve_options(url: &StoreUrl, settings: &Settings) -> Result<toml::Table> {
    match url {
        StoreUrl::Sqlite(_) => {
            let options: SqliteOptions = backend_options(url, settings)?;
            toml::Table::try_from(options).map_err(|e| Error::Storage(e.to_string()))
        }
    }
}

/// The backend's options, each key checked on its own so an error can name it.
fn backend_options<T>(url: &StoreUrl, settings: &Settings) -> Result<T>
where
    T: for<'de> Deserialize<'de> + Serialize,
{
    let options = &settings.store_options;
    for (key, value) in &options.table {
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
    T::deserialize(options.table.clone()).map_err(|e| Error::invalid(e.message().to_owned()))
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
