//! `cairn mcp-servers list|test NAME`: the MCP servers `cairn run` uses as tools
//! (`[mcp_servers.NAME]` in config.toml), from the shell.

use std::io::Write;

use cairn_agent::mcp_client::McpClients;
use serde_json::json;

use crate::app::App;
use crate::args::mcp_servers::McpServersCommand;
use crate::output;

pub(super) async fn run(app: &App, command: McpServersCommand) -> anyhow::Result<()> {
    let servers = &app.settings.mcp_servers;
    match command {
        McpServersCommand::List { json } => {
            let rows: Vec<serde_json::Value> = servers
                .iter()
                .map(|(name, def)| {
                    json!({
                        "name": name,
                        "transport": if def.url.is_some() { "http" } else { "stdio" },
                        "command": def.command,
                        "args": def.args,
                        "url": def.url,
                        "enabled": def.enabled,
                        "enabled_tools": def.enabled_tools,
                        "allow_tools": def.allow_tools,
                        // Names only: the values may be secrets.
                        "env": def.env.keys().collect::<Vec<_>>(),
                    })
                })
                .collect();
            if json {
                return output::print_json(&rows);
            }
            let mut out = output::stdout();
            if servers.is_empty() {
                writeln!(
                    out,
                    "No MCP servers configured. Add [mcp_servers.NAME] with command = \"…\" to {}.",
                    app.paths.config_file().display()
                )?;
            }
            for (name, def) in servers {
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
                writeln!(out, "{name}  {what}{off}")?;
            }
            out.flush()?;
            Ok(())
        }
        McpServersCommand::Test { name, json } => {
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
