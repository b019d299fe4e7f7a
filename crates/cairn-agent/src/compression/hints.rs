//! The one-line hint shown when the live context passes 80% of the next pressure
//! threshold, once per level. The caller keeps a [`HintState`] with the session and
//! resets it after each compression, so each level hints once per growth cycle.

use serde::{Deserialize, Serialize};

use cairn_core::settings::PressureLevel;

/// Share of the next threshold at which the hint appears.
pub const HINT_SHARE: f64 = 0.8;

/// Which thresholds have hinted since the last compression.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HintState {
    hinted: Vec<u64>,
}

impl HintState {
    pub fn record(&mut self, hint: &Hint) {
        if !self.hinted.contains(&hint.threshold) {
            self.hinted.push(hint.threshold);
        }
    }

    /// After a compression the context starts a new cycle: every level may hint again.
    pub fn reset(&mut self) {
        self.hinted.clear();
    }

    pub fn has_hinted(&self, threshold: u64) -> bool {
        self.hinted.contains(&threshold)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    /// The threshold this hint is about.
    pub threshold: u64,
    pub live_tokens: u64,
    /// One line, with the figures and `/summarize`.
    pub text: String,
}

/// The hint to show now, if any. Pure: record a shown hint with
/// [`HintState::record`]. `levels` sorted by threshold.
pub fn next_hint(
    live_tokens: u64,
    levels: &[PressureLevel],
    hints_enabled: bool,
    state: &HintState,
) -> Option<Hint> {
    if !hints_enabled {
        return None;
    }
    let next = levels.iter().find(|l| live_tokens < l.threshold)?;
    let share = live_tokens as f64 / next.threshold as f64;
    if share < HINT_SHARE || state.has_hinted(next.threshold) {
        return None;
    }
    Some(Hint {
        threshold: next.threshold,
        live_tokens,
        text: format!(
            "context: {} of {} tokens ({:.0}% of the compression threshold); \
             /summarize [FOCUS] compresses now, steered by FOCUS",
            thousands(live_tokens),
            thousands(next.threshold),
            share * 100.0
        ),
    })
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels() -> Vec<PressureLevel> {
        vec![
            PressureLevel {
                threshold: 50_000,
                target_ratio: 2.0,
            },
            PressureLevel {
                threshold: 100_000,
                target_ratio: 4.0,
            },
        ]
    }

    /// Grow a context through both levels and collect the hints shown.
    fn shown(sizes: &[u64], state: &mut HintState) -> Vec<u64> {
        let levels = levels();
        let mut out = Vec::new();
        for &size in sizes {
            if let Some(hint) = next_hint(size, &levels, true, state) {
                state.record(&hint);
                out.push(hint.threshold);
            }
        }
        out
    }

    #[test]
    fn hints_once_per_level() {
        let mut state = HintState::default();
        let sizes = [
            10_000, 39_999, 40_000, 41_000, 49_000, 55_000, 79_000, 80_000, 95_000,
        ];
        assert_eq!(shown(&sizes, &mut state), vec![50_000, 100_000]);
        // Without a compression, nothing hints twice.
        assert_eq!(shown(&sizes, &mut state), Vec::<u64>::new());
        state.reset();
        assert_eq!(shown(&[45_000], &mut state), vec![50_000]);
    }

    #[test]
    fn hint_text_has_the_figures_and_the_command() {
        let hint = next_hint(41_000, &levels(), true, &HintState::default()).unwrap();
        assert_eq!(
            hint.text,
            "context: 41,000 of 50,000 tokens (82% of the compression threshold); \
             /summarize [FOCUS] compresses now, steered by FOCUS"
        );
        assert!(next_hint(41_000, &levels(), false, &HintState::default()).is_none());
        assert!(next_hint(120_000, &levels(), true, &HintState::default()).is_none());
    }
}
