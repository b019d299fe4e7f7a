//! cairn as an MCP client: the servers of `[mcp_servers.NAME]` (user config only),
//! spoken to with rmcp's client side. A server starts on first use in a session
//! (when the first request's tools are listed), lives as long as the session's
//! agent, and its process is killed with it. Its tools are offered as
//! `mcp__<server>__<tool>` with their own input schemas.
//!
//! Nothing here hangs a turn: starting, listing and every call have a timeout, a
//! server that died turns its calls into errors the model reads (and is started
//! again on the next use), and Ctrl+C abandons a call.

use std::collections::{BTreeMap, HashMap};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_core::mcp_server_def::{McpServerDef, expand_env_value};
use cairn_llm::ToolDef;
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::common::client_side_sse::FixedInterval;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::media::MediaKind;
use crate::tools::{ToolExtra, ToolOutput};

/// The `type` of the block that keeps what of an MCP result is neither text nor
/// image (structured content, audio, blobs).
pub const MCP_RESULT_BLOCK: &str = "mcp_result";

/// Tool names of MCP servers' tools start with this.
pub const MCP_TOOL_PREFIX: &str = "mcp__";

/// Longest tool name providers take.
const MAX_TOOL_NAME: usize = 64;

pub(crate) fn is_mcp_tool(name: &str) -> bool {
    name.starts_with(MCP_TOOL_PREFIX)
}

/// `mcp__<server>__<tool>` split; `None` when the name is not of that form.
pub fn split_tool_name(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix(MCP_TOOL_PREFIX)?.split_once("__")
}

/// One tool of a running server.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct McpTool {
    pub server: String,
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

impl McpTool {
    pub fn tool_name(&self) -> String {
        format!("{MCP_TOOL_PREFIX}{}__{}", self.server, self.name)
    }
}

/// Where a server stands, for `/mcp` and `cairn mcp-servers list`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServerStatus {
    pub name: String,
    /// `stdio` or `http`.
    pub transport: &'static str,
    /// `not started`, `running`, `failed`, `disabled`.
    pub state: String,
    pub error: Option<String>,
    pub tools: Vec<String>,
}

struct Running {
    service: RunningService<RoleClient, ()>,
    tools: Vec<McpTool>,
    /// A stdio server's process, killed when this is dropped (`kill_on_drop`).
    _child: Option<tokio::process::Child>,
}

enum State {
    Running(Arc<Running>),
    Failed(String),
}

/// The MCP servers of one agent (and of the sub-agents it starts, which share them).
pub struct McpClients {
    servers: BTreeMap<String, McpServerDef>,
    state: tokio::sync::Mutex<HashMap<String, State>>,
    /// The tools of the running servers, for the synchronous tool listing.
    tools: Mutex<Vec<McpTool>>,
}

impl McpClients {
    pub fn new(servers: &BTreeMap<String, McpServerDef>) -> Self {
        McpClients {
            servers: servers
                .iter()
                .filter(|(_, s)| s.enabled)
                .map(|(n, s)| (n.clone(), s.clone()))
                .collect(),
            state: tokio::sync::Mutex::new(HashMap::new()),
            tools: Mutex::new(Vec::new()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// Whether `mcp__<server>__<tool>` names an enabled tool of a configured server
    /// (running or not).
    pub fn configured(&self, tool_name: &str) -> bool {
        split_tool_name(tool_name)
            .is_some_and(|(server, tool)| self.server(server).is_some_and(|d| d.offers(tool)))
    }

    pub fn server(&self, name: &str) -> Option<&McpServerDef> {
        self.servers.get(name)
    }

    /// Start every server not started (or failed) yet; failures are kept for `/mcp`
    /// and their tools are not offered.
    pub async fn start_all(&self) {
        let untried: Vec<String> = {
            let state = self.state.lock().await;
            self.servers
                .keys()
                .filter(|n| !state.contains_key(*n))
                .cloned()
                .collect()
        };
        for name in untried {
            let _ = self.running(&name).await;
        }
    }

    /// The tools offered to the model (running servers only).
    pub fn tool_defs(&self) -> Vec<ToolDef> {
        let tools = self.tools.lock().unwrap_or_else(|p| p.into_inner());
        tools
            .iter()
            .map(|t| ToolDef::new(t.tool_name(), t.description.clone(), t.input_schema.clone()))
            .collect()
    }

    /// Start server `name` (if it is not running) and return its tools.
    pub async fn start(&self, name: &str) -> Result<Vec<McpTool>, String> {
        self.running(name).await.map(|r| r.tools.clone())
    }

    async fn running(&self, name: &str) -> Result<Arc<Running>, String> {
        let def = self
            .servers
            .get(name)
            .ok_or_else(|| format!("no MCP server {name:?} is configured"))?;
        let mut state = self.state.lock().await;
        if let Some(State::Running(running)) = state.get(name) {
            return Ok(running.clone());
        }
        let started = tokio::time::timeout(
            Duration::from_secs(def.startup_timeout_secs()),
            start(name, def),
        )
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "MCP server {name} did not start within {} s (startup_timeout_secs)",
                def.startup_timeout_secs()
            ))
        });
        match started {
            Ok(running) => {
                let running = Arc::new(running);
                state.insert(name.to_owned(), State::Running(running.clone()));
                self.refresh_tools(&state);
                Ok(running)
            }
            Err(e) => {
                state.insert(name.to_owned(), State::Failed(e.clone()));
                self.refresh_tools(&state);
                Err(e)
            }
        }
    }

    fn refresh_tools(&self, state: &HashMap<String, State>) {
        let mut all: Vec<McpTool> = state
            .values()
            .filter_map(|s| match s {
                State::Running(r) => Some(r.tools.iter().cloned()),
                State::Failed(_) => None,
            })
            .flatten()
            .collect();
        all.sort_by(|a, b| (&a.server, &a.name).cmp(&(&b.server, &b.name)));
        *self.tools.lock().unwrap_or_else(|p| p.into_inner()) = all;
    }

    /// Forget a server that stopped answering: the next use starts it again.
    async fn forget(&self, name: &str, why: String) {
        let mut state = self.state.lock().await;
        state.insert(name.to_owned(), State::Failed(why));
        self.refresh_tools(&state);
    }

    /// Call `mcp__<server>__<tool>`; approval is the caller's business.
    pub async fn call(
        &self,
        tool_name: &str,
        input: &Value,
        cancel: &CancellationToken,
    ) -> ToolOutput {
        let Some((server, tool)) = split_tool_name(tool_name) else {
            return ToolOutput::error(format!("{tool_name:?} does not name an MCP tool"));
        };
        let Some(def) = self.servers.get(server) else {
            return ToolOutput::error(format!("no MCP server {server:?} is configured"));
        };
        if !def.offers(tool) {
            return ToolOutput::error(format!(
                "tool {tool} of MCP server {server} is not enabled (enabled_tools)"
            ));
        }
        let running = match self.running(server).await {
            Ok(r) => r,
            Err(e) => return ToolOutput::error(e),
        };
        let arguments = match input {
            Value::Object(map) => map.clone(),
            Value::Null => serde_json::Map::new(),
            other => {
                return ToolOutput::error(format!(
                    "the input of {tool_name} must be a JSON object, not {other}"
                ));
            }
        };
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let secs = def.tool_timeout_secs();
        let call =
            tokio::time::timeout(Duration::from_secs(secs), running.service.call_tool(params));
        let result = tokio::select! {
            _ = cancel.cancelled() => {
                return ToolOutput::error("interrupted: the user stopped the MCP tool call");
            }
            result = call => result,
        };
        match result {
            Err(_) => ToolOutput::error(format!(
                "MCP server {server} did not answer {tool} within {secs} s (tool_timeout_secs)"
            )),
            Ok(Err(e)) => {
                let why = format!("MCP server {server} failed: {e}");
                self.forget(server, why.clone()).await;
                ToolOutput::error(format!("{why}. It will be started again on the next call."))
            }
            Ok(Ok(result)) => {
                let is_error = result.is_error.unwrap_or(false);
                let value = serde_json::to_value(&result).unwrap_or(Value::Null);
                let text = result_text(&value);
                let mut output = if is_error {
                    ToolOutput::error(text)
                } else {
                    ToolOutput::ok(text)
                };
                output.extra = result_extra(&value);
                output
            }
        }
    }

    /// Every configured server and where it stands.
    pub async fn status(&self) -> Vec<ServerStatus> {
        let state = self.state.lock().await;
        self.servers
            .iter()
            .map(|(name, def)| {
                let (state, error, tools) = match state.get(name) {
                    None => ("not started".to_owned(), None, Vec::new()),
                    Some(State::Failed(e)) => ("failed".to_owned(), Some(e.clone()), Vec::new()),
                    Some(State::Running(r)) => (
                        "running".to_owned(),
                        None,
                        r.tools.iter().map(McpTool::tool_name).collect(),
                    ),
                };
                ServerStatus {
                    name: name.clone(),
                    transport: if def.url.is_some() { "http" } else { "stdio" },
                    state,
                    error,
                    tools,
                }
            })
            .collect()
    }

    /// Stop every server (with the session).
    pub async fn shutdown(&self) {
        let mut state = self.state.lock().await;
        for (_, s) in state.drain() {
            if let State::Running(running) = s
                && let Ok(running) = Arc::try_unwrap(running)
            {
                let _ = running.service.cancel().await;
            }
        }
        self.refresh_tools(&state);
    }
}

async fn start(name: &str, def: &McpServerDef) -> Result<Running, String> {
    let (service, child) = match &def.url {
        Some(url) => (start_http(name, url, def).await?, None),
        None => {
            let (service, child) = start_stdio(name, def).await?;
            (service, Some(child))
        }
    };
    let listed = service
        .list_all_tools()
        .await
        .map_err(|e| format!("MCP server {name}: listing its tools failed: {e}"))?;
    let tools = listed
        .into_iter()
        .filter(|t| def.offers(&t.name))
        .map(|t| McpTool {
            server: name.to_owned(),
            name: t.name.to_string(),
            description: t.description.map(|d| d.to_string()).unwrap_or_default(),
            input_schema: Value::Object((*t.input_schema).clone()),
        })
        // A provider refuses a tool whose name is too long or has other characters.
        .filter(|t| {
            let full = t.tool_name();
            full.len() <= MAX_TOOL_NAME
                && full
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .collect();
    Ok(Running {
        service,
        tools,
        _child: child,
    })
}

/// A streamable HTTP server: the bearer token and header values are read from the
/// environment here and go nowhere but into the requests.
async fn start_http(
    name: &str,
    url: &str,
    def: &McpServerDef,
) -> Result<RunningService<RoleClient, ()>, String> {
    let env = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    if let Some(var) = &def.bearer_token_env {
        let token = env(var).ok_or_else(|| {
            format!("MCP server {name}: environment variable {var} (bearer_token_env) is not set")
        })?;
        config = config.auth_header(token);
    }
    let mut headers = HashMap::new();
    let from_env = def.env_http_headers.iter().map(|(header, var)| {
        env(var).map(|v| (header, v)).ok_or_else(|| {
            format!(
                "MCP server {name}: environment variable {var} (env_http_headers.{header}) is \
                 not set"
            )
        })
    });
    let literal = def.http_headers.iter().map(|(h, v)| Ok((h, v.clone())));
    for pair in literal.chain(from_env) {
        let (header, value) = pair?;
        let header_name = HeaderName::from_bytes(header.as_bytes())
            .map_err(|_| format!("MCP server {name}: {header:?} is not a header name"))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| format!("MCP server {name}: the value of header {header} is not valid"))?;
        headers.insert(header_name, value);
    }
    config = config.custom_headers(headers);
    // Not retried for long: a server that is down is a quick, clear error.
    let mut retry = FixedInterval::default();
    retry.max_times = Some(1);
    retry.duration = Duration::from_millis(200);
    config.retry_config = Arc::new(retry);
    let client = crate::mcp_http::HttpClient::new()
        .map_err(|e| format!("MCP server {name}: cannot make an HTTP client: {e}"))?;
    let transport = StreamableHttpClientTransport::with_client(client, config);
    ().serve(transport).await.map_err(|e| {
        format!("MCP server {name}: cannot reach {url} (the MCP handshake failed): {e}")
    })
}

async fn start_stdio(
    name: &str,
    def: &McpServerDef,
) -> Result<(RunningService<RoleClient, ()>, tokio::process::Child), String> {
    let command = def
        .command
        .as_deref()
        .ok_or_else(|| format!("MCP server {name}: no command"))?;
    let mut cmd = tokio::process::Command::new(command);
    cmd.args(&def.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (key, value) in &def.env {
        let value = expand_env_value(value, |v| std::env::var(v).ok())
            .map_err(|e| format!("MCP server {name}: env {key}: {e}"))?;
        cmd.env(key, value);
    }
    if let Some(cwd) = &def.cwd {
        cmd.current_dir(cwd);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("MCP server {name}: cannot start {command:?}: {e}"))?;
    let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
        return Err(format!("MCP server {name}: no stdio pipes"));
    };
    let service = ()
        .serve((stdout, stdin))
        .await
        .map_err(|e| format!("MCP server {name}: the MCP handshake failed: {e}"))?;
    Ok((service, child))
}

/// A `CallToolResult` (as JSON) as text for the model: text parts as they are, other
/// parts described, structured content as JSON when there is no text.
fn result_text(result: &Value) -> String {
    let mut parts = Vec::new();
    for block in result["content"].as_array().into_iter().flatten() {
        match block["type"].as_str() {
            Some("text") => parts.push(block["text"].as_str().unwrap_or_default().to_owned()),
            Some(kind @ ("image" | "audio")) => parts.push(format!(
                "[{kind} {}, {} bytes of base64]",
                block["mimeType"].as_str().unwrap_or("?"),
                block["data"].as_str().map_or(0, str::len)
            )),
            Some("resource") => {
                let resource = &block["resource"];
                match resource["text"].as_str() {
                    Some(text) => parts.push(text.to_owned()),
                    None => parts.push(format!(
                        "[resource {}]",
                        resource["uri"].as_str().unwrap_or("?")
                    )),
                }
            }
            _ => parts.push(block.to_string()),
        }
    }
    if let Some(structured) = result.get("structuredContent")
        && !structured.is_null()
        && parts.is_empty()
    {
        parts.push(structured.to_string());
    }
    parts.join("\n")
}

/// What of a `CallToolResult` (as JSON) is not text, to be stored whole: images
/// (recognised by their bytes) as images; structured content, audio, blobs and
/// images that are not one as one kept block.
fn result_extra(result: &Value) -> Vec<ToolExtra> {
    use base64::Engine as _;
    let mut extra = Vec::new();
    let mut kept_blocks = Vec::new();
    for block in result["content"].as_array().into_iter().flatten() {
        match block["type"].as_str() {
            Some("text") => {}
            Some("resource") if block["resource"]["text"].is_string() => {}
            Some("image") => {
                let image = block["data"]
                    .as_str()
                    .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
                    .and_then(|bytes| match crate::media::sniff(&bytes) {
                        Some((MediaKind::Image, mime))
                            if bytes.len() as u64 <= MediaKind::Image.max_bytes() =>
                        {
                            Some((mime, bytes))
                        }
                        _ => None,
                    });
                match image {
                    Some((mime, bytes)) => extra.push(ToolExtra::Image {
                        mime: mime.to_owned(),
                        bytes,
                    }),
                    None => kept_blocks.push(block.clone()),
                }
            }
            _ => kept_blocks.push(block.clone()),
        }
    }
    let structured = result
        .get("structuredContent")
        .filter(|s| !s.is_null())
        .cloned();
    if !kept_blocks.is_empty() || structured.is_some() {
        let mut kept = serde_json::Map::new();
        kept.insert("type".into(), Value::from(MCP_RESULT_BLOCK));
        if !kept_blocks.is_empty() {
            kept.insert("content".into(), Value::Array(kept_blocks));
        }
        if let Some(structured) = structured {
            kept.insert("structuredContent".into(), structured);
        }
        extra.push(ToolExtra::Kept(kept));
    }
    extra
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_split_and_results_read_as_text() {
        assert_eq!(
            split_tool_name("mcp__github__search_issues"),
            Some(("github", "search_issues"))
        );
        assert_eq!(split_tool_name("read_file"), None);
        let text = result_text(&json!({"content": [
            {"type": "text", "text": "hello"},
            {"type": "image", "mimeType": "image/png", "data": "AAAA"}
        ]}));
        assert_eq!(text, "hello\n[image image/png, 4 bytes of base64]");
        assert_eq!(
            result_text(&json!({"content": [], "structuredContent": {"n": 1}})),
            "{\"n\":1}"
        );
    }

    #[test]
    fn images_are_kept_as_images_and_the_rest_whole_in_one_block() {
        // "\x89PNG\r\n\x1a\n" and one more byte, base64.
        let png = "iVBORw0KGgoA";
        let extra = result_extra(&json!({
            "content": [
                {"type": "text", "text": "t"},
                {"type": "image", "mimeType": "image/png", "data": png},
                {"type": "image", "mimeType": "image/png", "data": "bm90IGFuIGltYWdl"},
                {"type": "audio", "mimeType": "audio/wav", "data": "AAAA"}
            ],
            "structuredContent": {"n": 1}
        }));
        assert_eq!(extra.len(), 2, "{extra:?}");
        assert!(matches!(&extra[0], ToolExtra::Image { mime, bytes }
            if mime == "image/png" && bytes.starts_with(b"\x89PNG")));
        let ToolExtra::Kept(kept) = &extra[1] else {
            panic!("{extra:?}")
        };
        assert_eq!(kept["type"], MCP_RESULT_BLOCK);
        assert_eq!(kept["structuredContent"], json!({"n": 1}));
        // The block that claimed to be an image and the audio, verbatim.
        assert_eq!(kept["content"].as_array().unwrap().len(), 2);
        assert!(result_extra(&json!({"content": [{"type": "text", "text": "t"}]})).is_empty());
    }
}
