//! `[mcp_servers.NAME]`: MCP servers whose tools `cairn run` offers the model as
//! `mcp__<server>__<tool>`. Only in the user's own config.toml: a repository must not
//! start programs on its own.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub const DEFAULT_STARTUP_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_TOOL_TIMEOUT_SECS: u64 = 60;

/// One MCP server: a program spoken to over stdio (`command`), or a streamable HTTP
/// endpoint (`url`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpServerDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Variables for the program; a value `$NAME` is taken from cairn's own
    /// environment when the server starts (the secret is never written anywhere).
    #[serde(default, skip_serializing)]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The environment variable holding the bearer token for `url` (Codex spells it
    /// `bearer_token_env_var`; both are read).
    #[serde(
        default,
        alias = "bearer_token_env_var",
        skip_serializing_if = "Option::is_none"
    )]
    pub bearer_token_env: Option<String>,
    /// Headers sent with every request to `url`, as written (Codex's `http_headers`).
    /// Not serialised: a person may have put a key in one.
    #[serde(default, skip_serializing)]
    pub http_headers: BTreeMap<String, String>,
    /// Headers sent to `url` whose values come from environment variables: header
    /// name → variable name (Codex's `env_http_headers`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_http_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_timeout_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_timeout_secs: Option<u64>,
    /// Only these tools of the server are offered (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_tools: Option<Vec<String>>,
    /// Tools that run without asking, like `[shell] allow`: names, or `"*"` for all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_tools: Vec<String>,
    /// `false` keeps the entry without using it.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Empty and enabled, as a table with no keys reads.
impl Default for McpServerDef {
    fn default() -> Self {
        McpServerDef {
            command: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
            url: None,
            bearer_token_env: None,
            http_headers: BTreeMap::new(),
            env_http_headers: BTreeMap::new(),
            startup_timeout_secs: None,
            tool_timeout_secs: None,
            enabled_tools: None,
            allow_tools: Vec::new(),
            enabled: true,
        }
    }
}

impl McpServerDef {
    pub fn startup_timeout_secs(&self) -> u64 {
        self.startup_timeout_secs
            .unwrap_or(DEFAULT_STARTUP_TIMEOUT_SECS)
    }

    pub fn tool_timeout_secs(&self) -> u64 {
        self.tool_timeout_secs.unwrap_or(DEFAULT_TOOL_TIMEOUT_SECS)
    }

    /// Whether the model may see tool `tool` of this server.
    pub fn offers(&self, tool: &str) -> bool {
        self.enabled_tools
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == tool))
    }

    /// Whether calling `tool` needs no approval.
    pub fn allows(&self, tool: &str) -> bool {
        self.allow_tools.iter().any(|a| a == "*" || a == tool)
    }

    /// Why this entry cannot be used, naming the server and the field.
    pub fn check(&self, name: &str) -> Result<(), String> {
        let valid_name = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || (b == b'_'))
            && !name.contains("__");
        if !valid_name {
            return Err(format!(
                "mcp_servers.{name}: a server name is 1 to 32 characters a-z, A-Z, 0-9, _ or - \
                 without `__` (its tools are named mcp__<server>__<tool>)"
            ));
        }
        match (&self.command, &self.url) {
            (Some(_), Some(_)) => Err(format!(
                "mcp_servers.{name}: set either command (stdio) or url (HTTP), not both"
            )),
            (None, None) => Err(format!(
                "mcp_servers.{name}: set command (a program spoken to over stdio) or url"
            )),
            (Some(command), None) if command.trim().is_empty() => {
                Err(format!("mcp_servers.{name}: command is empty"))
            }
            (Some(_), None) => {
                let http_only = [
                    ("bearer_token_env", self.bearer_token_env.is_some()),
                    ("http_headers", !self.http_headers.is_empty()),
                    ("env_http_headers", !self.env_http_headers.is_empty()),
                ];
                match http_only.iter().find(|(_, set)| *set) {
                    Some((field, _)) => Err(format!(
                        "mcp_servers.{name}: {field} is for servers over HTTP (url), not for \
                         a command"
                    )),
                    None => Ok(()),
                }
            }
            (None, Some(url)) => self.check_http(name, url),
        }
    }

    fn check_http(&self, name: &str, url: &str) -> Result<(), String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "mcp_servers.{name}: url must start with http:// or https:// (got {url:?})"
            ));
        }
        let secrets = self.bearer_token_env.is_some() || !self.env_http_headers.is_empty();
        if secrets && url.starts_with("http://") && !is_loopback_url(url) {
            return Err(format!(
                "mcp_servers.{name}: a token (bearer_token_env, env_http_headers) is sent only \
                 over https://, or over http:// to 127.0.0.1, [::1] or localhost; {url} would \
                 carry it in clear text"
            ));
        }
        let stdio_only = [
            ("args", !self.args.is_empty()),
            ("env", !self.env.is_empty()),
            ("cwd", self.cwd.is_some()),
        ];
        if let Some((field, _)) = stdio_only.iter().find(|(_, set)| *set) {
            return Err(format!(
                "mcp_servers.{name}: {field} is for servers started as a command, not for a url"
            ));
        }
        for header in self.http_headers.keys().chain(self.env_http_headers.keys()) {
            let valid = !header.is_empty()
                && header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(format!(
                    "mcp_servers.{name}: header name {header:?} may only hold a-z, A-Z, 0-9, - \
                     and _"
                ));
            }
            if RESERVED_HEADERS
                .iter()
                .any(|r| header.eq_ignore_ascii_case(r))
            {
                return Err(format!(
                    "mcp_servers.{name}: header {header} is set by cairn itself (use \
                     bearer_token_env for Authorization)"
                ));
            }
        }
        if let Some((header, _)) = self
            .http_headers
            .iter()
            .find(|(_, v)| v.contains(['\r', '\n']))
        {
            return Err(format!(
                "mcp_servers.{name}: http_headers.{header} holds a line break"
            ));
        }
        Ok(())
    }
}

/// Whether an `http://` URL names this machine (127.0.0.1, [::1], localhost).
fn is_loopback_url(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if host_port.starts_with('[') {
        host_port.split(']').next().map(|h| format!("{h}]"))
    } else {
        host_port.split(':').next().map(str::to_owned)
    };
    matches!(host.as_deref(), Some("127.0.0.1" | "[::1]" | "localhost"))
}

/// Headers the MCP transport sets; a configured one would clash.
const RESERVED_HEADERS: [&str; 6] = [
    "authorization",
    "accept",
    "content-type",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];

/// `$NAME` (the whole value) from `lookup`; any other value as written. `Err` names the
/// variable that is not set.
pub fn expand_env_value(
    value: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    match value.strip_prefix('$') {
        Some(var) if !var.is_empty() => lookup(var.trim_start_matches('{').trim_end_matches('}'))
            .ok_or_else(|| format!("environment variable {var} is not set")),
        _ => Ok(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_checked_and_env_values_expand() {
        let stdio = McpServerDef {
            command: Some("github-mcp".into()),
            ..McpServerDef::default()
        };
        assert!(stdio.check("github").is_ok());
        assert!(stdio.check("a__b").unwrap_err().contains("__"));
        assert!(
            McpServerDef::default()
                .check("x")
                .unwrap_err()
                .contains("command")
        );
        let lookup = |v: &str| (v == "TOKEN").then(|| "s3cret".to_owned());
        assert_eq!(expand_env_value("$TOKEN", lookup).unwrap(), "s3cret");
        assert_eq!(expand_env_value("plain", lookup).unwrap(), "plain");
        assert!(
            expand_env_value("$MISSING", lookup)
                .unwrap_err()
                .contains("MISSING")
        );
        let http = |url: &str| McpServerDef {
            url: Some(url.into()),
            bearer_token_env: Some("T".into()),
            ..McpServerDef::default()
        };
        assert!(http("https://docs.example/mcp").check("d").is_ok());
        assert!(http("http://127.0.0.1:7777/mcp").check("d").is_ok());
        assert!(http("http://[::1]:7777/mcp").check("d").is_ok());
        assert!(http("http://localhost/mcp").check("d").is_ok());
        for clear in [
            "http://docs.example/mcp",
            "http://127.0.0.1.evil.example/mcp",
        ] {
            assert!(
                http(clear).check("d").unwrap_err().contains("clear text"),
                "{clear}"
            );
        }
        let mut allow = stdio.clone();
        allow.allow_tools = vec!["search".into()];
        assert!(allow.allows("search") && !allow.allows("delete"));
        allow.enabled_tools = Some(vec!["search".into()]);
        assert!(allow.offers("search") && !allow.offers("delete"));
    }
}
