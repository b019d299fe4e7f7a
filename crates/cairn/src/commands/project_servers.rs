//! Which of a project's `.mcp.json` servers join a session. A repository must not
//! start programs on its own: its servers are used only once the person approved
//! exactly these definitions for this project (`cairn mcp-servers approve`, or the
//! question at the start of an interactive `cairn run`). The user's own
//! `[mcp_servers]` win on a name clash.

use cairn_core::Project;
use cairn_core::mcp_approvals::{Approvals, Decision};
use cairn_core::paths::Paths;
use cairn_core::project_mcp::{self, ProjectServers};
use cairn_core::settings::Settings;

/// Where a project's `.mcp.json` stands.
pub(super) enum Standing {
    /// The project has no `.mcp.json`.
    Absent,
    /// The file (or cairn's approvals file) cannot be used; the message says which
    /// file and field.
    Broken(String),
    Decided(ProjectServers, Decision),
    Undecided(ProjectServers),
}

pub(super) fn standing(paths: &Paths, project: &Project) -> Standing {
    let servers = match project_mcp::read(project.path()) {
        Ok(Some(servers)) => servers,
        Ok(None) => return Standing::Absent,
        Err(e) => return Standing::Broken(e),
    };
    let approvals = match Approvals::load(paths) {
        Ok(approvals) => approvals,
        Err(e) => return Standing::Broken(e),
    };
    match approvals.decision(project.key(), &servers.hash) {
        Some(decision) => Standing::Decided(servers, decision),
        None => Standing::Undecided(servers),
    }
}

/// Record the person's decision on `servers` for `project`.
pub(super) fn decide(
    paths: &Paths,
    project: &Project,
    servers: &ProjectServers,
    decision: Decision,
) -> Result<(), String> {
    let mut approvals = Approvals::load(paths)?;
    approvals.decide(project.key(), project.as_str(), &servers.hash, decision)
}

/// Add the approved `servers` to `settings`; a server the user configured under the
/// same name keeps the user's entry.
pub(super) fn merge(settings: &mut Settings, servers: &ProjectServers) {
    for (name, def) in &servers.servers {
        settings
            .mcp_servers
            .entry(name.clone())
            .or_insert_with(|| def.clone());
    }
}

/// `name (what it runs)`, one per server, for a question or a note.
pub(super) fn summary(servers: &ProjectServers) -> Vec<String> {
    servers
        .servers
        .iter()
        .map(|(name, def)| {
            let what = match (&def.command, &def.url) {
                (Some(command), _) => std::iter::once(command.as_str())
                    .chain(def.args.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" "),
                (None, Some(url)) => url.clone(),
                (None, None) => String::new(),
            };
            // What it would receive from cairn's environment, by name.
            let vars: Vec<&str> = def
                .env
                .keys()
                .chain(def.env_http_headers.keys())
                .map(String::as_str)
                .chain(def.bearer_token_env.iter().map(|_| "Authorization"))
                .collect();
            let what = crate::output::cell(&what, 100);
            if vars.is_empty() {
                format!("{name} ({what})")
            } else {
                format!("{name} ({what}; with {})", vars.join(", "))
            }
        })
        .collect()
}

/// For a session that cannot ask (one-shot, ACP, `cairn mcp-servers test`): the
/// approved servers join `settings`; anything else is said once through `say`.
pub(super) fn without_asking(
    paths: &Paths,
    project: &Project,
    settings: &mut Settings,
    mut say: impl FnMut(&str),
) {
    match standing(paths, project) {
        Standing::Absent | Standing::Decided(_, Decision::Denied) => {}
        Standing::Broken(e) => say(&broken(&e)),
        Standing::Decided(servers, Decision::Approved) => {
            for skipped in &servers.skipped {
                say(&format!("{}: {skipped}", servers.file.display()));
            }
            merge(settings, &servers);
        }
        Standing::Undecided(servers) => say(&not_approved(&servers)),
    }
}

pub(super) fn broken(error: &str) -> String {
    format!("{error}; the project's MCP servers are not used this time")
}

pub(super) fn not_approved(servers: &ProjectServers) -> String {
    format!(
        "{} proposes MCP servers you have not approved: {}. They are not started. \
         Approve them with `cairn mcp-servers approve` (or answer y when an interactive \
         `cairn run` asks).",
        servers.file.display(),
        summary(servers).join(", ")
    )
}
