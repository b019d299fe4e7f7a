//! The MCP clients on this machine (Claude Code, Codex, Cursor) whose configuration
//! runs cairn: does each entry start this binary, with this `CAIRN_HOME`? An entry
//! that runs another build or another home saves progress where this cairn does not
//! look — the usual reason for "where_was_i finds nothing".

use std::path::{Path, PathBuf};

use cairn_core::paths::Paths;
use serde_json::Value;

use super::{Check, Status};
use crate::app::App;

/// One server entry of a client's config that mentions cairn.
struct Entry {
    client: &'static str,
    file: PathBuf,
    name: String,
    command: String,
    cairn_home: Option<String>,
}

pub(super) fn check(app: &App) -> Vec<Check> {
    let Some(home) = dirs::home_dir() else {
        return vec![Check::new(
            "mcp-client",
            Status::Warn,
            "no home directory: clients not checked",
        )];
    };
    let mut found = Vec::new();
    let mut entries = Vec::new();
    let claude_dir = std::env::var_os("CLAUDE_CONFIG_DIR").map(PathBuf::from);
    let claude_file = match &claude_dir {
        Some(dir) => dir.join(".claude.json"),
        None => home.join(".claude.json"),
    };
    read_json(&claude_file, "Claude Code", &mut entries, &mut found);
    let codex_home = std::env::var_os("CODEX_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".codex"));
    read_codex(&codex_home.join("config.toml"), &mut entries, &mut found);
    read_json(
        &home.join(".cursor/mcp.json"),
        "Cursor",
        &mut entries,
        &mut found,
    );

    let this_binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok());
    let this_home = canonical(&app.paths.data_dir);
    for entry in &entries {
        let binary = resolve(&entry.command);
        let same_binary = binary.is_some() && binary == this_binary;
        // The store that entry's cairn opens: its CAIRN_HOME, else the default.
        let home_used = Paths::resolve(entry.cairn_home.as_deref().map(PathBuf::from))
            .ok()
            .map(|p| canonical(&p.data_dir));
        let same_home = home_used.as_ref() == Some(&this_home);
        let place = format!(
            "{} `{}` ({})",
            entry.client,
            entry.name,
            entry.file.display()
        );
        let (status, detail) = match (same_binary, same_home) {
            (true, true) => (
                Status::Ok,
                format!("{place}: runs this cairn with this store"),
            ),
            (false, _) => (
                Status::Warn,
                format!(
                    "{place}: runs `{}`{}, not this binary",
                    entry.command,
                    binary
                        .map(|b| format!(" = {}", b.display()))
                        .unwrap_or_default()
                ),
            ),
            (true, false) => (
                Status::Warn,
                format!(
                    "{place}: uses CAIRN_HOME {}, this cairn uses {}",
                    home_used
                        .map(|h| h.display().to_string())
                        .unwrap_or_else(|| "?".into()),
                    app.paths.data_dir.display()
                ),
            ),
        };
        found.push(Check::new("mcp-client", status, detail));
    }
    if entries.is_empty() {
        found.push(Check::new(
            "mcp-client",
            Status::Ok,
            "no Claude Code, Codex or Cursor config runs cairn (connect one: \
             `claude mcp add cairn -- cairn mcp`)",
        ));
    }
    found
}

/// `mcpServers` of a Claude Code or Cursor JSON config (Claude Code also keeps
/// per-project servers under `projects.<path>.mcpServers`).
fn read_json(file: &Path, client: &'static str, entries: &mut Vec<Entry>, found: &mut Vec<Check>) {
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    let json: Value = match serde_json::from_str(&text) {
        Ok(json) => json,
        Err(e) => {
            found.push(Check::new(
                "mcp-client",
                Status::Warn,
                format!("{client}: {} is not valid JSON: {e}", file.display()),
            ));
            return;
        }
    };
    let mut tables = vec![&json["mcpServers"]];
    if let Some(projects) = json["projects"].as_object() {
        tables.extend(projects.values().map(|p| &p["mcpServers"]));
    }
    for table in tables {
        let Some(servers) = table.as_object() else {
            continue;
        };
        for (name, server) in servers {
            let command = server["command"].as_str().unwrap_or_default();
            let args: Vec<&str> = server["args"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if runs_cairn(command, &args) {
                entries.push(Entry {
                    client,
                    file: file.to_path_buf(),
                    name: name.clone(),
                    command: command.to_owned(),
                    cairn_home: server["env"]["CAIRN_HOME"].as_str().map(str::to_owned),
                });
            }
        }
    }
}

/// `[mcp_servers.NAME]` of Codex's config.toml.
fn read_codex(file: &Path, entries: &mut Vec<Entry>, found: &mut Vec<Check>) {
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    let config: toml::Table = match toml::from_str(&text) {
        Ok(config) => config,
        Err(e) => {
            found.push(Check::new(
                "mcp-client",
                Status::Warn,
                format!(
                    "Codex: {} is not valid TOML: {}",
                    file.display(),
                    e.message()
                ),
            ));
            return;
        }
    };
    let Some(servers) = config.get("mcp_servers").and_then(toml::Value::as_table) else {
        return;
    };
    for (name, server) in servers {
        let command = server
            .get("command")
            .and_then(toml::Value::as_str)
            .unwrap_or_default();
        let args: Vec<&str> = server
            .get("args")
            .and_then(toml::Value::as_array)
            .map(|a| a.iter().filter_map(toml::Value::as_str).collect())
            .unwrap_or_default();
        if runs_cairn(command, &args) {
            entries.push(Entry {
                client: "Codex",
                file: file.to_path_buf(),
                name: name.clone(),
                command: command.to_owned(),
                cairn_home: server
                    .get("env")
                    .and_then(|env| env.get("CAIRN_HOME"))
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned),
            });
        }
    }
}

/// `cairn mcp …`, or a path whose file name is `cairn`.
fn runs_cairn(command: &str, args: &[&str]) -> bool {
    Path::new(command).file_name().is_some_and(|n| n == "cairn") && args.first() == Some(&"mcp")
}

/// The command as the client would start it: a path, or a name looked up in PATH.
fn resolve(command: &str) -> Option<PathBuf> {
    let path = Path::new(command);
    if path.components().count() > 1 {
        return path.canonicalize().ok();
    }
    let search = std::env::var_os("PATH")?;
    std::env::split_paths(&search)
        .map(|dir| dir.join(command))
        .find(|candidate| candidate.is_file())
        .and_then(|found| found.canonicalize().ok())
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}
