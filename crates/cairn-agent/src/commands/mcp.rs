//! `/mcp`: the MCP servers of `[mcp_servers]`, their state and tools (starting those
//! not tried yet, as the first request would).

use serde_json::json;

use super::{CommandResult, Output};
use crate::agent::Agent;

pub(super) async fn run(agent: &Agent) -> CommandResult {
    if agent.mcp.is_empty() {
        return Ok(Output::new(
            "No MCP servers configured. Add [mcp_servers.NAME] with command = \"…\" (or url = \
             \"…\") to your config.toml, or approve the project's .mcp.json with `cairn \
             mcp-servers approve`; `cairn mcp-servers test NAME` checks one.",
            json!({ "servers": [] }),
        ));
    }
    agent.mcp.start_all().await;
    let servers = agent.mcp.status().await;
    let mut text = String::new();
    for s in &servers {
        text.push_str(&format!("{} ({}): {}", s.name, s.transport, s.state));
        if let Some(error) = &s.error {
            text.push_str(&format!(" — {error}"));
        }
        text.push('\n');
        for tool in &s.tools {
            text.push_str(&format!("  {tool}\n"));
        }
    }
    Ok(Output::new(
        text.trim_end().to_owned(),
        json!({ "servers": servers }),
    ))
}
