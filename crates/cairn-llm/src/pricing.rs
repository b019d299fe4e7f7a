//! What a request costs: USD per million tokens, by model.
//!
//! The built-in table holds list prices of current OpenAI and Anthropic models
//! (standard tier; Anthropic cache writes at the 5-minute rate, 1.25× input; Anthropic
//! long-context surcharges above 200k input tokens are not modelled; Gemini's are).
//! Config overrides
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

use crate::catalogue::PRICES;
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
    /// Higher prices for the whole request once its prompt is long (Gemini Pro above
    /// 200k prompt tokens).
    pub long_context: Option<LongContextPrice>,
}

/// The prices that apply instead when a request's prompt (input, cached and cache
/// written tokens) exceeds `above_prompt_tokens`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongContextPrice {
    pub above_prompt_tokens: u64,
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
}

impl ModelPrice {
    pub(crate) const fn new(
        input: f64,
        output: f64,
        cache_read: f64,
        cache_write: Option<f64>,
    ) -> Self {
        ModelPrice {
            input,
            output,
            cache_read: Some(cache_read),
            cache_write,
            long_context: None,
        }
    }

    pub(crate) const fn above(
        mut self,
        prompt_tokens: u64,
        input: f64,
        output: f64,
        cache_read: f64,
    ) -> Self {
        self.long_context = Some(LongContextPrice {
            above_prompt_tokens: prompt_tokens,
            input,
            output,
            cache_read,
        });
        self
    }

    /// USD for `usage` (see [`crate::ChatResponse`] for how the counters are split:
    /// they never overlap, and reasoning tokens are billed as output).
    pub fn cost(&self, usage: &Usage) -> f64 {
        let prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens;
        if let Some(tier) = self.long_context
            && prompt > tier.above_prompt_tokens
        {
            let long = ModelPrice {
                input: tier.input,
                output: tier.output,
                cache_read: Some(tier.cache_read),
                cache_write: self.cache_write,
                long_context: None,
            };
            return long.cost(usage);
        }
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
            long_context: None,
        }
    }
}

/// The built-in prices with the config's overrides on top.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceTable {
    /// Keyed by `provider:model` or bare model id, as written.
    prices: BTreeMap<String, ModelPrice>,
}

impl Default for PriceTable {
    fn default() -> Self {
        PriceTable {
            prices: PRICES
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

    /// The price of `model`, if known: its `provider:model` key, else its bare id.
    pub fn price(&self, model: &ModelRef) -> Option<ModelPrice> {
        if let Some(p) = self
            .lookup(&model.to_string())
            .or_else(|| self.lookup(&model.model))
        {
            return Some(p);
        }
        if model.provider == ProviderKind::Ollama {
            return Some(ModelPrice::new(0.0, 0.0, 0.0, Some(0.0)));
        }
        None
    }

    /// USD for `usage` on `model`; `None` when the model has no price.
    pub fn cost(&self, model: &ModelRef, usage: &Usage) -> Option<f64> {
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
pub fn cost(model: &ModelRef, usage: &Usage) -> Option<f64> {
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

    fn m(raw: &str) -> ModelRef {
        ModelRef::parse(raw).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn anthropic_counts_every_kind() {
        // 1M of each kind on Sonnet 4.5: 3 + 15 + 0.30 + 3.75.
        let c = cost(
            &m("anthropic:claude-sonnet-4-5"),
            &usage(1_000_000, 1_000_000, 1_000_000, 1_000_000, 0),
        )
        .unwrap();
        assert!(close(c, 22.05), "{c}");
    }

    #[test]
    fn openai_reasoning_is_output_and_cache_read_discounted() {
        let c = cost(&m("openai:gpt-4.1"), &usage(1000, 500, 2000, 0, 500)).unwrap();
        // 1000×2 + 1000×8 + 2000×0.5, per million.
        assert!(close(c, (2000.0 + 8000.0 + 1000.0) / 1e6), "{c}");
    }

    #[test]
    fn gemini_pro_costs_more_above_200k_prompt_tokens() {
        let pro = m("gemini:gemini-2.5-pro");
        // 100k input + 100k cached = 200k: the base tier (1.25 / 10 / 0.125).
        let base = cost(&pro, &usage(100_000, 10_000, 100_000, 0, 10_000)).unwrap();
        assert!(
            close(
                base,
                (100_000.0 * 1.25 + 20_000.0 * 10.0 + 100_000.0 * 0.125) / 1e6
            ),
            "{base}"
        );
        // One more token: every token at the long-context tier (2.50 / 15 / 0.25).
        let long = cost(&pro, &usage(100_001, 10_000, 100_000, 0, 10_000)).unwrap();
        assert!(
            close(
                long,
                (100_001.0 * 2.5 + 20_000.0 * 15.0 + 100_000.0 * 0.25) / 1e6
            ),
            "{long}"
        );
        // Flash has one tier.
        let flash = cost(&m("gemini:gemini-2.5-flash"), &usage(300_000, 0, 0, 0, 0)).unwrap();
        assert!(close(flash, 300_000.0 * 0.30 / 1e6), "{flash}");
    }

    #[test]
    fn snapshots_and_aliases_price_as_base() {
        let t = PriceTable::default();
        assert_eq!(
            t.price(&m("anthropic:claude-sonnet-4-5-20250929")),
            t.price(&m("anthropic:claude-sonnet-4-5"))
        );
        assert_eq!(
            t.price(&m("openai:gpt-4.1-2025-04-14")),
            t.price(&m("openai:gpt-4.1"))
        );
        assert_ne!(
            t.price(&m("openai:gpt-4.1-mini")),
            t.price(&m("openai:gpt-4.1"))
        );
        // Not a snapshot: an unknown newer model must not borrow an older price.
        assert_eq!(t.price(&m("anthropic:claude-sonnet-4-7")), None);
        assert_eq!(t.price(&m("openai:gpt-9")), None);
        assert_eq!(
            t.cost(&m("ollama:qwen2.5-coder"), &usage(10, 10, 0, 0, 0)),
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
            .cost(&m("openai:gpt-4.1"), &usage(1_000_000, 0, 1_000_000, 0, 0))
            .unwrap();
        assert!(
            close(c, 2.0),
            "cache read falls back to the input price: {c}"
        );
        let c = t
            .cost(&m("openai:my-local-model"), &usage(2_000_000, 0, 0, 0, 0))
            .unwrap();
        assert!(close(c, 1.0), "{c}");
    }
}
