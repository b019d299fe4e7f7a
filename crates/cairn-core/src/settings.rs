//! Layered settings, resolved once: defaults → user file → project `.cairn.toml`
//! → `CAIRN_*` environment → flags. Each file is checked on its own, so an error
//! names the file, the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::agent_def::{AgentDef, Delegation, DelegationLayer, check_agents};
use crate::mcp_server_def::McpServerDef;
use crate::memory_settings::{MemoryLayer, MemorySettings};
use crate::paths::{PROJECT_CONFIG_FILE, Paths};
use crate::{Error, Project, env_vars};

/// One settings file (or the environment) before merging: everything optional.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    pub model: Option<String>,
    pub max_session_spending_threshold: Option<f64>,
    pub max_request_spending_threshold: Option<f64>,
    pub compression: Option<CompressionLayer>,
    pub providers: Option<ProvidersLayer>,
    pub pool: Option<PoolLayer>,
    /// The store backend's own options, checked by the backend (see [`StoreOptions`]).
    pub store: Option<toml::Table>,
    pub shell: Option<ShellLayer>,
    pub commands: Option<Vec<CommandDef>>,
    pub pricing: Option<BTreeMap<String, Price>>,
    pub mcp: Option<McpLayer>,
    pub agents: Option<Vec<AgentDef>>,
    pub delegation: Option<DelegationLayer>,
    pub mcp_servers: Option<BTreeMap<String, McpServerDef>>,
    pub memory: Option<MemoryLayer>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressionLayer {
    pub hints_enabled: Option<bool>,
    pub knowledge_retention: Option<usize>,
    pub pressure_levels: Option<Vec<PressureLevel>>,
    pub model: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersLayer {
    pub openai: Option<ProviderLayer>,
    pub anthropic: Option<ProviderLayer>,
    pub ollama: Option<ProviderLayer>,
    pub openrouter: Option<ProviderLayer>,
    pub gemini: Option<ProviderLayer>,
}

#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderLayer {
    pub api_key: Option<String>,
    pub base_url: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolLayer {
    pub ttl_secs: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellLayer {
    /// Commands that run without asking: an entry matches exactly the same words; an
    /// entry ending in ` *` also allows any further arguments; `*` alone allows all.
    pub allow: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpLayer {
    pub max_body_bytes: Option<usize>,
    pub max_connections: Option<usize>,
    pub header_timeout_secs: Option<u64>,
    pub max_sessions: Option<usize>,
    pub max_sessions_per_client: Option<usize>,
    pub unused_session_secs: Option<u64>,
}

/// Limits of `cairn mcp --http` (`[mcp]` in config.toml): what one client
/// can hold of the server's descriptors and memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct McpHttpLimits {
    /// Open TCP connections; more wait in the kernel's queue.
    pub max_connections: usize,
    /// Seconds a connection may take to send a request's headers (and body).
    pub header_timeout_secs: u64,
    /// Live MCP sessions (`initialize` handshakes) in all.
    pub max_sessions: usize,
    /// Live MCP sessions of one client name.
    pub max_sessions_per_client: usize,
    /// Seconds a session that has not called anything is kept.
    pub unused_session_secs: u64,
}

impl Default for McpHttpLimits {
    fn default() -> Self {
        McpHttpLimits {
            max_connections: 256,
            header_timeout_secs: 10,
            max_sessions: 512,
            max_sessions_per_client: 64,
            unused_session_secs: 60,
        }
    }
}

/// The `[store]` table as the layers set it. Which keys are valid depends on the
/// store backend (SQLite's `synchronous`, say), so core keeps them opaque and the
/// store factory checks them; `source` remembers which file set each key so an
/// error can name it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreOptions {
    pub table: toml::Table,
    source: BTreeMap<String, usize>,
}

impl StoreOptions {
    /// Later layers win key by key; `layer` is the index the layer's file gets in
    /// `Settings::sources`.
    fn apply(&mut self, table: toml::Table, layer: usize) {
        for (key, value) in table {
            self.source.insert(key.clone(), layer);
            self.table.insert(key, value);
        }
    }

    /// The file of `sources` that set `key`, if a file did.
    pub fn source_of<'a>(&self, key: &str, sources: &'a [PathBuf]) -> Option<&'a Path> {
        let layer = *self.source.get(key)?;
        sources.get(layer).map(PathBuf::as_path)
    }

    /// The backend's resolved options (defaults filled in), kept for display.
    pub fn resolved(mut self, table: toml::Table) -> Self {
        self.table = table;
        self
    }
}

impl Serialize for StoreOptions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.table.len()))?;
        for (key, value) in &self.table {
            map.serialize_entry(&format!("store_{key}"), value)?;
        }
        map.end()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PressureLevel {
    /// Live-context tokens that trigger compression.
    pub threshold: u64,
    /// Compress the live context to 1/target_ratio of its size.
    pub target_ratio: f64,
}

/// A `[[commands]]` entry, run with `/run NAME`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub prompt: String,
    #[serde(default)]
    pub output: CommandOutput,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommandOutput {
    #[default]
    Append,
    Replace,
}

/// Prices in USD per million tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_read: Option<f64>,
    #[serde(default)]
    pub cache_write: Option<f64>,
}

/// The resolved settings every command runs with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settings {
    #[serde(skip)]
    pub paths: Paths,
    /// The files that were read, in the order they were applied.
    pub sources: Vec<PathBuf>,
    pub model: Option<String>,
    /// `model` was set by a command-line flag (`cairn run -m`): it then also wins over
    /// the model a resumed session was using, which a configured model does not.
    #[serde(skip)]
    pub model_from_flag: bool,
    pub max_session_spending_threshold: Option<f64>,
    pub max_request_spending_threshold: Option<f64>,
    pub compression: CompressionSettings,
    pub providers: Providers,
    pub pool_ttl_secs: u64,
    /// Shown as `store_KEY` beside the other settings.
    #[serde(flatten)]
    pub store_options: StoreOptions,
    pub shell_allow: Vec<String>,
    pub commands: Vec<CommandDef>,
    pub pricing: BTreeMap<String, Price>,
    pub mcp_max_body_bytes: usize,
    /// Which layer set each setting that is not a default (dotted key → the file, or
    /// "environment"), for `config show`.
    #[serde(skip)]
    pub origins: BTreeMap<String, String>,
    /// What a project's `.cairn.toml` asked for and did not get (it may tighten the
    /// user's limits, never loosen them): each names the file, the key and why.
    #[serde(skip)]
    pub warnings: Vec<String>,
    pub mcp_http: McpHttpLimits,
    /// `[[agents]]`: named agents the model can call as `agent_<name>`.
    pub agents: Vec<AgentDef>,
    pub delegation: Delegation,
    /// `[mcp_servers.NAME]`: MCP servers whose tools the chat agent offers.
    pub mcp_servers: BTreeMap<String, McpServerDef>,
    /// `[memory]`: instruction files and the checkpoint brief a session starts with.
    pub memory: MemorySettings,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompressionSettings {
    pub hints_enabled: bool,
    pub knowledge_retention: usize,
    pub pressure_levels: Vec<PressureLevel>,
    pub model: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Providers {
    pub openai: Provider,
    pub anthropic: Provider,
    pub ollama: Provider,
    pub openrouter: Provider,
    pub gemini: Provider,
}

#[derive(Clone, Default, PartialEq, Serialize)]
pub struct Provider {
    #[serde(serialize_with = "mask_secret")]
    pub api_key: Option<String>,
    pub base_url: Option<String>,
}

// Debug output reaches logs: never let it carry a key (invariant 7).
impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("api_key", &self.api_key.as_deref().map(mask))
            .field("base_url", &self.base_url)
            .finish()
    }
}

fn mask_secret<S: serde::Serializer>(value: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(secret) => s.serialize_some(&mask(secret)),
        None => s.serialize_none(),
    }
}

/// Shows that a secret is set without showing it.
pub fn mask(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if secret.chars().count() <= 8 {
        "****".to_owned()
    } else {
        format!("****{tail}")
    }
}

pub const DEFAULT_POOL_TTL_SECS: u64 = 2 * 60 * 60;
pub const DEFAULT_KNOWLEDGE_RETENTION: usize = 10;
pub const DEFAULT_MCP_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

impl Settings {
    /// Resolve for a project from this process's environment. Flags are applied
    /// afterwards by the caller with [`Settings::apply`].
    pub fn load(paths: Paths, project: Option<&Project>) -> Result<Self, Error> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Settings::resolve(paths, project, &env)
    }

    pub fn resolve(
        paths: Paths,
        project: Option<&Project>,
        env: &[(String, String)],
    ) -> Result<Self, Error> {
        let mut settings = Settings::defaults(paths.clone());
        let user_file = paths.config_file();
        if let Some(layer) = read_layer(&user_file)? {
            settings.apply_from(layer, &user_file.display().to_string());
            settings.sources.push(user_file);
        }
        if let Some(project) = project {
            let project_file = project.path().join(PROJECT_CONFIG_FILE);
            if let Some(mut layer) = read_layer(&project_file)? {
                refuse_user_only_keys(&project_file, &layer)?;
                let refused = settings.only_tighten(&project_file, &mut layer);
                settings.warnings.extend(refused);
                settings.apply_from(layer, &project_file.display().to_string());
                settings.sources.push(project_file);
            }
        }
        settings.apply_from(env_layer(env)?, "environment");
        Ok(settings)
    }

    /// Apply a layer and remember it as the origin of every setting it changed.
    fn apply_from(&mut self, layer: SettingsLayer, origin: &str) {
        let before = flat_settings(self);
        self.apply(layer);
        for (key, value) in flat_settings(self) {
            if before.get(&key) != Some(&value) {
                self.origins.insert(key, origin.to_owned());
            }
        }
    }

    /// A project's file travels with the repository: it may lower the user's spending
    /// thresholds and body limit, never raise them, and may not set prices (zero prices
    /// would switch the spending limits off). What it may not do is taken out of
    /// `layer` and returned as warnings naming the file, the key and why.
    fn only_tighten(&self, file: &Path, layer: &mut SettingsLayer) -> Vec<String> {
        let mut refused = Vec::new();
        let mut refuse = |key: &str, why: String| {
            refused.push(format!("{}: key `{key}` ignored: {why}", file.display()));
        };
        for (key, slot, current) in [
            (
                "max_session_spending_threshold",
                &mut layer.max_session_spending_threshold,
                self.max_session_spending_threshold,
            ),
            (
                "max_request_spending_threshold",
                &mut layer.max_request_spending_threshold,
                self.max_request_spending_threshold,
            ),
        ] {
            let Some(asked) = *slot else { continue };
            let loosens =
                !asked.is_finite() || asked < 0.0 || current.is_some_and(|limit| asked > limit);
            if loosens {
                *slot = None;
                let yours = current.map_or("none".to_owned(), |l| l.to_string());
                refuse(
                    key,
                    format!(
                        "{asked} would loosen your limit ({yours}); a project may only lower it"
                    ),
                );
            }
        }
        if layer.pricing.take().is_some() {
            refuse(
                "pricing",
                "prices are set only in your own config.toml (a repository could zero them \
                 and switch the spending limits off)"
                    .to_owned(),
            );
        }
        if let Some(mcp) = &mut layer.mcp {
            // Every `[mcp]` limit bounds what clients may hold of the server: lower is
            // tighter.
            let http = &self.mcp_http;
            let raised = [
                lower_only(
                    "max_body_bytes",
                    &mut mcp.max_body_bytes,
                    self.mcp_max_body_bytes,
                ),
                lower_only(
                    "max_connections",
                    &mut mcp.max_connections,
                    http.max_connections,
                ),
                lower_only("max_sessions", &mut mcp.max_sessions, http.max_sessions),
                lower_only(
                    "max_sessions_per_client",
                    &mut mcp.max_sessions_per_client,
                    http.max_sessions_per_client,
                ),
                lower_only(
                    "header_timeout_secs",
                    &mut mcp.header_timeout_secs,
                    http.header_timeout_secs,
                ),
                lower_only(
                    "unused_session_secs",
                    &mut mcp.unused_session_secs,
                    http.unused_session_secs,
                ),
            ];
            for (key, why) in raised.into_iter().flatten() {
                refuse(&format!("mcp.{key}"), why);
            }
        }
        for agent in layer.agents.iter_mut().flatten() {
            // A repository may describe agents, not choose what they cost: they run on
            // the session's model.
            if agent.model.take().is_some() {
                refuse(
                    &format!("agents.{}.model", agent.name),
                    "an agent's model is set only in your own config.toml (a repository \
                     must not choose what you pay for); it runs on the session's model"
                        .to_owned(),
                );
            }
        }
        if let Some(d) = &mut layer.delegation {
            let raised = [
                lower_only(
                    "max_parallel",
                    &mut d.max_parallel,
                    self.delegation.max_parallel,
                ),
                lower_only("max_depth", &mut d.max_depth, self.delegation.max_depth),
            ];
            for (key, why) in raised.into_iter().flatten() {
                refuse(&format!("delegation.{key}"), why);
            }
        }
        refused
    }

    pub fn defaults(paths: Paths) -> Self {
        Settings {
            paths,
            sources: Vec::new(),
            model: None,
            model_from_flag: false,
            max_session_spending_threshold: None,
            max_request_spending_threshold: None,
            compression: CompressionSettings {
                hints_enabled: true,
                knowledge_retention: DEFAULT_KNOWLEDGE_RETENTION,
                pressure_levels: Vec::new(),
                model: None,
            },
            providers: Providers::default(),
            pool_ttl_secs: DEFAULT_POOL_TTL_SECS,
            store_options: StoreOptions::default(),
            shell_allow: Vec::new(),
            commands: Vec::new(),
            pricing: BTreeMap::new(),
            mcp_max_body_bytes: DEFAULT_MCP_MAX_BODY_BYTES,
            origins: BTreeMap::new(),
            warnings: Vec::new(),
            mcp_http: McpHttpLimits::default(),
            agents: Vec::new(),
            delegation: Delegation::default(),
            mcp_servers: BTreeMap::new(),
            memory: MemorySettings::default(),
        }
    }

    /// Overlay the command-line flags, the last layer (`cairn run -m` is `model`).
    pub fn apply_flags(&mut self, flags: SettingsLayer) {
        self.model_from_flag |= flags.model.is_some();
        self.apply(flags);
    }

    /// Overlay one layer: what it sets wins.
    pub fn apply(&mut self, layer: SettingsLayer) {
        set(&mut self.model, layer.model.map(Some));
        set(
            &mut self.max_session_spending_threshold,
            layer.max_session_spending_threshold.map(Some),
        );
        set(
            &mut self.max_request_spending_threshold,
            layer.max_request_spending_threshold.map(Some),
        );
        if let Some(c) = layer.compression {
            set(&mut self.compression.hints_enabled, c.hints_enabled);
            set(
                &mut self.compression.knowledge_retention,
                c.knowledge_retention,
            );
            set(&mut self.compression.pressure_levels, c.pressure_levels);
            set(&mut self.compression.model, c.model.map(Some));
        }
        if let Some(p) = layer.providers {
            apply_provider(&mut self.providers.openai, p.openai);
            apply_provider(&mut self.providers.anthropic, p.anthropic);
            apply_provider(&mut self.providers.ollama, p.ollama);
            apply_provider(&mut self.providers.openrouter, p.openrouter);
            apply_provider(&mut self.providers.gemini, p.gemini);
        }
        if let Some(pool) = layer.pool {
            set(&mut self.pool_ttl_secs, pool.ttl_secs);
        }
        if let Some(store) = layer.store {
            self.store_options.apply(store, self.sources.len());
        }
        if let Some(shell) = layer.shell {
            set(&mut self.shell_allow, shell.allow);
        }
        if let Some(commands) = layer.commands {
            // Later layers add commands and replace those of the same name.
            for command in commands {
                self.commands.retain(|c| c.name != command.name);
                self.commands.push(command);
            }
        }
        if let Some(pricing) = layer.pricing {
            self.pricing.extend(pricing);
        }
        if let Some(mcp) = layer.mcp {
            set(&mut self.mcp_max_body_bytes, mcp.max_body_bytes);
            let http = &mut self.mcp_http;
            set(&mut http.max_connections, mcp.max_connections);
            set(&mut http.header_timeout_secs, mcp.header_timeout_secs);
            set(&mut http.max_sessions, mcp.max_sessions);
            set(
                &mut http.max_sessions_per_client,
                mcp.max_sessions_per_client,
            );
            set(&mut http.unused_session_secs, mcp.unused_session_secs);
        }
        if let Some(agents) = layer.agents {
            // Later layers add agents and replace those of the same name.
            for agent in agents {
                self.agents.retain(|a| a.name != agent.name);
                self.agents.push(agent);
            }
        }
        if let Some(servers) = layer.mcp_servers {
            self.mcp_servers.extend(servers);
        }
        if let Some(d) = layer.delegation {
            set(&mut self.delegation.max_parallel, d.max_parallel);
            set(&mut self.delegation.max_depth, d.max_depth);
        }
        if let Some(memory) = layer.memory {
            self.memory.apply(memory);
        }
    }
}

/// The settings as dotted keys (`compression.hints_enabled`) → JSON values; lists
/// and the price table entries count as one value each.
fn flat_settings(settings: &Settings) -> BTreeMap<String, serde_json::Value> {
    fn walk(prefix: &str, value: serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>) {
        match value {
            serde_json::Value::Object(map) if prefix != "pricing" || map.is_empty() => {
                for (key, child) in map {
                    let path = if prefix.is_empty() {
                        key
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, child, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other);
            }
        }
    }
    let mut out = BTreeMap::new();
    if let Ok(value) = serde_json::to_value(settings) {
        walk("", value, &mut out);
    }
    out.remove("sources");
    out
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

fn apply_provider(slot: &mut Provider, layer: Option<ProviderLayer>) {
    if let Some(layer) = layer {
        set(&mut slot.api_key, layer.api_key.map(Some));
        set(&mut slot.base_url, layer.base_url.map(Some));
    }
}

impl std::fmt::Debug for ProviderLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderLayer")
            .field("api_key", &self.api_key.as_deref().map(mask))
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// A project's `.cairn.toml` travels with the repository, so whoever wrote it is not
/// necessarily the user: it may not redirect providers (that would send the user's API
/// keys elsewhere) nor pre-approve shell commands.
/// Takes a project's value out of `slot` when it would raise the user's `current`
/// limit, and says why.
fn lower_only<T: PartialOrd + Copy + std::fmt::Display>(
    key: &'static str,
    slot: &mut Option<T>,
    current: T,
) -> Option<(&'static str, String)> {
    let asked = (*slot).filter(|asked| *asked > current)?;
    *slot = None;
    Some((
        key,
        format!("{asked} would raise your limit ({current}); a project may only lower it"),
    ))
}

fn refuse_user_only_keys(path: &Path, layer: &SettingsLayer) -> Result<(), Error> {
    let offending = [
        ("providers", layer.providers.is_some()),
        ("shell", layer.shell.is_some()),
        ("store", layer.store.is_some()),
        ("mcp_servers", layer.mcp_servers.is_some()),
    ];
    for (key, present) in offending {
        if !present {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let line = text
            .lines()
            .position(|l| {
                let l = l.trim_start();
                l.starts_with(&format!("[{key}")) || l.starts_with(&format!("{key}."))
            })
            .map(|i| format!("line {}, ", i + 1))
            .unwrap_or_default();
        return Err(Error::Config {
            path: path.to_path_buf(),
            message: format!(
                "{line}key `{key}`: only allowed in your own config.toml, not in a project's \
                 {PROJECT_CONFIG_FILE} (a repository must not redirect your API keys or \
                 your store, weaken its durability, pre-approve shell commands or start \
                 programs)"
            ),
        });
    }
    Ok(())
}

/// Read and check one settings file; `None` when it does not exist.
pub fn read_layer(path: &Path) -> Result<Option<SettingsLayer>, Error> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    let layer = parse_layer(&text).map_err(|message| Error::Config {
        path: path.to_path_buf(),
        message,
    })?;
    if let Some(agents) = &layer.agents {
        check_agents(agents).map_err(|message| Error::Config {
            path: path.to_path_buf(),
            message,
        })?;
    }
    for (name, server) in layer.mcp_servers.iter().flatten() {
        server.check(name).map_err(|message| Error::Config {
            path: path.to_path_buf(),
            message,
        })?;
    }
    if let Some(memory) = &layer.memory {
        memory.check().map_err(|message| Error::Config {
            path: path.to_path_buf(),
            message,
        })?;
    }
    if let Some(d) = &layer.delegation
        && d.max_parallel == Some(0)
    {
        return Err(Error::Config {
            path: path.to_path_buf(),
            message: "delegation.max_parallel must be at least 1".to_owned(),
        });
    }
    Ok(Some(layer))
}

/// Parse settings text; the error names the line, column and key.
pub fn parse_layer(text: &str) -> Result<SettingsLayer, String> {
    toml::from_str::<SettingsLayer>(text).map_err(|e| {
        let position = e.span().map(|span| line_col(text, span.start));
        let message = e.message().trim().to_owned();
        match position {
            Some((line, col)) => {
                let key = key_at(text, line);
                match key {
                    Some(key) => format!("line {line}, column {col}, key `{key}`: {message}"),
                    None => format!("line {line}, column {col}: {message}"),
                }
            }
            None => message,
        }
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The key written on a line (`key = value`), for error messages.
fn key_at(text: &str, line: usize) -> Option<String> {
    let raw = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = raw.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()).then(|| key.to_owned())
}

/// The `CAIRN_*` environment overrides. A bad value names the variable.
fn env_layer(env: &[(String, String)]) -> Result<SettingsLayer, Error> {
    let mut layer = SettingsLayer::default();
    let get = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let number = |name: &str| -> Result<Option<f64>, Error> {
        get(name)
            .map(|raw| {
                raw.trim().parse::<f64>().map_err(|_| {
                    Error::invalid(format!(
                        "environment variable {name}: {raw:?} is not a number"
                    ))
                })
            })
            .transpose()
    };
    layer.model = get("CAIRN_MODEL").map(str::to_owned);
    layer.max_session_spending_threshold = number("CAIRN_MAX_SESSION_SPENDING_THRESHOLD")?;
    layer.max_request_spending_threshold = number("CAIRN_MAX_REQUEST_SPENDING_THRESHOLD")?;
    if let Some(ttl) = number("CAIRN_POOL_TTL_SECS")? {
        layer.pool = Some(PoolLayer {
            ttl_secs: Some(ttl.max(0.0) as u64),
        });
    }
    let provider = |key: &str, url: &str| {
        let api_key = get(key).filter(|v| !v.is_empty()).map(str::to_owned);
        let base_url = get(url).filter(|v| !v.is_empty()).map(str::to_owned);
        (api_key.is_some() || base_url.is_some()).then_some(ProviderLayer { api_key, base_url })
    };
    layer.providers = Some(ProvidersLayer {
        openai: provider(env_vars::OPENAI_API_KEY, env_vars::OPENAI_BASE_URL),
        anthropic: provider(env_vars::ANTHROPIC_API_KEY, env_vars::ANTHROPIC_BASE_URL),
        ollama: provider("CAIRN_OLLAMA_API_KEY_UNUSED", env_vars::OLLAMA_BASE_URL),
        openrouter: provider(env_vars::OPENROUTER_API_KEY, env_vars::OPENROUTER_BASE_URL),
        // As Google's SDKs: GOOGLE_API_KEY wins over GEMINI_API_KEY when both are set.
        gemini: provider(env_vars::GOOGLE_API_KEY, env_vars::GEMINI_BASE_URL)
            .filter(|layer| layer.api_key.is_some())
            .or_else(|| provider(env_vars::GEMINI_API_KEY, env_vars::GEMINI_BASE_URL)),
    });
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_key_from_either_variable_google_wins() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let gemini = |pairs: &[(&str, &str)]| {
            env_layer(&env(pairs))
                .unwrap()
                .providers
                .and_then(|p| p.gemini)
                .map(|p| (p.api_key, p.base_url))
        };
        assert_eq!(
            gemini(&[("GEMINI_API_KEY", "g")]),
            Some((Some("g".into()), None))
        );
        assert_eq!(
            gemini(&[("GEMINI_API_KEY", "g"), ("GOOGLE_API_KEY", "o")]),
            Some((Some("o".into()), None))
        );
        assert_eq!(
            gemini(&[("GEMINI_BASE_URL", "http://x"), ("GOOGLE_API_KEY", "o")]),
            Some((Some("o".into()), Some("http://x".into())))
        );
        assert_eq!(
            gemini(&[("GEMINI_BASE_URL", "http://x")]),
            Some((None, Some("http://x".into())))
        );
        assert_eq!(gemini(&[]), None);
    }

    #[test]
    fn design_keys_parse() {
        let layer = parse_layer(
            r#"
max_session_spending_threshold = 10.0
max_request_spending_threshold = 1.0

[compression]
hints_enabled = true
knowledge_retention = 10

[[compression.pressure_levels]]
threshold = 50000
target_ratio = 2.0
"#,
        )
        .unwrap();
        assert_eq!(layer.max_session_spending_threshold, Some(10.0));
        let levels = layer.compression.unwrap().pressure_levels.unwrap();
        assert_eq!(levels[0].threshold, 50000);
    }

    #[test]
    fn errors_name_line_and_key() {
        let err =
            parse_layer("model = \"x\"\nmax_session_spending_threshold = \"ten\"\n").unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("max_session_spending_threshold"), "{err}");
        let err = parse_layer("modle = \"x\"\n").unwrap_err();
        assert!(err.contains("line 1") && err.contains("modle"), "{err}");
        let err = parse_layer("model = \n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn layers_override_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::at(tmp.path());
        std::fs::write(paths.config_file(), "model = \"openai:gpt-4.1\"\n").unwrap();
        let project_dir = tmp.path().join("proj");
        std::fs::create_dir_all(&project_dir).unwrap();
        std::fs::write(
            project_dir.join(PROJECT_CONFIG_FILE),
            "model = \"anthropic:claude-sonnet-4-5\"\n[pool]\nttl_secs = 60\n",
        )
        .unwrap();
        let project = Project::detect(&project_dir).unwrap();
        let s = Settings::resolve(paths.clone(), Some(&project), &[]).unwrap();
        assert_eq!(s.model.as_deref(), Some("anthropic:claude-sonnet-4-5"));
        assert_eq!(s.pool_ttl_secs, 60);
        assert_eq!(s.sources.len(), 2);
        let env = vec![("CAIRN_MODEL".to_owned(), "ollama:qwen".to_owned())];
        let mut s = Settings::resolve(paths, Some(&project), &env).unwrap();
        assert_eq!(s.model.as_deref(), Some("ollama:qwen"));
        assert!(!s.model_from_flag, "a configured model is not a flag");
        // Flags are the last layer: they win, and say so; a flag layer without a
        // model leaves the configured one as it was.
        s.apply_flags(SettingsLayer::default());
        assert_eq!(
            (s.model.as_deref(), s.model_from_flag),
            (Some("ollama:qwen"), false)
        );
        s.apply_flags(SettingsLayer {
            model: Some("openai:gpt-4.1".into()),
            ..SettingsLayer::default()
        });
        assert_eq!(
            (s.model.as_deref(), s.model_from_flag),
            (Some("openai:gpt-4.1"), true)
        );
    }

    #[test]
    fn project_file_may_not_redirect_providers_or_store_or_allow_shell() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::at(tmp.path());
        let project_dir = tmp.path().join("cloned");
        std::fs::create_dir_all(&project_dir).unwrap();
        let project = Project::detect(&project_dir).unwrap();
        for (text, key, line) in [
            (
                "model = \"x\"\n[providers.openai]\nbase_url = \"http://evil\"\n",
                "providers",
                2,
            ),
            ("[shell]\nallow = [\"rm -rf /\"]\n", "shell", 1),
            (
                "model = \"x\"\n[mcp_servers.evil]\ncommand = \"sh\"\n",
                "mcp_servers",
                2,
            ),
            (
                "model = \"x\"\n\n[store]\nsynchronous = \"off\"\n",
                "store",
                3,
            ),
        ] {
            std::fs::write(project_dir.join(PROJECT_CONFIG_FILE), text).unwrap();
            let err = Settings::resolve(paths.clone(), Some(&project), &[])
                .unwrap_err()
                .to_string();
            assert!(err.contains(PROJECT_CONFIG_FILE), "{err}");
            assert!(err.contains(&format!("line {line}")), "{err}");
            assert!(err.contains(&format!("`{key}`")), "{err}");
        }
        // The same keys are fine in the user's own file.
        std::fs::remove_file(project_dir.join(PROJECT_CONFIG_FILE)).unwrap();
        std::fs::write(paths.config_file(), "[shell]\nallow = [\"cargo test\"]\n").unwrap();
        let s = Settings::resolve(paths, Some(&project), &[]).unwrap();
        assert_eq!(s.shell_allow, vec!["cargo test".to_owned()]);
    }

    #[test]
    fn project_file_may_tighten_limits_but_not_loosen_them() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::at(tmp.path());
        std::fs::write(
            paths.config_file(),
            "max_session_spending_threshold = 5.0\n\
             [pricing.\"openai:gpt-4.1\"]\ninput = 2.0\noutput = 8.0\n",
        )
        .unwrap();
        let project_dir = tmp.path().join("cloned");
        std::fs::create_dir_all(&project_dir).unwrap();
        let project = Project::detect(&project_dir).unwrap();
        let project_file = project_dir.join(PROJECT_CONFIG_FILE);
        std::fs::write(
            &project_file,
            "max_session_spending_threshold = 1000.0\n\
             max_request_spending_threshold = -1.0\n\
             [pricing.\"openai:gpt-4.1\"]\ninput = 0.0\noutput = 0.0\n\
             [mcp]\nmax_body_bytes = 999999999999\nmax_sessions = 100000\n\
             unused_session_secs = 86400\n",
        )
        .unwrap();
        let s = Settings::resolve(paths.clone(), Some(&project), &[]).unwrap();
        assert_eq!(s.max_session_spending_threshold, Some(5.0));
        assert_eq!(s.max_request_spending_threshold, None);
        assert_eq!(s.pricing["openai:gpt-4.1"].input, 2.0);
        assert_eq!(s.mcp_max_body_bytes, DEFAULT_MCP_MAX_BODY_BYTES);
        assert_eq!(s.mcp_http, McpHttpLimits::default());
        let shown = project_file.display().to_string();
        for key in [
            "`max_session_spending_threshold`",
            "`max_request_spending_threshold`",
            "`pricing`",
            "`mcp.max_body_bytes`",
            "`mcp.max_sessions`",
            "`mcp.unused_session_secs`",
        ] {
            assert!(
                s.warnings
                    .iter()
                    .any(|w| w.contains(key) && w.contains(&shown)),
                "{key} not reported: {:?}",
                s.warnings
            );
        }
        let user = paths.config_file().display().to_string();
        assert_eq!(s.origins["max_session_spending_threshold"], user);
        assert_eq!(s.origins["pricing"], user);

        // Lowering is allowed, and the project file is named as the layer that won.
        std::fs::write(
            &project_file,
            "max_session_spending_threshold = 1.5\n[mcp]\nmax_body_bytes = 1024\n",
        )
        .unwrap();
        let s = Settings::resolve(paths, Some(&project), &[]).unwrap();
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        assert_eq!(s.max_session_spending_threshold, Some(1.5));
        assert_eq!(s.mcp_max_body_bytes, 1024);
        assert_eq!(s.origins["max_session_spending_threshold"], shown);
        assert_eq!(s.origins["mcp_max_body_bytes"], shown);
    }

    #[test]
    fn agents_merge_by_name_and_a_project_may_not_pick_their_model_or_loosen_delegation() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::at(tmp.path());
        std::fs::write(
            paths.config_file(),
            "[[agents]]\nname = \"reviewer\"\nmodel = \"openai:gpt-4.1\"\nmax_turns = 5\n\
             [delegation]\nmax_parallel = 3\n",
        )
        .unwrap();
        let project_dir = tmp.path().join("cloned");
        std::fs::create_dir_all(&project_dir).unwrap();
        let project = Project::detect(&project_dir).unwrap();
        let project_file = project_dir.join(PROJECT_CONFIG_FILE);
        std::fs::write(
            &project_file,
            "[[agents]]\nname = \"docs\"\nmodel = \"openai:o1-pro\"\n\
             tools = [\"read_file\"]\n\
             [delegation]\nmax_parallel = 64\nmax_depth = 1\n",
        )
        .unwrap();
        let s = Settings::resolve(paths.clone(), Some(&project), &[]).unwrap();
        let names: Vec<&str> = s.agents.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["reviewer", "docs"]);
        assert_eq!(s.agents[0].model.as_deref(), Some("openai:gpt-4.1"));
        assert_eq!(s.agents[1].model, None, "a project chose the model");
        assert_eq!(s.delegation.max_parallel, 3);
        assert_eq!(s.delegation.max_depth, 1, "lowering is allowed");
        for key in ["`agents.docs.model`", "`delegation.max_parallel`"] {
            assert!(
                s.warnings.iter().any(|w| w.contains(key)),
                "{key} not reported: {:?}",
                s.warnings
            );
        }
        // A bad entry names the file and the agent.
        std::fs::write(&project_file, "[[agents]]\nname = \"Bad Name\"\n").unwrap();
        let err = Settings::resolve(paths, Some(&project), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(PROJECT_CONFIG_FILE) && err.contains("Bad Name"),
            "{err}"
        );
    }

    #[test]
    fn config_error_names_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::at(tmp.path());
        std::fs::write(paths.config_file(), "[compression\n").unwrap();
        let err = Settings::resolve(paths.clone(), None, &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config.toml") && err.contains("line 1"),
            "{err}"
        );
    }

    #[test]
    fn secrets_are_masked_when_shown() {
        let mut s = Settings::defaults(Paths::at(Path::new("/tmp")));
        s.providers.openai.api_key = Some("sk-very-secret-123456".into());
        let shown = serde_json::to_string(&s).unwrap();
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("****3456"), "{shown}");
        let debugged = format!("{s:?}");
        assert!(!debugged.contains("very-secret"), "{debugged}");
    }
}
