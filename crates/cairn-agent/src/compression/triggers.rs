//! Pressure levels: when the live context reaches a level's `threshold`, compress it to
//! about `1/target_ratio` of its size; the highest level reached applies. With no
//! level configured, one level at 75% of the model's window with ratio 2.

use cairn_core::settings::{CompressionSettings, PressureLevel};
use cairn_core::{Error, Result};

/// Used when the model's window is not known.
pub const DEFAULT_CONTEXT_WINDOW: u64 = 128_000;
/// The default level's threshold, as a share of the window.
pub const DEFAULT_THRESHOLD_SHARE: f64 = 0.75;
/// The default level's ratio, also used by `/summarize` when no level is configured.
pub const DEFAULT_TARGET_RATIO: f64 = 2.0;

/// The levels in force, sorted by threshold. A level that cannot work (a zero
/// threshold, a ratio not above 1) is refused with the key and the rule.
pub fn effective_levels(
    settings: &CompressionSettings,
    window_tokens: Option<u64>,
) -> Result<Vec<PressureLevel>> {
    if settings.pressure_levels.is_empty() {
        let window = window_tokens
            .filter(|w| *w > 0)
            .unwrap_or(DEFAULT_CONTEXT_WINDOW);
        return Ok(vec![PressureLevel {
            threshold: (window as f64 * DEFAULT_THRESHOLD_SHARE) as u64,
            target_ratio: DEFAULT_TARGET_RATIO,
        }]);
    }
    for (i, level) in settings.pressure_levels.iter().enumerate() {
        let key = format!("compression.pressure_levels[{}]", i + 1);
        if level.threshold == 0 {
            return Err(Error::invalid(format!(
                "{key}.threshold is 0; it must be a positive number of tokens"
            )));
        }
        if !(level.target_ratio.is_finite() && level.target_ratio > 1.0) {
            return Err(Error::invalid(format!(
                "{key}.target_ratio is {}; it must be greater than 1 \
                 (2.0 compresses the context to half its size)",
                level.target_ratio
            )));
        }
    }
    let mut levels = settings.pressure_levels.clone();
    levels.sort_by_key(|l| l.threshold);
    Ok(levels)
}

/// The level a live context has reached, and the size to compress it to.
#[derive(Clone, Debug, PartialEq)]
pub struct PressureHit {
    /// Index in the sorted levels (0 = lowest threshold).
    pub level_index: usize,
    pub level: PressureLevel,
    pub live_tokens: u64,
    pub target_tokens: u64,
}

/// The highest level `live_tokens` has reached, if any (`levels` sorted, as
/// [`effective_levels`] gives them).
pub fn pressure(live_tokens: u64, levels: &[PressureLevel]) -> Option<PressureHit> {
    let (level_index, level) = levels
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| live_tokens >= l.threshold)?;
    Some(PressureHit {
        level_index,
        level: level.clone(),
        live_tokens,
        target_tokens: target_tokens(live_tokens, level.target_ratio),
    })
}

/// The target of `/summarize`: the ratio of the highest level reached, else of the
/// lowest level, else [`DEFAULT_TARGET_RATIO`].
pub fn manual_target(live_tokens: u64, levels: &[PressureLevel]) -> u64 {
    let ratio = pressure(live_tokens, levels)
        .map(|hit| hit.level.target_ratio)
        .or_else(|| levels.first().map(|l| l.target_ratio))
        .unwrap_or(DEFAULT_TARGET_RATIO);
    target_tokens(live_tokens, ratio)
}

fn target_tokens(live_tokens: u64, ratio: f64) -> u64 {
    let ratio = if ratio.is_finite() && ratio > 1.0 {
        ratio
    } else {
        DEFAULT_TARGET_RATIO
    };
    (live_tokens as f64 / ratio) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(levels: Vec<PressureLevel>) -> CompressionSettings {
        CompressionSettings {
            hints_enabled: true,
            knowledge_retention: 10,
            pressure_levels: levels,
            model: None,
        }
    }

    fn level(threshold: u64, target_ratio: f64) -> PressureLevel {
        PressureLevel {
            threshold,
            target_ratio,
        }
    }

    #[test]
    fn two_levels_fire_at_their_thresholds_with_their_targets() {
        let levels = effective_levels(
            &settings(vec![level(80_000, 4.0), level(50_000, 2.0)]),
            None,
        )
        .unwrap();
        assert_eq!(levels[0].threshold, 50_000, "sorted by threshold");
        assert!(pressure(49_999, &levels).is_none());
        let hit = pressure(50_000, &levels).unwrap();
        assert_eq!((hit.level_index, hit.target_tokens), (0, 25_000));
        let hit = pressure(79_999, &levels).unwrap();
        assert_eq!((hit.level_index, hit.target_tokens), (0, 39_999));
        let hit = pressure(80_000, &levels).unwrap();
        assert_eq!((hit.level_index, hit.target_tokens), (1, 20_000));
        let hit = pressure(120_000, &levels).unwrap();
        assert_eq!((hit.level_index, hit.target_tokens), (1, 30_000));
    }

    #[test]
    fn default_level_is_three_quarters_of_the_window() {
        let levels = effective_levels(&settings(vec![]), Some(200_000)).unwrap();
        assert_eq!(levels, vec![level(150_000, 2.0)]);
        let levels = effective_levels(&settings(vec![]), None).unwrap();
        assert_eq!(levels[0].threshold, 96_000);
    }

    #[test]
    fn unusable_levels_are_refused_with_the_key() {
        let err = effective_levels(&settings(vec![level(1000, 2.0), level(5000, 1.0)]), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("pressure_levels[2].target_ratio"), "{err}");
        let err = effective_levels(&settings(vec![level(0, 2.0)]), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("pressure_levels[1].threshold"), "{err}");
    }

    #[test]
    fn manual_target_uses_the_nearest_ratio() {
        let levels = vec![level(50_000, 2.0), level(80_000, 4.0)];
        assert_eq!(manual_target(30_000, &levels), 15_000);
        assert_eq!(manual_target(90_000, &levels), 22_500);
        assert_eq!(manual_target(30_000, &[]), 15_000);
    }
}
