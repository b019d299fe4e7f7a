//! The person's decisions about projects' `.mcp.json` servers, kept in cairn's own
//! data directory (never in the repository): per project key, the hash of the
//! definitions decided on and the decision. A changed file has another hash, so it
//! is undecided again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::paths::Paths;

/// The file's name in the data directory.
pub const APPROVALS_FILE: &str = "mcp-approvals.json";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Approved,
    /// "never": not started and not asked again until the file changes.
    Denied,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Entry {
    hash: String,
    decision: Decision,
    /// The root the decision was made in, for people reading the file.
    root: String,
    decided_at: jiff::Timestamp,
}

/// Every decision, by project key.
#[derive(Debug)]
pub struct Approvals {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
}

impl Approvals {
    /// The decisions on file; none when there is no file. `Err` names the file when
    /// it cannot be read or parsed.
    pub fn load(paths: &Paths) -> Result<Approvals, String> {
        let path = paths.data_dir.join(APPROVALS_FILE);
        let entries = match std::fs::read_to_string(&path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(Approvals { path, entries })
    }

    /// The decision on the definitions `hash` of project `key`, if one was made.
    pub fn decision(&self, key: &str, hash: &str) -> Option<Decision> {
        self.entries
            .get(key)
            .filter(|e| e.hash == hash)
            .map(|e| e.decision)
    }

    /// Record `decision` and write the file (atomically: a crash leaves the old one).
    pub fn decide(
        &mut self,
        key: &str,
        root: &str,
        hash: &str,
        decision: Decision,
    ) -> Result<(), String> {
        self.entries.insert(
            key.to_owned(),
            Entry {
                hash: hash.to_owned(),
                decision,
                root: root.to_owned(),
                decided_at: jiff::Timestamp::now(),
            },
        );
        self.save()
    }

    fn save(&self) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", self.path.display());
        let dir = self.path.parent().unwrap_or(std::path::Path::new("."));
        std::fs::create_dir_all(dir).map_err(fail)?;
        let text = serde_json::to_string_pretty(&self.entries)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        let partial = self.path.with_extension("json.partial");
        std::fs::write(&partial, text).map_err(fail)?;
        std::fs::rename(&partial, &self.path).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_holds_for_its_hash_only_and_survives_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        let mut approvals = Approvals::load(&paths).unwrap();
        assert_eq!(approvals.decision("k", "h1"), None);
        approvals
            .decide("k", "/p", "h1", Decision::Approved)
            .unwrap();
        let reloaded = Approvals::load(&paths).unwrap();
        assert_eq!(reloaded.decision("k", "h1"), Some(Decision::Approved));
        assert_eq!(reloaded.decision("k", "h2"), None);
        assert_eq!(reloaded.decision("other", "h1"), None);
        std::fs::write(dir.path().join(APPROVALS_FILE), "{oops").unwrap();
        assert!(
            Approvals::load(&paths)
                .unwrap_err()
                .contains(APPROVALS_FILE)
        );
    }
}
