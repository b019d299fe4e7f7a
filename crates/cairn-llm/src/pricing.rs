//! What a request costs: USD per million tokens, by model.
//!
//! The built-in table holds list prices of current OpenAI and Anthropic models
//! (standard tier; Anthropic cache writes at the 5-minute rate, 1.25× input; Anthropic
//! long-context surcharges above 200k input tokens are not modelled). Config overrides
//! or extends it:
//!
//! ```toml
//! [pricing."openai:gpt-4.1"]
//! input = 2.0
//! output = 8.0
//! cache_read = 0.5
//! ```
//!
//! Keys may be `provider:model` or a bare model id. Dated snapshots
//! (`claude-sonnet-4-5-20250929`, `gpt-4.1-2025-04-14`) and `-latest` aliases are
//! priced as their base model. Ollama models are local and cost 0. Anything else
//! unknown has no price (`None`): the caller notes it once and counts 0.

use std::collections::BTreeMap;

use cairn_core::Usage;
use cairn_core::settings::Price;

use crate::{ModelRef, ProviderKind};

/// Prices in USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
    /// Price of a cached prompt token; `None` = the input price.
    pub cache_read: Option<f64>,
    /// Price of a token written to the prompt cache; `None` = the input price.
    pub cache_write: Option<f64>,
}

impl ModelPrice {
    const fn new(input: f64, output: f64, cache_read: f64, cache_write: Option<f64>) -> Self {
        ModelPrice {
            input,
            output,
            cache_read: Some(cache_read),
            cache_write,
        }
    }

    /// USD for `usage` (see [`crate::ChatResponse`] for how the counters are split:
    /// they never overlap, and reasoning tokens are billed as output).
    pub fn cost(&self, usage: &Usage) -> f64 {
        let per_token = |price: f64, tokens: u64| price * tokens as f64 / 1_000_000.0;
        per_token(self.input, usage.input_tokens)
            + per_token(self.output, usage.output_tokens + usage.reasoning_tokens)
            + per_token(
                self.cache_read.unwrap_or(self.input),
                usage.cache_read_tokens,
            )
            + per_token(
                self.cache_write.unwrap_or(self.input),
                usage.cache_write_tokens,
            )
    }
}

impl From<&Price> for ModelPrice {
    fn from(p: &Price) -> Self {
        ModelPrice {
            input: p.input,
            output: p.output,
            cache_read: p.cache_read,
            cache_write: p.cache_write,
        }
    }
}

/// Built-in list prices (USD / 1M tokens): model id, input, output, cache read,
/// cache write (`None`: the provider does not charge cache writes separately).
const BUILT_IN: &[(&str, ModelPrice)] = &[
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
];

/// The built-in prices with the config's overrides on top.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceTable {
    /// Keyed by `provider:model` or bare model id, as written.
    prices: BTreeMap<String, ModelPrice>,
}

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable {
            prices: BUILT_IN
                .iter()
                .map(|(model, price)| ((*model).to_owned(), *price))
                .collect(),
        }
    }
}

impl PriceTable {
    /// Built-in prices overridden by `settings.pricing`.
    pub fn with_overrides(overrides: &BTreeMap<String, Price>) -> Self {
        let mut table = PriceTable::default();
        for (model, price) in overrides {
            table.prices.insert(model.trim().to_owned(), price.into());
        }
        table
    }

    /// Every model the table prices, as its keys are written (`provider:model`, or a
    /// bare model id from config); for listing and completion.
    pub fn models(&self) -> impl Iterator<Item = &str> {
        self.prices.keys().map(String::as_str)
    }

    /// The price of `model` (`provider:model`), if known.
    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        let parsed = ModelRef::parse(model).ok();
        if let Some(parsed) = &parsed {
            let full = parsed.to_string();
            if let Some(p) = self.lookup(&full).or_else(|| self.lookup(&parsed.model)) {
                return Some(p);
            }
            if parsed.provider == ProviderKind::Ollama {
                return Some(ModelPrice::new(0.0, 0.0, 0.0, Some(0.0)));
            }
            return None;
        }
        self.lookup(model)
    }

    /// USD for `usage` on `model`; `None` when the model has no price.
    pub fn cost(&self, model: &str, usage: &Usage) -> Option<f64> {
        self.price(model).map(|p| p.cost(usage))
    }

    /// Exact key, else the key that the name extends by a snapshot date or `-latest`.
    fn lookup(&self, name: &str) -> Option<ModelPrice> {
        if let Some(p) = self.prices.get(name) {
            return Some(*p);
        }
        self.prices
            .iter()
            .filter(|(key, _)| {
                name.strip_prefix(key.as_str())
                    .is_some_and(is_snapshot_suffix)
            })
            .max_by_key(|(key, _)| key.len())
            .map(|(_, p)| *p)
    }
}

/// `-20250929`, `-2025-04-14` or `-latest`.
fn is_snapshot_suffix(rest: &str) -> bool {
    let Some(rest) = rest.strip_prefix('-') else {
        return false;
    };
    if rest == "latest" {
        return true;
    }
    let digits: String = rest.chars().filter(|c| *c != '-').collect();
    digits.len() == 8
        && digits.chars().all(|c| c.is_ascii_digit())
        && (rest.len() == 8 || rest.len() == 10)
}

/// USD for `usage` on `model` at built-in prices (no config overrides).
pub fn cost(model: &str, usage: &Usage) -> Option<f64> {
    PriceTable::default().cost(model, usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, read: u64, write: u64, reasoning: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: read,
            cache_write_tokens: write,
            reasoning_tokens: reasoning,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn anthropic_counts_every_kind() {
        // 1M of each kind on Sonnet 4.5: 3 + 15 + 0.30 + 3.75.
        let c = cost(
            "anthropic:claude-sonnet-4-5",
            &usage(1_000_000, 1_000_000, 1_000_000, 1_000_000, 0),
        )
        .unwrap();
        assert!(close(c, 22.05), "{c}");
    }

    #[test]
    fn openai_reasoning_is_output_and_cache_read_discounted() {
        let c = cost("openai:gpt-4.1", &usage(1000, 500, 2000, 0, 500)).unwrap();
        // 1000×2 + 1000×8 + 2000×0.5, per million.
        assert!(close(c, (2000.0 + 8000.0 + 1000.0) / 1e6), "{c}");
    }

    #[test]
    fn snapshots_and_aliases_price_as_base() {
        let t = PriceTable::default();
        assert_eq!(
            t.price("anthropic:claude-sonnet-4-5-20250929"),
            t.price("anthropic:claude-sonnet-4-5")
        );
        assert_eq!(
            t.price("openai:gpt-4.1-2025-04-14"),
            t.price("openai:gpt-4.1")
        );
        assert_ne!(t.price("openai:gpt-4.1-mini"), t.price("openai:gpt-4.1"));
        // Not a snapshot: an unknown newer model must not borrow an older price.
        assert_eq!(t.price("anthropic:claude-sonnet-4-7"), None);
        assert_eq!(t.price("openai:gpt-9"), None);
        assert_eq!(
            t.cost("ollama:qwen2.5-coder", &usage(10, 10, 0, 0, 0)),
            Some(0.0)
        );
    }

    #[test]
    fn config_overrides_and_extends() {
        let mut overrides = BTreeMap::new();
        overrides.insert(
            "openai:gpt-4.1".to_owned(),
            Price {
                input: 1.0,
                output: 1.0,
                cache_read: None,
                cache_write: None,
            },
        );
        overrides.insert(
            "my-local-model".to_owned(),
            Price {
                input: 0.5,
                output: 0.5,
                cache_read: None,
                cache_write: None,
            },
        );
        let t = PriceTable::with_overrides(&overrides);
        let c = t
            .cost("openai:gpt-4.1", &usage(1_000_000, 0, 1_000_000, 0, 0))
            .unwrap();
        assert!(
            close(c, 2.0),
            "cache read falls back to the input price: {c}"
        );
        let c = t
            .cost("openai:my-local-model", &usage(2_000_000, 0, 0, 0, 0))
            .unwrap();
        assert!(close(c, 1.0), "{c}");
    }
}
