//! `cairn mcp-servers list|test NAME|approve|deny`: the MCP servers `cairn run`
//! uses as tools (`[mcp_servers.NAME]` in config.toml, and the project's
//! `.mcp.json` once approved), from the shell.

use std::io::Write;

use cairn_agent::mcp_client::McpClients;
use cairn_core::mcp_approvals::Decision;
use serde_json::json;

use super::project_servers::{self, Standing};
use crate::app::App;
use crate::args::mcp_servers::McpServersCommand;
use crate::output;

pub(super) async fn run(app: &App, command: McpServersCommand) -> anyhow::Result<()> {
    let standing = project_servers::standing(&app.paths, &app.project);
    let servers = &app.settings.mcp_servers;
    match command {
        McpServersCommand::Approve => decide(app, standing, Decision::Approved),
        McpServersCommand::Deny => decide(app, standing, Decision::Denied),
        McpServersCommand::List { json } => {
            let (project, approval) = match &standing {
                Standing::Decided(found, Decision::Approved) => (Some(found), "approved"),
                Standing::Decided(found, Decision::Denied) => (Some(found), "denied"),
                Standing::Undecided(found) => (Some(found), "not approved"),
                Standing::Absent => (None, ""),
                Standing::Broken(e) => {
                    eprintln!("warning: {}", project_servers::broken(e));
                    (None, "")
                }
            };
            let from_project = project
                .into_iter()
                .flat_map(|p| &p.servers)
                // The user's entry wins a name clash.
                .filter(|(name, _)| !servers.contains_key(*name))
                .map(|(name, def)| (name, def, "project", Some(approval)));
            let all: Vec<_> = servers
                .iter()
                .map(|(name, def)| (name, def, "user", None))
                .chain(from_project)
                .collect();
            let rows: Vec<serde_json::Value> = all
                .iter()
                .map(|(name, def, source, approval)| {
                    json!({
                        "name": name,
                        "source": source,
                        "approval": approval,
                        "transport": if def.url.is_some() { "http" } else { "stdio" },
                        "command": def.command,
                        "args": def.args,
                        "url": def.url,
                        "enabled": def.enabled,
                        "enabled_tools": def.enabled_tools,
                        "allow_tools": def.allow_tools,
                        // Names only: the values may be secrets.
                        "env": def.env.keys().collect::<Vec<_>>(),
                        "bearer_token_env": def.bearer_token_env,
                        "http_headers": def.http_headers.keys().collect::<Vec<_>>(),
                        "env_http_headers": def.env_http_headers,
                    })
                })
                .collect();
            if json {
                return output::print_json(&rows);
            }
            let mut out = output::stdout();
            if all.is_empty() {
                writeln!(
                    out,
                    "No MCP servers configured. Add [mcp_servers.NAME] with command = \"…\" to {}.",
                    app.paths.config_file().display()
                )?;
            }
            for (name, def, _, approval) in &all {
                let what = match (&def.command, &def.url) {
                    (Some(command), _) => {
                        let mut line = command.clone();
                        for arg in &def.args {
                            line.push(' ');
                            line.push_str(arg);
                        }
                        format!("stdio  {}", output::cell(&line, 80))
                    }
                    (None, Some(url)) => format!("http   {}", output::cell(url, 80)),
                    (None, None) => "-".to_owned(),
                };
                let off = if def.enabled { "" } else { "  (disabled)" };
                let from = approval
                    .map(|a| format!("  (.mcp.json, {a})"))
                    .unwrap_or_default();
                writeln!(out, "{name}  {what}{off}{from}")?;
            }
            out.flush()?;
            Ok(())
        }
        McpServersCommand::Test { name, json } => {
            let mut servers = servers.clone();
            if let Standing::Decided(found, Decision::Approved) = &standing {
                for (n, def) in &found.servers {
                    servers.entry(n.clone()).or_insert_with(|| def.clone());
                }
            }
            let Some(def) = servers.get(&name) else {
                anyhow::bail!(
                    "no MCP server {name:?} in [mcp_servers] (configured: {})",
                    servers.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            };
            let mut one = std::collections::BTreeMap::new();
            let mut def = def.clone();
            def.enabled = true;
            one.insert(name.clone(), def);
            let clients = McpClients::new(&one);
            let started = clients.start(&name).await;
            clients.shutdown().await;
            let tools = started.map_err(|e| anyhow::anyhow!(e))?;
            if json {
                return output::print_json(&json!({"name": name, "tools": tools}));
            }
            let mut out = output::stdout();
            writeln!(
                out,
                "MCP server {name} started; {} tool{}:",
                tools.len(),
                if tools.len() == 1 { "" } else { "s" }
            )?;
            for tool in &tools {
                writeln!(
                    out,
                    "  {}  {}",
                    tool.tool_name(),
                    output::cell(tool.description.lines().next().unwrap_or(""), 80)
                )?;
            }
            out.flush()?;
            Ok(())
        }
    }
}

/// `approve` / `deny`: record the decision on the `.mcp.json` as it is now.
fn decide(app: &App, standing: Standing, decision: Decision) -> anyhow::Result<()> {
    let found = match standing {
        Standing::Absent => anyhow::bail!(
            "{} has no {}: there is nothing to approve",
            app.project.as_str(),
            cairn_core::project_mcp::PROJECT_MCP_FILE
        ),
        Standing::Broken(e) => anyhow::bail!("{e}"),
        Standing::Decided(found, _) | Standing::Undecided(found) => found,
    };
    project_servers::decide(&app.paths, &app.project, &found, decision)
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut out = output::stdout();
    let listed = project_servers::summary(&found).join(", ");
    match decision {
        Decision::Approved => writeln!(
            out,
            "Approved for this project: {listed}. Their tool calls still ask unless allowed."
        )?,
        Decision::Denied => writeln!(
            out,
            "Never used in this project (until {} changes): {listed}.",
            found.file.display()
        )?,
    }
    for skipped in &found.skipped {
        writeln!(out, "skipped: {skipped}")?;
    }
    out.flush()?;
    Ok(())
}
