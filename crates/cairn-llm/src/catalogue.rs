//! The model catalogue: what cairn knows about models, in one place. For a [`ModelRef`]
//! (parsed once, where the name enters cairn) it gives the tokenizer its text is
//! counted with ([`ModelRef::token_counter`]), its context window
//! ([`ModelRef::context_window`]) and, through [`crate::PriceTable`], its list price.
//!
//! cairn-core counts tokens but does not read model names: it takes the
//! [`TokenCounter`] this catalogue chooses.

use cairn_core::tokens::{Method, TokenCounter};

use crate::pricing::ModelPrice;
use crate::{ModelRef, ProviderKind};

/// Built-in list prices (USD / 1M tokens): model id, input, output, cache read,
/// cache write (`None`: the provider does not charge cache writes separately).
pub(crate) const PRICES: &[(&str, ModelPrice)] = &[
    // OpenAI: cached input is billed at the cache-read price; no cache-write charge.
    ("openai:gpt-5.2", ModelPrice::new(1.75, 14.0, 0.175, None)),
    ("openai:gpt-5.1", ModelPrice::new(1.25, 10.0, 0.125, None)),
    (
        "openai:gpt-5.1-codex",
        ModelPrice::new(1.25, 10.0, 0.125, None),
    ),
    (
        "openai:gpt-5.1-codex-mini",
        ModelPrice::new(0.25, 2.0, 0.025, None),
    ),
    ("openai:gpt-5", ModelPrice::new(1.25, 10.0, 0.125, None)),
    (
        "openai:gpt-5-codex",
        ModelPrice::new(1.25, 10.0, 0.125, None),
    ),
    ("openai:gpt-5-mini", ModelPrice::new(0.25, 2.0, 0.025, None)),
    (
        "openai:gpt-5-nano",
        ModelPrice::new(0.05, 0.40, 0.005, None),
    ),
    ("openai:gpt-4.1", ModelPrice::new(2.0, 8.0, 0.50, None)),
    (
        "openai:gpt-4.1-mini",
        ModelPrice::new(0.40, 1.60, 0.10, None),
    ),
    (
        "openai:gpt-4.1-nano",
        ModelPrice::new(0.10, 0.40, 0.025, None),
    ),
    ("openai:gpt-4o", ModelPrice::new(2.50, 10.0, 1.25, None)),
    (
        "openai:gpt-4o-mini",
        ModelPrice::new(0.15, 0.60, 0.075, None),
    ),
    ("openai:o3", ModelPrice::new(2.0, 8.0, 0.50, None)),
    ("openai:o3-mini", ModelPrice::new(1.10, 4.40, 0.55, None)),
    ("openai:o4-mini", ModelPrice::new(1.10, 4.40, 0.275, None)),
    ("openai:o1", ModelPrice::new(15.0, 60.0, 7.50, None)),
    ("openai:codex-mini", ModelPrice::new(1.50, 6.0, 0.375, None)),
    // Anthropic: cache read 0.1× input, cache write (5 min) 1.25× input.
    (
        "anthropic:claude-opus-4-5",
        ModelPrice::new(5.0, 25.0, 0.50, Some(6.25)),
    ),
    (
        "anthropic:claude-opus-4-1",
        ModelPrice::new(15.0, 75.0, 1.50, Some(18.75)),
    ),
    (
        "anthropic:claude-opus-4",
        ModelPrice::new(15.0, 75.0, 1.50, Some(18.75)),
    ),
    (
        "anthropic:claude-opus-4-0",
        ModelPrice::new(15.0, 75.0, 1.50, Some(18.75)),
    ),
    (
        "anthropic:claude-sonnet-4-5",
        ModelPrice::new(3.0, 15.0, 0.30, Some(3.75)),
    ),
    (
        "anthropic:claude-sonnet-4",
        ModelPrice::new(3.0, 15.0, 0.30, Some(3.75)),
    ),
    (
        "anthropic:claude-sonnet-4-0",
        ModelPrice::new(3.0, 15.0, 0.30, Some(3.75)),
    ),
    (
        "anthropic:claude-3-7-sonnet",
        ModelPrice::new(3.0, 15.0, 0.30, Some(3.75)),
    ),
    (
        "anthropic:claude-haiku-4-5",
        ModelPrice::new(1.0, 5.0, 0.10, Some(1.25)),
    ),
    (
        "anthropic:claude-3-5-haiku",
        ModelPrice::new(0.80, 4.0, 0.08, Some(1.0)),
    ),
    (
        "anthropic:claude-3-haiku",
        ModelPrice::new(0.25, 1.25, 0.03, Some(0.30)),
    ),
    // Gemini (ai.google.dev/gemini-api/docs/pricing, standard paid tier, text/image/
    // video input; as listed 2026-12-06): implicit caching bills cached input at the
    // cache price (storage of explicit caches is not modelled); no cache-write charge.
    // Pro models bill every token of a request at a higher rate once the prompt
    // exceeds 200k tokens.
    (
        "gemini:gemini-3-pro-preview",
        ModelPrice::new(2.0, 12.0, 0.20, None).above(200_000, 4.0, 18.0, 0.40),
    ),
    (
        "gemini:gemini-3-flash-preview",
        ModelPrice::new(0.50, 3.0, 0.05, None),
    ),
    (
        "gemini:gemini-2.5-pro",
        ModelPrice::new(1.25, 10.0, 0.125, None).above(200_000, 2.50, 15.0, 0.25),
    ),
    (
        "gemini:gemini-2.5-flash",
        ModelPrice::new(0.30, 2.50, 0.03, None),
    ),
    (
        "gemini:gemini-2.5-flash-lite",
        ModelPrice::new(0.10, 0.40, 0.01, None),
    ),
    (
        "gemini:gemini-2.0-flash",
        ModelPrice::new(0.10, 0.40, 0.025, None),
    ),
];

/// Context windows (tokens) by model-name prefix, first match wins. Dated snapshots and
/// `-latest` aliases count as their base model; unknown models have none (`/info`
/// says so rather than guess).
const CONTEXT_WINDOWS: &[(&str, u64)] = &[
    ("gpt-5", 400_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("o4-mini", 200_000),
    ("o3", 200_000),
    ("o1", 200_000),
    ("codex-mini", 200_000),
    ("claude-", 200_000),
    // Gemini: 1,048,576 input tokens for 2.0, 2.5 and 3 models (ai.google.dev/gemini-api/docs/models).
    ("gemini-3", 1_048_576),
    ("gemini-2.5", 1_048_576),
    ("gemini-2.0", 1_048_576),
];

/// OpenAI's BPE by exact model name (from OpenAI's `tiktoken/model.py`, model →
/// encoding). Only the two BPEs cairn ships appear: the pre-chat models
/// (r50k/p50k: `davinci`, `text-davinci-003`, …) are not counted exactly.
const BPE_BY_NAME: &[(&str, Method)] = &[
    ("o1", Method::O200kBase),
    ("o3", Method::O200kBase),
    ("o4-mini", Method::O200kBase),
    ("gpt-5", Method::O200kBase),
    ("gpt-4.1", Method::O200kBase),
    ("gpt-4o", Method::O200kBase),
    ("gpt-4", Method::Cl100kBase),
    ("gpt-3.5-turbo", Method::Cl100kBase),
    ("gpt-3.5", Method::Cl100kBase),
    ("gpt-35-turbo", Method::Cl100kBase),
    ("davinci-002", Method::Cl100kBase),
    ("babbage-002", Method::Cl100kBase),
    ("text-embedding-ada-002", Method::Cl100kBase),
    ("text-embedding-3-small", Method::Cl100kBase),
    ("text-embedding-3-large", Method::Cl100kBase),
];

/// OpenAI's BPE by model-name prefix (tiktoken's model prefix → encoding), first match
/// wins, for the names [`BPE_BY_NAME`] does not hold: snapshots (`gpt-4o-2024-08-06`),
/// variants (`gpt-4-32k`) and new members of a family (`gpt-5.2-codex`).
const BPE_BY_PREFIX: &[(&str, Method)] = &[
    ("o1-", Method::O200kBase),
    ("o3-", Method::O200kBase),
    ("o4-mini-", Method::O200kBase),
    ("gpt-5", Method::O200kBase),
    ("gpt-4.5-", Method::O200kBase),
    ("gpt-4.1-", Method::O200kBase),
    ("chatgpt-4o-", Method::O200kBase),
    ("gpt-4o-", Method::O200kBase),
    ("gpt-4-", Method::Cl100kBase),
    ("gpt-3.5-turbo-", Method::Cl100kBase),
    ("gpt-35-turbo-", Method::Cl100kBase),
    // o200k_harmony is o200k_base plus chat special tokens, which plain text never
    // produces; gpt-oss names vary by host (`gpt-oss:20b`, `gpt-oss-120b`).
    ("gpt-oss", Method::O200kBase),
    ("codex-mini", Method::O200kBase),
];

impl ModelRef {
    /// The model id without a host's vendor prefix (OpenRouter names models
    /// `openai/gpt-4o`).
    fn bare(&self) -> &str {
        self.model.rsplit('/').next().unwrap_or(&self.model)
    }

    /// How this model's tokens are counted. OpenAI models (on any host) get their own
    /// BPE, labelled exact; an unknown name behind the OpenAI API is most likely a
    /// current OpenAI model (o200k) but could be any model on a compatible server, so
    /// it gets o200k labelled as an estimate; everything else the bytes heuristic.
    pub fn token_counter(&self) -> TokenCounter {
        match openai_bpe(self.bare()) {
            Some(method) => TokenCounter::new(method, true),
            None if self.provider == ProviderKind::OpenAi => {
                TokenCounter::new(Method::O200kBase, false)
            }
            None => TokenCounter::estimate(),
        }
    }

    /// The context window in tokens, if known. Local (Ollama) models have none: their
    /// window depends on how they are run.
    pub fn context_window(&self) -> Option<u64> {
        if self.provider == ProviderKind::Ollama {
            return None;
        }
        let bare = self.bare();
        let bare = bare.strip_suffix("-latest").unwrap_or(bare);
        CONTEXT_WINDOWS
            .iter()
            .find(|(prefix, _)| bare.starts_with(prefix))
            .map(|(_, window)| *window)
    }
}

/// The BPE of an OpenAI model id, if it is one. A fine-tuned model
/// (`ft:gpt-4o-mini-2024-07-18:org::id`) uses its base model's.
fn openai_bpe(name: &str) -> Option<Method> {
    if let Some(rest) = name.strip_prefix("ft:") {
        return openai_bpe(rest.split(':').next().unwrap_or(rest));
    }
    BPE_BY_NAME
        .iter()
        .find(|(exact, _)| *exact == name)
        .or_else(|| {
            BPE_BY_PREFIX
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
        })
        .map(|(_, method)| *method)
}

#[cfg(test)]
mod tests {
    use cairn_core::tokens::Accuracy;

    use super::*;

    fn model(raw: &str) -> ModelRef {
        ModelRef::parse(raw).unwrap()
    }

    #[test]
    fn models_get_the_right_counter_and_label() {
        let counter = |raw: &str| {
            let c = model(raw).token_counter();
            (c.method(), c.accuracy())
        };
        use Accuracy::{Estimate, Exact};
        assert_eq!(counter("openai:gpt-4.1"), (Method::O200kBase, Exact));
        assert_eq!(counter("openai:o3-mini"), (Method::O200kBase, Exact));
        assert_eq!(counter("openai:gpt-4"), (Method::Cl100kBase, Exact));
        assert_eq!(counter("openai:llama3.1"), (Method::O200kBase, Estimate));
        assert_eq!(
            counter("openrouter:openai/gpt-4o"),
            (Method::O200kBase, Exact)
        );
        assert_eq!(counter("ollama:gpt-oss:20b"), (Method::O200kBase, Exact));
        assert_eq!(
            counter("openai:ft:gpt-4o-mini-2024-07-18:acme::abc123"),
            (Method::O200kBase, Exact)
        );
        assert_eq!(
            counter("anthropic:claude-sonnet-4-5"),
            (Method::BytesHeuristic, Estimate)
        );
        assert_eq!(
            counter("ollama:qwen2.5-coder:7b"),
            (Method::BytesHeuristic, Estimate)
        );
    }

    /// cairn's BPE table must pick what tiktoken picks (tiktoken-rs's `get_tokenizer`,
    /// kept as the test oracle only) for real model names of every family, old and
    /// new, snapshots, Azure and fine-tune spellings, and names that are not OpenAI's.
    #[test]
    fn bpe_table_agrees_with_tiktoken() {
        use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};
        let names = [
            // Current chat and reasoning models, with snapshots and aliases.
            "gpt-5",
            "gpt-5-mini",
            "gpt-5-nano",
            "gpt-5-codex",
            "gpt-5.1",
            "gpt-5.1-codex",
            "gpt-5.1-codex-mini",
            "gpt-5.2",
            "gpt-5.2-pro",
            "gpt-5-2025-08-07",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "gpt-4.1-2025-04-14",
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4o-2024-08-06",
            "gpt-4o-mini-2024-07-18",
            "chatgpt-4o-latest",
            "gpt-4o-audio-preview",
            "gpt-4.5-preview",
            "o1",
            "o1-mini",
            "o1-preview",
            "o1-pro",
            "o1-2024-12-17",
            "o3",
            "o3-mini",
            "o3-pro",
            "o3-2025-04-16",
            "o4-mini",
            "o4-mini-2025-04-16",
            "o4-mini-high",
            "codex-mini",
            "codex-mini-latest",
            "gpt-oss-20b",
            "gpt-oss-120b",
            // Older chat models.
            "gpt-4",
            "gpt-4-0613",
            "gpt-4-32k",
            "gpt-4-turbo",
            "gpt-4-turbo-2024-04-09",
            "gpt-4-1106-preview",
            "gpt-3.5",
            "gpt-3.5-turbo",
            "gpt-3.5-turbo-0125",
            "gpt-3.5-turbo-16k",
            "gpt-35-turbo",
            "gpt-35-turbo-16k",
            // Base and embedding models.
            "davinci-002",
            "babbage-002",
            "text-embedding-ada-002",
            "text-embedding-3-small",
            "text-embedding-3-large",
            // Fine-tunes.
            "ft:gpt-4o-mini-2024-07-18:acme::abc123",
            "ft:gpt-3.5-turbo-0125:acme:x:1",
            "ft:gpt-4.1-2025-04-14:acme::id",
            "ft:davinci-002:acme::id",
            // Pre-chat models (r50k/p50k/gpt2): not counted exactly by cairn.
            "davinci",
            "curie",
            "babbage",
            "ada",
            "text-davinci-003",
            "text-davinci-002",
            "text-davinci-001",
            "code-davinci-002",
            "text-davinci-edit-001",
            "text-similarity-ada-001",
            "gpt2",
            "gpt-2",
            // Not OpenAI's, or not (yet) known.
            "claude-sonnet-4-5",
            "claude-3-5-haiku-latest",
            "llama3.1",
            "qwen2.5-coder:7b",
            "mistral-large",
            "gemini-2.5-pro",
            "gpt-6",
            "o5",
            "gpt-4.5",
            "gpt",
            "",
        ];
        for name in names {
            let expected = match get_tokenizer(name) {
                Some(Tokenizer::O200kBase | Tokenizer::O200kHarmony) => Some(Method::O200kBase),
                Some(Tokenizer::Cl100kBase) => Some(Method::Cl100kBase),
                Some(_) | None => None,
            };
            assert_eq!(openai_bpe(name), expected, "{name}");
        }
        // Beyond tiktoken: hosts spell gpt-oss with a tag.
        assert_eq!(openai_bpe("gpt-oss:20b"), Some(Method::O200kBase));
    }

    #[test]
    fn context_windows_of_known_families() {
        let window = |raw: &str| model(raw).context_window();
        assert_eq!(window("openai:gpt-4.1-mini"), Some(1_047_576));
        assert_eq!(
            window("anthropic:claude-sonnet-4-5-20250929"),
            Some(200_000)
        );
        assert_eq!(window("openrouter:openai/gpt-4o"), Some(128_000));
        assert_eq!(window("openai:codex-mini-latest"), Some(200_000));
        assert_eq!(window("ollama:qwen2.5-coder"), None);
        assert_eq!(window("ollama:gpt-oss:20b"), None);
        assert_eq!(window("openai:mystery"), None);
        assert_eq!(window("gemini:gemini-2.5-pro"), Some(1_048_576));
        assert_eq!(window("gemini:gemini-3-pro-preview"), Some(1_048_576));
    }

    #[test]
    fn every_priced_model_has_a_window() {
        for (name, _) in PRICES {
            assert!(model(name).context_window().is_some(), "{name}");
        }
    }
}
