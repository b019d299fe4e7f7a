//! What requests cost, and the spending limits of ARCHITECTURE.md configuration:
//! `max_session_spending_threshold` (USD spent since the session's spend checkpoint)
//! and `max_request_spending_threshold` (USD of one request). Both are checked before
//! a request is sent: the session figure as it stands (sub-agents included), the
//! request figure against the previous request of the turn (a request's cost is only
//! known once it is answered) and against a pre-send estimate of the next one (its
//! input tokens at the model's input price), so an obviously too expensive request is
//! never sent.

use std::collections::HashSet;

use cairn_core::Usage;
use cairn_core::settings::Settings;
use cairn_llm::{ModelRef, PriceTable};

use crate::SpendingLimitKind;

/// A threshold that was reached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LimitHit {
    pub kind: SpendingLimitKind,
    pub threshold_usd: f64,
    /// Spent (or, for a pre-send estimate, what the next request would cost).
    pub spent_usd: f64,
    /// Set when the hit is the pre-send estimate of the next request: its input
    /// tokens (priced at the model's input price); nothing was spent yet.
    pub estimated_input_tokens: Option<u64>,
}

impl LimitHit {
    /// The sentence shown when a run stops on it.
    pub fn message(&self, session: &str) -> String {
        match self.kind {
            SpendingLimitKind::Session => format!(
                "session {session} has spent ${:.4} since its spending checkpoint, reaching \
                 max_session_spending_threshold (${:.2}). Raise the threshold in config.toml \
                 or CAIRN_MAX_SESSION_SPENDING_THRESHOLD, or continue interactively with \
                 `cairn run --resume {session}` and answer yes",
                self.spent_usd, self.threshold_usd
            ),
            SpendingLimitKind::Request if self.estimated_input_tokens.is_some() => format!(
                "the next request of session {session} was not sent: its {} input tokens \
                 would cost about ${:.4} at the model's input price, reaching \
                 max_request_spending_threshold (${:.2}). Make the context smaller \
                 (/summarize), use a cheaper model (/model), or raise the threshold in \
                 config.toml or CAIRN_MAX_REQUEST_SPENDING_THRESHOLD",
                self.estimated_input_tokens.unwrap_or_default(),
                self.spent_usd,
                self.threshold_usd
            ),
            SpendingLimitKind::Request => format!(
                "the last request of session {session} cost ${:.4}, reaching \
                 max_request_spending_threshold (${:.2}). Raise the threshold in config.toml \
                 or CAIRN_MAX_REQUEST_SPENDING_THRESHOLD, or continue interactively",
                self.spent_usd, self.threshold_usd
            ),
        }
    }
}

/// Prices requests and remembers which unpriced models were already noted.
#[derive(Clone, Debug)]
pub struct Spending {
    prices: PriceTable,
    noted: HashSet<String>,
}

/// The cost of one request.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestCost {
    pub usd: f64,
    /// False when the model has no known price (counted as 0).
    pub priced: bool,
    /// A one-time note for a model without a price.
    pub note: Option<String>,
}

impl Spending {
    pub fn new(settings: &Settings) -> Self {
        Spending {
            prices: PriceTable::with_overrides(&settings.pricing),
            noted: HashSet::new(),
        }
    }

    /// What `input_tokens` of input cost at `model`'s input price (`None`: no price).
    pub fn input_cost(&self, model: &ModelRef, input_tokens: u64) -> Option<f64> {
        let usage = Usage {
            input_tokens,
            ..Usage::default()
        };
        self.prices.cost(model, &usage)
    }

    pub fn cost(&mut self, model: &ModelRef, usage: &Usage) -> RequestCost {
        match self.prices.cost(model, usage) {
            Some(usd) => RequestCost {
                usd,
                priced: true,
                note: None,
            },
            None => {
                let note = self.noted.insert(model.to_string()).then(|| {
                    format!(
                        "no price is known for {model}; its requests count as $0. Set \
                         [pricing.\"{model}\"] input/output (USD per 1M tokens) in config.toml \
                         to track its cost"
                    )
                });
                RequestCost {
                    usd: 0.0,
                    priced: false,
                    note,
                }
            }
        }
    }
}

/// The pre-send estimate: a request whose input alone (bounded by `token_bound`, counted
/// exactly by `count_tokens` only when the cheap bound could reach the threshold)
/// would cost at least `max_request_spending_threshold` at the model's input price.
/// `None` when no request threshold is set, the model has no price, or it fits.
pub fn estimate_request(
    settings: &Settings,
    spending: &Spending,
    model: &ModelRef,
    token_bound: u64,
    count_tokens: impl FnOnce() -> u64,
) -> Option<LimitHit> {
    let threshold = settings
        .max_request_spending_threshold
        .filter(|t| *t > 0.0)?;
    // `token_bound` comes from the text's bytes (a token is at least one byte): under
    // the threshold by that bound, no counting is needed.
    let bound = spending.input_cost(model, token_bound)?;
    if bound < threshold {
        return None;
    }
    let tokens = count_tokens();
    let usd = spending.input_cost(model, tokens)?;
    (usd >= threshold).then_some(LimitHit {
        kind: SpendingLimitKind::Request,
        threshold_usd: threshold,
        spent_usd: usd,
        estimated_input_tokens: Some(tokens),
    })
}

/// The first threshold reached, if any, before sending the next request.
/// `last_request_usd` is the cost of the previous request of this turn (`None` at the
/// start of a turn: a request limit already answered does not ask twice).
/// `spent_since_checkpoint` is [`crate::Agent::spent_since_checkpoint`]: the session's
/// cost and its sub-agents' since the spending checkpoint.
pub fn check(
    settings: &Settings,
    spent_since_checkpoint: f64,
    last_request_usd: Option<f64>,
) -> Option<LimitHit> {
    if let Some(threshold) = settings.max_session_spending_threshold {
        let spent = spent_since_checkpoint.max(0.0);
        if threshold >= 0.0 && spent >= threshold && spent > 0.0 {
            return Some(LimitHit {
                kind: SpendingLimitKind::Session,
                threshold_usd: threshold,
                spent_usd: spent,
                estimated_input_tokens: None,
            });
        }
    }
    if let (Some(threshold), Some(spent)) =
        (settings.max_request_spending_threshold, last_request_usd)
        && threshold >= 0.0
        && spent >= threshold
        && spent > 0.0
    {
        return Some(LimitHit {
            kind: SpendingLimitKind::Request,
            threshold_usd: threshold,
            spent_usd: spent,
            estimated_input_tokens: None,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Session;
    use cairn_core::paths::Paths;

    fn spent(session: Session) -> f64 {
        session.cost_usd - session.spend_checkpoint_usd
    }

    fn session(cost: f64, checkpoint: f64) -> Session {
        Session {
            id: ulid::Ulid::new(),
            name: cairn_core::SessionName::parse("s").unwrap(),
            title: None,
            project: cairn_core::Project::from_stored("/p"),
            parent_id: None,
            fork_seq: None,
            model: None,
            status: cairn_core::SessionStatus::Active,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
            usage: Usage::default(),
            cost_usd: cost,
            spend_checkpoint_usd: checkpoint,
            live_tokens: 0,
            head_seq: 0,
            context_start_seq: 1,
            compaction_seq: None,
            live_gaps: Vec::new(),
            message_count: 0,
            tool_call_count: 0,
            compaction_count: 0,
        }
    }

    #[test]
    fn limits_count_from_the_checkpoint() {
        let mut settings = Settings::defaults(Paths::at(std::path::Path::new("/tmp")));
        assert_eq!(
            check(&settings, spent(session(100.0, 0.0)), Some(50.0)),
            None
        );
        settings.max_session_spending_threshold = Some(1.0);
        settings.max_request_spending_threshold = Some(0.5);
        let hit = check(&settings, spent(session(1.2, 0.0)), None).unwrap();
        assert_eq!(hit.kind, SpendingLimitKind::Session);
        assert!(check(&settings, spent(session(1.2, 1.0)), None).is_none());
        let hit = check(&settings, spent(session(1.2, 1.0)), Some(0.6)).unwrap();
        assert_eq!(hit.kind, SpendingLimitKind::Request);
        assert!(hit.message("s").contains("max_request_spending_threshold"));
    }

    fn m(raw: &str) -> ModelRef {
        ModelRef::parse(raw).unwrap()
    }

    #[test]
    fn the_pre_send_estimate_prices_the_input_and_counts_only_near_the_threshold() {
        let mut settings = Settings::defaults(Paths::at(std::path::Path::new("/tmp")));
        let spending = Spending::new(&settings);
        let never = || -> u64 { panic!("counted without a threshold") };
        assert_eq!(
            estimate_request(
                &settings,
                &spending,
                &m("openai:gpt-4.1"),
                10_000_000,
                never
            ),
            None
        );
        settings.max_request_spending_threshold = Some(1.0);
        // 100 KB cannot reach $1 at $2/M: not counted.
        let never = || -> u64 { panic!("counted far under the threshold") };
        assert_eq!(
            estimate_request(&settings, &spending, &m("openai:gpt-4.1"), 100_000, never),
            None
        );
        // 4 MB could: counted, and 600k tokens ($1.20) reach it.
        let hit = estimate_request(
            &settings,
            &spending,
            &m("openai:gpt-4.1"),
            4_000_000,
            || 600_000,
        )
        .unwrap();
        assert_eq!(hit.kind, SpendingLimitKind::Request);
        assert_eq!(hit.estimated_input_tokens, Some(600_000));
        assert!((hit.spent_usd - 1.2).abs() < 1e-9);
        assert!(hit.message("s").contains("was not sent"));
        // 400k tokens ($0.80) do not.
        assert_eq!(
            estimate_request(
                &settings,
                &spending,
                &m("openai:gpt-4.1"),
                4_000_000,
                || { 400_000 }
            ),
            None
        );
        // Unpriced models are not estimated.
        assert_eq!(
            estimate_request(
                &settings,
                &spending,
                &m("openai:mystery"),
                4_000_000,
                || { 4_000_000 }
            ),
            None
        );
    }

    #[test]
    fn unknown_models_cost_nothing_and_are_noted_once() {
        let settings = Settings::defaults(Paths::at(std::path::Path::new("/tmp")));
        let mut spending = Spending::new(&settings);
        let usage = Usage {
            input_tokens: 1_000_000,
            ..Usage::default()
        };
        let first = spending.cost(&m("openai:mystery-model"), &usage);
        assert_eq!((first.usd, first.priced), (0.0, false));
        assert!(first.note.is_some());
        assert!(
            spending
                .cost(&m("openai:mystery-model"), &usage)
                .note
                .is_none()
        );
        let known = spending.cost(&m("openai:gpt-4.1"), &usage);
        assert!(known.priced && (known.usd - 2.0).abs() < 1e-9);
    }
}
