//! A project's `.mcp.json` (Claude Code's format): the MCP servers a repository
//! proposes. Read here into `[mcp_servers]` entries; whether they may start is the
//! person's decision ([`crate::mcp_approvals`]), never the repository's.
//!
//! ```json
//! {"mcpServers": {
//!   "fs":   {"command": "npx", "args": ["-y", "fs-mcp"], "env": {"KEY": "${KEY}"}},
//!   "docs": {"type": "http", "url": "https://docs.example.com/mcp",
//!            "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}}
//! }}
//! ```
//!
//! A header value is taken as written, or from the environment when it is
//! `${VAR}` (and `Authorization: Bearer ${VAR}` becomes `bearer_token_env`), so a
//! secret never has to be in the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::mcp_server_def::McpServerDef;

/// The file's name, at the project root.
pub const PROJECT_MCP_FILE: &str = ".mcp.json";

/// Largest `.mcp.json` read.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The servers of one `.mcp.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectServers {
    pub file: PathBuf,
    pub servers: BTreeMap<String, McpServerDef>,
    /// Servers left out, each with why (e.g. the old SSE transport).
    pub skipped: Vec<String>,
    /// SHA-256 of the server definitions (keys sorted): an approval holds for
    /// exactly these definitions, so a changed file asks again.
    pub hash: String,
}

/// The `.mcp.json` at `root`: `Ok(None)` when there is none; `Err` names the file
/// and the field that is wrong.
pub fn read(root: &Path) -> Result<Option<ProjectServers>, String> {
    let file = root.join(PROJECT_MCP_FILE);
    let meta = match std::fs::metadata(&file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} is larger than {} KiB",
            file.display(),
            MAX_FILE_BYTES / 1024
        ));
    }
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    parse(&file, &text).map(Some)
}

/// Parse the text of `file`.
pub fn parse(file: &Path, text: &str) -> Result<ProjectServers, String> {
    let at = |field: &str, rule: &str| format!("{}: {field}: {rule}", file.display());
    let root: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "{}: not valid JSON (line {}, column {}): {e}",
            file.display(),
            e.line(),
            e.column()
        )
    })?;
    let Some(root) = root.as_object() else {
        return Err(at("(top level)", "must be a JSON object"));
    };
    let Some(entries) = root.get("mcpServers") else {
        return Err(at("mcpServers", "is missing"));
    };
    let Some(entries) = entries.as_object() else {
        return Err(at("mcpServers", "must be an object of servers by name"));
    };
    let mut servers = BTreeMap::new();
    let mut skipped = Vec::new();
    for (name, entry) in entries {
        let field = format!("mcpServers.{name}");
        let Some(entry) = entry.as_object() else {
            return Err(at(&field, "must be an object"));
        };
        match server(entry, &field).map_err(|(f, rule)| at(&f, &rule))? {
            Entry::Server(mut def) => {
                // A project's program runs at the project's root, wherever cairn started.
                if def.command.is_some() {
                    def.cwd = file.parent().map(Path::to_path_buf);
                }
                def.check(name).map_err(|e| {
                    let rule = e
                        .strip_prefix(&format!("mcp_servers.{name}: "))
                        .unwrap_or(&e);
                    at(&field, rule)
                })?;
                servers.insert(name.clone(), *def);
            }
            Entry::Skipped(why) => skipped.push(format!("{name}: {why}")),
        }
    }
    Ok(ProjectServers {
        file: file.to_path_buf(),
        servers,
        skipped,
        hash: hash(entries),
    })
}

enum Entry {
    Server(Box<McpServerDef>),
    Skipped(String),
}

/// One entry, or (field, rule) when it is wrong.
fn server(entry: &Map<String, Value>, field: &str) -> Result<Entry, (String, String)> {
    let kind = match entry.get("type") {
        None => None,
        Some(Value::String(kind)) => Some(kind.as_str()),
        Some(_) => return Err((format!("{field}.type"), "must be a string".into())),
    };
    let kind = kind.unwrap_or(if entry.contains_key("url") {
        "http"
    } else {
        "stdio"
    });
    match kind {
        "stdio" => {
            let command = string(entry, field, "command")?
                .ok_or_else(|| (format!("{field}.command"), "is missing".to_owned()))?;
            Ok(Entry::Server(Box::new(McpServerDef {
                command: Some(command),
                args: strings(entry, field, "args")?,
                env: string_map(entry, field, "env")?,
                ..McpServerDef::default()
            })))
        }
        "http" => {
            let url = string(entry, field, "url")?
                .ok_or_else(|| (format!("{field}.url"), "is missing".to_owned()))?;
            let mut def = McpServerDef {
                url: Some(url),
                ..McpServerDef::default()
            };
            for (header, value) in string_map(entry, field, "headers")? {
                let var = value
                    .strip_prefix("${")
                    .and_then(|v| v.strip_suffix('}'))
                    .map(str::to_owned);
                let bearer = value
                    .strip_prefix("Bearer ${")
                    .and_then(|v| v.strip_suffix('}'));
                match (header.eq_ignore_ascii_case("authorization"), bearer, var) {
                    (true, Some(var), _) => def.bearer_token_env = Some(var.to_owned()),
                    (_, _, Some(var)) => {
                        def.env_http_headers.insert(header, var);
                    }
                    (true, None, None) => {
                        return Err((
                            format!("{field}.headers.{header}"),
                            "write the token as \"Bearer ${VAR}\" (taken from the \
                             environment), not in the file"
                                .into(),
                        ));
                    }
                    _ => {
                        def.http_headers.insert(header, value);
                    }
                }
            }
            Ok(Entry::Server(Box::new(def)))
        }
        "sse" => Ok(Entry::Skipped(
            "type \"sse\" (the old HTTP+SSE transport) is not supported; a server that \
             speaks streamable HTTP is type \"http\""
                .into(),
        )),
        other => Err((
            format!("{field}.type"),
            format!("must be \"stdio\", \"http\" or \"sse\", not {other:?}"),
        )),
    }
}

fn string(
    entry: &Map<String, Value>,
    field: &str,
    key: &str,
) -> Result<Option<String>, (String, String)> {
    match entry.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err((format!("{field}.{key}"), "must be a string".into())),
    }
}

fn strings(
    entry: &Map<String, Value>,
    field: &str,
    key: &str,
) -> Result<Vec<String>, (String, String)> {
    match entry.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| (format!("{field}.{key}[{i}]"), "must be a string".into()))
            })
            .collect(),
        Some(_) => Err((
            format!("{field}.{key}"),
            "must be an array of strings".into(),
        )),
    }
}

fn string_map(
    entry: &Map<String, Value>,
    field: &str,
    key: &str,
) -> Result<BTreeMap<String, String>, (String, String)> {
    match entry.get(key) {
        None => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|v| (k.clone(), v.to_owned()))
                    .ok_or_else(|| (format!("{field}.{key}.{k}"), "must be a string".into()))
            })
            .collect(),
        Some(_) => Err((
            format!("{field}.{key}"),
            "must be an object of strings".into(),
        )),
    }
}

/// SHA-256 of `mcpServers` with every object's keys sorted, so reformatting the
/// file does not ask again but any change to a definition does.
fn hash(entries: &Map<String, Value>) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let canonical = sorted(&Value::Object(entries.clone())).to_string();
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<ProjectServers, String> {
        parse(Path::new("/p/.mcp.json"), text)
    }

    #[test]
    fn claude_code_entries_become_servers() {
        let servers = parsed(
            r#"{"mcpServers": {
                "fs": {"command": "fs-mcp", "args": ["--ro"], "env": {"K": "${K}"}},
                "docs": {"type": "http", "url": "https://d.example/mcp",
                         "headers": {"Authorization": "Bearer ${DOCS}", "X-Team": "${TEAM}",
                                     "X-Client": "cairn"}},
                "old": {"type": "sse", "url": "https://o.example/sse"}
            }}"#,
        )
        .unwrap();
        let fs = &servers.servers["fs"];
        assert_eq!(fs.command.as_deref(), Some("fs-mcp"));
        assert!(fs.enabled);
        assert_eq!(fs.cwd.as_deref(), Some(Path::new("/p")));
        assert_eq!(fs.args, ["--ro"]);
        assert_eq!(fs.env["K"], "${K}");
        let docs = &servers.servers["docs"];
        assert_eq!(docs.bearer_token_env.as_deref(), Some("DOCS"));
        assert_eq!(docs.env_http_headers["X-Team"], "TEAM");
        assert_eq!(docs.http_headers["X-Client"], "cairn");
        assert!(
            servers.skipped[0].starts_with("old: "),
            "{:?}",
            servers.skipped
        );
    }

    #[test]
    fn wrong_fields_are_named_with_the_file() {
        for (text, field) in [
            ("[]", "(top level)"),
            ("{}", "mcpServers"),
            (
                r#"{"mcpServers": {"a": {"args": []}}}"#,
                "mcpServers.a.command",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "args": [1]}}}"#,
                "mcpServers.a.args[0]",
            ),
            (
                r#"{"mcpServers": {"a": {"type": "ws"}}}"#,
                "mcpServers.a.type",
            ),
            (
                r#"{"mcpServers": {"a": {"url": "https://x", "headers": {"Authorization": "Bearer abc"}}}}"#,
                "mcpServers.a.headers.Authorization",
            ),
            (
                r#"{"mcpServers": {"a__b": {"command": "x"}}}"#,
                "mcpServers.a__b",
            ),
        ] {
            let e = parsed(text).unwrap_err();
            assert!(e.starts_with("/p/.mcp.json: "), "{e}");
            assert!(e.contains(field), "{text}: {e}");
        }
        assert!(parsed("{").unwrap_err().contains("line 1"));
    }

    #[test]
    fn the_hash_follows_the_definitions_not_the_layout() {
        let a = parsed(r#"{"mcpServers": {"a": {"command": "x", "args": ["1"]}}}"#).unwrap();
        let b = parsed("{\n \"mcpServers\": {\"a\": {\"args\": [\"1\"],\n \"command\": \"x\"}}}")
            .unwrap();
        let c = parsed(r#"{"mcpServers": {"a": {"command": "x", "args": ["2"]}}}"#).unwrap();
        assert_eq!(a.hash, b.hash);
        assert_ne!(a.hash, c.hash);
    }
}
