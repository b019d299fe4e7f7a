//! The project of a connection from the client's MCP roots.
//!
//! Over HTTP the server's working directory says nothing about where the
//! client works, so when a client declares the `roots` capability the server
//! asks it `roots/list` once the session is initialized (and again on
//! `notifications/roots/list_changed`), and the first `file://` root that is a
//! local directory gives the project, by the CLI's rule (`Project::detect`).
//! Stateless requests (MCP 2026-07-28) have no session and so no roots: they
//! use the server's project.

// MCP roots are deprecated by SEP-2577 (sessionless 2026-07-28 protocol), yet
// the clients of the session-based versions still offer them.
#![allow(deprecated)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_core::Project;
use rmcp::RoleServer;
use rmcp::model::Root;
use rmcp::service::Peer;
use tokio::sync::watch;

/// How long the client has to answer `roots/list`.
const ASK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an HTTP tool call waits for an answer still on its way.
pub(crate) const WAIT_FOR_ROOTS: Duration = Duration::from_secs(5);
/// Roots looked at, at most: the first local directory wins.
const MAX_ROOTS_LOOKED_AT: usize = 64;

/// One connection's project from roots: none until the client answered.
#[derive(Clone, Default)]
pub(crate) struct RootsProject {
    project: Arc<Mutex<Option<Project>>>,
    /// How many `roots/list` questions are unanswered.
    asking: Arc<watch::Sender<usize>>,
}

impl RootsProject {
    /// The project from the client's roots, if it offered one. With `wait`, an
    /// unanswered `roots/list` is waited for (briefly); never wait where the
    /// answer could be stuck behind the caller (stdio reads no more input while
    /// its request slots are full).
    pub(crate) async fn get(&self, wait: bool) -> Option<Project> {
        if wait {
            let mut asking = self.asking.subscribe();
            let answered = asking.wait_for(|n| *n == 0);
            if tokio::time::timeout(WAIT_FOR_ROOTS, answered)
                .await
                .is_err()
            {
                tracing::warn!(
                    "the client did not answer roots/list in time; using the server's project"
                );
            }
        }
        self.project.lock().ok().and_then(|p| p.clone())
    }

    /// The client declared `roots` in `initialize`: from now on calls wait for
    /// the answer that [`Self::ask_after_initialized`] brings, so that a call
    /// sent right after the handshake does not race the question.
    pub(crate) fn expect_answer(&self) {
        self.asking.send_modify(|n| *n += 1);
    }

    /// After `initialized`: asks a client that declared `roots`.
    pub(crate) async fn ask_after_initialized(&self, peer: &Peer<RoleServer>) {
        if offers_roots(peer) {
            let _answered = Answered(self);
            self.ask(peer).await;
        }
    }

    /// On `notifications/roots/list_changed`: asks again.
    pub(crate) async fn ask_again(&self, peer: &Peer<RoleServer>) {
        if offers_roots(peer) {
            self.expect_answer();
            let _answered = Answered(self);
            self.ask(peer).await;
        }
    }

    /// Asks for the roots and keeps the project of the first local directory.
    async fn ask(&self, peer: &Peer<RoleServer>) {
        let found = match tokio::time::timeout(ASK_TIMEOUT, peer.list_roots()).await {
            Ok(Ok(result)) => project_of(&result.roots),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "roots/list failed; using the server's project");
                None
            }
            Err(_) => {
                tracing::warn!("roots/list got no answer; using the server's project");
                None
            }
        };
        if let Ok(mut project) = self.project.lock() {
            *project = found;
        }
    }
}

/// Marks one expected answer as in, however the asking ended.
struct Answered<'a>(&'a RootsProject);

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        self.0.asking.send_modify(|n| *n = n.saturating_sub(1));
    }
}

fn offers_roots(peer: &Peer<RoleServer>) -> bool {
    peer.peer_info()
        .is_some_and(|info| info.capabilities.roots.is_some())
}

/// The project of the first root that is a local directory.
fn project_of(roots: &[Root]) -> Option<Project> {
    for root in roots.iter().take(MAX_ROOTS_LOOKED_AT) {
        let shown: String = root.uri.chars().take(256).collect();
        let Some(dir) = local_dir(&root.uri) else {
            tracing::info!(root = %shown, "ignoring an MCP root that is not a local directory");
            continue;
        };
        match Project::detect(&dir) {
            Ok(project) => {
                tracing::info!(root = %shown, %project, "project from the client's MCP roots");
                return Some(project);
            }
            Err(e) => tracing::info!(root = %shown, error = %e, "ignoring an MCP root"),
        }
    }
    None
}

/// The path of a `file://` URI of this machine that names an existing directory.
fn local_dir(uri: &str) -> Option<PathBuf> {
    let url = url::Url::parse(uri).ok()?;
    if url.scheme() != "file" {
        return None;
    }
    // `to_file_path` refuses hosts other than none and `localhost`.
    let path = url.to_file_path().ok()?;
    path.is_dir().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_file_uris_of_existing_local_directories_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap();
        let uri = url::Url::from_directory_path(&path).unwrap().to_string();
        assert_eq!(local_dir(&uri), Some(path.clone()));
        let file = path.join("a file");
        std::fs::write(&file, "x").unwrap();
        let file_uri = url::Url::from_file_path(&file).unwrap().to_string();
        for bad in [
            file_uri.as_str(),
            "https://example.com/repo",
            "file://other-host/tmp",
            "file:///no/such/dir/anywhere",
            "not a uri",
        ] {
            assert_eq!(local_dir(bad), None, "{bad}");
        }
        let roots = [Root::new("https://example.com/x"), Root::new(uri)];
        assert_eq!(project_of(&roots), Some(Project::detect(&path).unwrap()));
    }
}
