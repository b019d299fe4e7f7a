//! Model names: `provider:model`.

use std::fmt;
use std::str::FromStr;

use crate::LlmError;

/// Which wire format and which endpoint family a model is reached through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// api.openai.com, or any OpenAI-compatible server set with `OPENAI_BASE_URL` /
    /// `[providers.openai] base_url` (llama.cpp, vLLM, LM Studio, …).
    OpenAi,
    /// OpenRouter's OpenAI-compatible endpoint (`OPENROUTER_API_KEY`).
    OpenRouter,
    /// A local Ollama through its OpenAI-compatible endpoint
    /// (`OLLAMA_BASE_URL`, default `http://127.0.0.1:11434/v1`); no key needed.
    Ollama,
    /// Anthropic Messages.
    Anthropic,
    /// Google's Gemini API (`generativelanguage.googleapis.com`, `GEMINI_API_KEY`).
    Gemini,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 5] = [
        ProviderKind::OpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Ollama,
        ProviderKind::OpenRouter,
        ProviderKind::Gemini,
    ];

    /// The prefix used in model names (`openai`, `anthropic`, `ollama`, `openrouter`,
    /// `gemini`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::OpenRouter => "openrouter",
            ProviderKind::Ollama => "ollama",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
        }
    }

    pub fn parse(raw: &str) -> Option<ProviderKind> {
        ProviderKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// True for providers that speak OpenAI chat completions.
    pub fn is_openai_compatible(&self) -> bool {
        !matches!(self, ProviderKind::Anthropic | ProviderKind::Gemini)
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed `provider:model` name, e.g. `openai:gpt-4.1`, `anthropic:claude-sonnet-4-5`,
/// `ollama:qwen2.5-coder:7b` (everything after the first `:` is the model, so Ollama
/// tags keep their colon).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModelRef {
    pub provider: ProviderKind,
    /// The model id as the provider knows it.
    pub model: String,
}

impl ModelRef {
    pub fn new(provider: ProviderKind, model: impl Into<String>) -> Self {
        ModelRef {
            provider,
            model: model.into(),
        }
    }

    /// Parse `provider:model`; the error says the rule and lists the providers.
    pub fn parse(raw: &str) -> Result<ModelRef, LlmError> {
        let raw = raw.trim();
        let known = || {
            ProviderKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let Some((provider, model)) = raw.split_once(':') else {
            return Err(LlmError::invalid_model(format!(
                "model {raw:?} must be written provider:model, e.g. openai:gpt-4.1 or \
                 anthropic:claude-sonnet-4-5 (providers: {})",
                known()
            )));
        };
        let Some(kind) = ProviderKind::parse(provider) else {
            return Err(LlmError::invalid_model(format!(
                "unknown provider {provider:?} in model {raw:?}; known providers: {} \
                 (any OpenAI-compatible server works as openai: with OPENAI_BASE_URL)",
                known()
            )));
        };
        if model.trim().is_empty() {
            return Err(LlmError::invalid_model(format!(
                "model {raw:?} names no model after \"{provider}:\""
            )));
        }
        Ok(ModelRef::new(kind, model))
    }
}

impl FromStr for ModelRef {
    type Err = LlmError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelRef::parse(s)
    }
}

/// Written as its name, `provider:model`, as in `--json` output and stored sessions.
impl serde::Serialize for ModelRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_provider_and_model() {
        let m = ModelRef::parse("openai:gpt-4.1").unwrap();
        assert_eq!(m.provider, ProviderKind::OpenAi);
        assert_eq!(m.model, "gpt-4.1");
        let m = ModelRef::parse("ollama:qwen2.5-coder:7b").unwrap();
        assert_eq!(m.provider, ProviderKind::Ollama);
        assert_eq!(m.model, "qwen2.5-coder:7b");
        assert_eq!(m.to_string(), "ollama:qwen2.5-coder:7b");
    }

    #[test]
    fn bad_names_say_the_rule() {
        let err = ModelRef::parse("gpt-4.1").unwrap_err().to_string();
        assert!(err.contains("provider:model"), "{err}");
        let err = ModelRef::parse("mistral:large").unwrap_err().to_string();
        assert!(
            err.contains("unknown provider") && err.contains("anthropic"),
            "{err}"
        );
        assert!(ModelRef::parse("openai:").is_err());
    }
}
