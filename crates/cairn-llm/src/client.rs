//! The entry point: providers configured from settings, chosen by model name.

use std::sync::Arc;
use std::time::Duration;

use cairn_core::env_vars;
use cairn_core::settings::{Provider, Providers, Settings};

use crate::anthropic::AnthropicProvider;
use crate::gemini::GeminiProvider;
use crate::gemini_files::UploadCache;
use crate::openai::OpenAiProvider;
use crate::{
    Capabilities, ChatProvider, ChatRequest, ChatStream, ErrorKind, LlmError, ModelRef,
    ProviderKind, RetryPolicy,
};

pub(crate) const OPENAI_DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub(crate) const ANTHROPIC_DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub(crate) const OLLAMA_DEFAULT_BASE_URL: &str = "http://127.0.0.1:11434/v1";
pub(crate) const OPENROUTER_DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";
pub(crate) const GEMINI_DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// How long to wait at each stage of a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// From sending the request to the response headers (the model may think first).
    pub first_byte: Duration,
    /// Longest silence between two chunks of a started stream.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(300),
            idle: Duration::from_secs(120),
        }
    }
}

/// Knobs shared by every provider of a client.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientOptions {
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
}

/// The configured providers. Cheap to clone (shares one connection pool).
#[derive(Clone)]
pub struct LlmClient {
    providers: Providers,
    options: ClientOptions,
    http: reqwest::Client,
    /// Files already uploaded to Gemini's Files API (large images and videos).
    gemini_uploads: UploadCache,
}

impl std::fmt::Debug for LlmClient {
    // Hand-written so a key can never reach a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("configured", &self.configured())
            .field("options", &self.options)
            .finish()
    }
}

impl LlmClient {
    /// Providers from resolved settings (environment and config files already
    /// merged by `cairn_core::settings`), default options.
    pub fn from_settings(settings: &Settings) -> Result<Self, LlmError> {
        LlmClient::new(settings.providers.clone(), ClientOptions::default())
    }

    pub fn new(providers: Providers, options: ClientOptions) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.timeouts.connect)
            .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                LlmError::new(
                    ErrorKind::Network,
                    "",
                    format!("cannot set up the HTTP client: {e}"),
                )
            })?;
        Ok(LlmClient {
            providers,
            options,
            http,
            gemini_uploads: UploadCache::default(),
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Providers that can be used as configured: those with a key or a base URL,
    /// and Ollama always (it is local and needs no key).
    pub fn configured(&self) -> Vec<ProviderKind> {
        ProviderKind::ALL
            .into_iter()
            .filter(|k| self.endpoint(*k).is_ok())
            .collect()
    }

    /// The model to use when none was chosen: Anthropic's or OpenAI's flagship when
    /// its key is set; otherwise a [`ErrorKind::NotConfigured`] error saying what to set.
    pub fn default_model(&self) -> Result<ModelRef, LlmError> {
        let has_key = |p: &Provider| p.api_key.is_some();
        if has_key(&self.providers.anthropic) {
            return Ok(ModelRef::new(ProviderKind::Anthropic, "claude-sonnet-4-5"));
        }
        if has_key(&self.providers.openai) || self.providers.openai.base_url.is_some() {
            return Ok(ModelRef::new(ProviderKind::OpenAi, "gpt-4.1"));
        }
        if has_key(&self.providers.gemini) {
            return Ok(ModelRef::new(ProviderKind::Gemini, "gemini-2.5-pro"));
        }
        Err(LlmError::new(
            ErrorKind::NotConfigured,
            "",
            format!(
                "no model provider is configured. Set {}, {} or {} (or put api_key under \
                 [providers.anthropic] / [providers.openai] / [providers.gemini] in \
                 config.toml), set {} for an OpenAI-compatible server, or choose a local \
                 model with -m ollama:MODEL",
                env_vars::ANTHROPIC_API_KEY,
                env_vars::OPENAI_API_KEY,
                env_vars::GEMINI_API_KEY,
                env_vars::OPENAI_BASE_URL
            ),
        ))
    }

    /// Parse `provider:model` and check its provider is configured (for `-m` and
    /// `/model`, before anything is sent).
    pub fn resolve(&self, model: &str) -> Result<ModelRef, LlmError> {
        let model = ModelRef::parse(model)?;
        self.endpoint(model.provider)?;
        Ok(model)
    }

    /// The adapter for a provider, or why it cannot be used.
    pub fn provider(&self, kind: ProviderKind) -> Result<Arc<dyn ChatProvider>, LlmError> {
        let endpoint = self.endpoint(kind)?;
        Ok(match kind {
            ProviderKind::Anthropic => Arc::new(AnthropicProvider::new(
                self.http.clone(),
                endpoint,
                self.options.clone(),
            )),
            ProviderKind::Gemini => Arc::new(GeminiProvider::new(
                self.http.clone(),
                endpoint,
                self.options.clone(),
                self.gemini_uploads.clone(),
            )),
            _ => Arc::new(OpenAiProvider::new(
                kind,
                self.http.clone(),
                endpoint,
                self.options.clone(),
            )),
        })
    }

    /// What the provider of `model` accepts (images, video).
    pub fn capabilities(&self, model: &ModelRef) -> Result<Capabilities, LlmError> {
        Ok(self.provider(model.provider)?.capabilities())
    }

    /// Send one turn to the provider named by `request.model` and stream the answer.
    /// Configuration errors come out as the stream's single `Err` item.
    pub fn stream(&self, request: ChatRequest) -> ChatStream {
        let resolved = ModelRef::parse(&request.model)
            .and_then(|model| Ok((self.provider(model.provider)?, model)));
        match resolved {
            Ok((provider, model)) => provider.stream(&model, request),
            Err(error) => ChatStream::failed(error),
        }
    }

    /// Send one turn and wait for the whole answer.
    pub async fn complete(&self, request: ChatRequest) -> Result<crate::ChatResponse, LlmError> {
        self.stream(request).into_response().await
    }

    fn endpoint(&self, kind: ProviderKind) -> Result<Endpoint, LlmError> {
        let (settings, default_url, key_var, url_var) = match kind {
            ProviderKind::OpenAi => (
                &self.providers.openai,
                OPENAI_DEFAULT_BASE_URL,
                env_vars::OPENAI_API_KEY,
                env_vars::OPENAI_BASE_URL,
            ),
            ProviderKind::Anthropic => (
                &self.providers.anthropic,
                ANTHROPIC_DEFAULT_BASE_URL,
                env_vars::ANTHROPIC_API_KEY,
                env_vars::ANTHROPIC_BASE_URL,
            ),
            ProviderKind::Ollama => (
                &self.providers.ollama,
                OLLAMA_DEFAULT_BASE_URL,
                "",
                env_vars::OLLAMA_BASE_URL,
            ),
            ProviderKind::OpenRouter => (
                &self.providers.openrouter,
                OPENROUTER_DEFAULT_BASE_URL,
                env_vars::OPENROUTER_API_KEY,
                env_vars::OPENROUTER_BASE_URL,
            ),
            ProviderKind::Gemini => (
                &self.providers.gemini,
                GEMINI_DEFAULT_BASE_URL,
                env_vars::GEMINI_API_KEY,
                env_vars::GEMINI_BASE_URL,
            ),
        };
        let api_key = settings.api_key.clone().filter(|k| !k.trim().is_empty());
        let custom_url = settings
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        // A custom base URL without a key is a local server (llama.cpp, vLLM, LM
        // Studio, Ollama): allowed. The public endpoints need a key.
        if api_key.is_none() && custom_url.is_none() && kind != ProviderKind::Ollama {
            let name = kind.as_str();
            return Err(LlmError::new(
                ErrorKind::NotConfigured,
                name,
                format!(
                    "provider {name} is not configured: set {key_var} (or api_key under \
                     [providers.{name}] in config.toml), or {url_var} / base_url under \
                     [providers.{name}] for a compatible server"
                ),
            ));
        }
        let base_url = custom_url
            .unwrap_or(default_url)
            .trim_end_matches('/')
            .to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(LlmError::new(
                ErrorKind::NotConfigured,
                kind.as_str(),
                format!(
                    "base URL {base_url:?} for provider {kind} must start with http:// or \
                     https:// (set by {url_var} or base_url under [providers.{kind}])"
                ),
            ));
        }
        Ok(Endpoint {
            base_url,
            api_key,
            key_hint: if key_var.is_empty() {
                format!("[providers.{kind}] api_key")
            } else if kind == ProviderKind::Gemini {
                format!(
                    "{key_var} or {} (which wins when both are set) or [providers.{kind}] \
                     api_key",
                    env_vars::GOOGLE_API_KEY
                )
            } else {
                format!("{key_var} or [providers.{kind}] api_key")
            },
        })
    }
}

/// One provider as configured, for `cairn doctor`: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderCheck {
    pub kind: ProviderKind,
    /// The base URL requests would go to; `None` when the provider is not usable.
    pub base_url: Option<String>,
    pub key_present: bool,
    /// Why the provider cannot be used (not configured, a bad base URL).
    pub problem: Option<String>,
}

impl LlmClient {
    /// Every provider, as a request to it would be made now.
    pub fn provider_checks(&self) -> Vec<ProviderCheck> {
        ProviderKind::ALL
            .into_iter()
            .map(|kind| match self.endpoint(kind) {
                Ok(endpoint) => ProviderCheck {
                    kind,
                    base_url: Some(endpoint.base_url),
                    key_present: endpoint.api_key.is_some(),
                    problem: None,
                },
                Err(e) => ProviderCheck {
                    kind,
                    base_url: None,
                    key_present: false,
                    problem: Some(e.message),
                },
            })
            .collect()
    }
}

/// Where and how to reach one provider.
#[derive(Clone)]
pub(crate) struct Endpoint {
    /// Without a trailing slash.
    pub base_url: String,
    pub api_key: Option<String>,
    /// What to tell a person whose key was refused.
    pub key_hint: String,
}
