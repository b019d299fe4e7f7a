//! What the ACP face needs from the process that serves it: the store, and the engine's
//! options for a client's working directory (the binary resolves project and settings
//! exactly as the CLI does).

use std::path::Path;
use std::sync::Arc;

use cairn_agent::AgentOptions;
use cairn_core::{Project, Store};

use crate::sessions::SharedSessions;

/// Resolves a client's `cwd` to the engine's options: the project of that directory
/// (the CLI's project rule), its layered settings and the model client.
pub trait Workspace: Send + Sync + 'static {
    /// `Err` is a message for the person (it names the directory and the rule).
    fn options_for(&self, cwd: &Path) -> Result<AgentOptions, String>;

    /// The project a `cwd` belongs to, for listing its sessions.
    fn project_of(&self, cwd: &Path) -> Result<Project, String>;
}

/// Everything one ACP connection works with. Cheap to clone.
#[derive(Clone)]
pub struct AcpConfig {
    pub store: Arc<dyn Store>,
    pub workspace: Arc<dyn Workspace>,
    /// The project of the directory `cairn acp` was started in: what `session/list`
    /// without a `cwd` lists.
    pub project: Project,
    /// The process's open sessions: one table for every connection of a daemon, so a
    /// session is open (and leased) once however many clients drive it.
    pub sessions: SharedSessions,
}
