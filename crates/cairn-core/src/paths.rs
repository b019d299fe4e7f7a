//! Where cairn keeps its files. `CAIRN_HOME` moves all of them (that is how tests
//! isolate); otherwise the XDG config and data directories.

use std::path::{Path, PathBuf};

use crate::{Error, env_vars};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl Paths {
    /// Resolve from the environment of this process.
    pub fn from_env() -> Result<Self, Error> {
        Paths::resolve(std::env::var_os(env_vars::CAIRN_HOME).map(PathBuf::from))
    }

    pub fn resolve(cairn_home: Option<PathBuf>) -> Result<Self, Error> {
        if let Some(home) = cairn_home.filter(|h| !h.as_os_str().is_empty()) {
            let home = absolute(&home)?;
            return Ok(Paths {
                config_dir: home.clone(),
                data_dir: home,
            });
        }
        let config = dirs::config_dir().ok_or_else(|| {
            Error::invalid("cannot find a config directory: set CAIRN_HOME or HOME")
        })?;
        let data = dirs::data_dir().ok_or_else(|| {
            Error::invalid("cannot find a data directory: set CAIRN_HOME or HOME")
        })?;
        Ok(Paths {
            config_dir: config.join("cairn"),
            data_dir: data.join("cairn"),
        })
    }

    pub fn at(home: &Path) -> Self {
        Paths {
            config_dir: home.to_path_buf(),
            data_dir: home.to_path_buf(),
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn store_file(&self) -> PathBuf {
        self.data_dir.join("cairn.db")
    }

    /// Per-project REPL history files live here.
    pub fn history_dir(&self) -> PathBuf {
        self.data_dir.join("history")
    }
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot read the working directory", e))?;
    Ok(cwd.join(path))
}

/// The name of a project's own config file, at its root.
pub const PROJECT_CONFIG_FILE: &str = ".cairn.toml";
