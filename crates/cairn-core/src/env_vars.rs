//! Every environment variable cairn reads, named once.

/// Moves every file cairn owns: config, store, attachments.
pub const CAIRN_HOME: &str = "CAIRN_HOME";
/// Prefix of the settings overrides (`CAIRN_MODEL`, `CAIRN_POOL_TTL_SECS`, …).
pub const CAIRN_PREFIX: &str = "CAIRN_";
/// The store to use (a URL), over `[store] url` of the config; `--store` wins.
pub const CAIRN_STORE_URL: &str = "CAIRN_STORE_URL";
/// Overrides the pool instance id of an MCP connection.
pub const CAIRN_INSTANCE: &str = "CAIRN_INSTANCE";
/// Bearer token for network faces.
pub const CAIRN_TOKEN: &str = "CAIRN_TOKEN";
/// Log filter (tracing-subscriber syntax); logs go to stderr.
pub const CAIRN_LOG: &str = "CAIRN_LOG";
pub const OPENAI_API_KEY: &str = "OPENAI_API_KEY";
pub const OPENAI_BASE_URL: &str = "OPENAI_BASE_URL";
pub const ANTHROPIC_API_KEY: &str = "ANTHROPIC_API_KEY";
pub const ANTHROPIC_BASE_URL: &str = "ANTHROPIC_BASE_URL";
pub const OLLAMA_BASE_URL: &str = "OLLAMA_BASE_URL";
pub const OPENROUTER_API_KEY: &str = "OPENROUTER_API_KEY";
pub const OPENROUTER_BASE_URL: &str = "OPENROUTER_BASE_URL";
/// Google's SDKs read GEMINI_API_KEY or GOOGLE_API_KEY; when both are set,
/// GOOGLE_API_KEY wins (ai.google.dev/gemini-api/docs/api-key). cairn does the same.
pub const GEMINI_API_KEY: &str = "GEMINI_API_KEY";
pub const GOOGLE_API_KEY: &str = "GOOGLE_API_KEY";
pub const GEMINI_BASE_URL: &str = "GEMINI_BASE_URL";
pub const NO_COLOR: &str = "NO_COLOR";
/// Claude Code's configuration folder (its transcripts are in `projects/` below it).
pub const CLAUDE_CONFIG_DIR: &str = "CLAUDE_CONFIG_DIR";
/// Codex's home folder (rollouts in `sessions/` and `archived_sessions/`).
pub const CODEX_HOME: &str = "CODEX_HOME";
