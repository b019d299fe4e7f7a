//! The extractive fallback: a compaction made without a model, when the compressor is
//! unreachable or answers badly. Deterministic: the same context gives the same
//! summary.
//!
//! It renders the replaced events as a short transcript and shrinks it step by step
//! until the context fits the target: first tool outputs are cut, then replaced by a
//! note naming the tool and the size, then the oldest turns are left out, and last the
//! previous summary. Knowledge and the verbatim tail are always kept. When even the
//! smallest version misses the target, the outcome says so and the caller keeps the
//! context as it is and tells the user (the history is never touched either way).

use crate::compression::plan::{CompressionPlan, is_user_request};
use crate::compression::summary::{CompactionDraft, SummaryMethod, draft, tokens_after};
use crate::compression::transcript::{TranscriptLimits, cut_middle, render_event, tool_names};
use crate::knowledge::{self, KnowledgeRecord};
use crate::tokens::TokenCounter;
use crate::{Event, LiveContext, Payload};

/// Limits while tool outputs are still shown (cut short).
const WITH_OUTPUTS: TranscriptLimits = TranscriptLimits {
    tool_output_bytes: 600,
    text_bytes: 2_000,
    tool_input_bytes: 300,
    thinking: false,
};

/// Limits once tool outputs are replaced by a note.
const WITHOUT_OUTPUTS: TranscriptLimits = TranscriptLimits {
    tool_output_bytes: 0,
    ..WITH_OUTPUTS
};

#[derive(Clone, Debug, PartialEq)]
pub enum FallbackOutcome {
    /// The context fits the target with this compaction.
    Reached(CompactionDraft),
    /// No extractive summary reaches the target. Keep the context as it is and tell
    /// the user `reason`; `best` is the smallest compaction found (if it shrinks the
    /// context at all), for a caller that must shrink it anyway.
    Unreachable {
        best: Option<CompactionDraft>,
        best_tokens: u64,
        target_tokens: u64,
        reason: String,
    },
}

#[derive(Clone, Copy, Debug)]
enum Keep {
    Full,
    /// Cut in the middle to about this many bytes.
    Cut(usize),
    None,
}

/// One way of shrinking the summary.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    outputs: bool,
    skip: usize,
    previous: Keep,
}

/// One piece of the fallback summary that can be kept or left out.
struct Turn {
    first_seq: u64,
    last_seq: u64,
    with_outputs: String,
    without_outputs: String,
}

/// Build the extractive compaction for `plan`. `why` says why the model was not used
/// (recorded in the compaction); `kept` is the knowledge kept now.
pub fn extractive_fallback(
    live: &LiveContext,
    plan: &CompressionPlan,
    kept: &[KnowledgeRecord],
    retention: usize,
    counter: &TokenCounter,
    why: &str,
) -> FallbackOutcome {
    let prefix = plan.prefix(live);
    let turns = turns(prefix);
    let previous = match live.compaction.as_ref().map(|e| &e.payload) {
        Some(Payload::Compaction(c)) => Some(c.summary.trim().to_owned()),
        _ => None,
    };
    let knowledge_after = knowledge::retained(kept.iter().cloned(), retention);
    let header = format!(
        "_Extractive summary made by cairn without a model ({}). Tool outputs and \
         older turns may be left out; every event is kept in the session log._\n",
        why.trim()
    );
    let base = tokens_after(plan, &header, &knowledge_after, counter);

    // Token cost of each piece, counted once.
    let previous_text = previous.map(|s| format!("\n## Earlier summary\n{s}\n"));
    let previous_tokens = previous_text
        .as_deref()
        .map_or(0, |t| counter.count_text(t));
    let with: Vec<u64> = turns
        .iter()
        .map(|t| counter.count_text(&t.with_outputs))
        .collect();
    let without: Vec<u64> = turns
        .iter()
        .map(|t| counter.count_text(&t.without_outputs))
        .collect();

    // Candidates from largest to smallest: tool outputs shown or not, how many of
    // the oldest turns are left out, and how much of the previous summary is kept.
    let mut candidates: Vec<Candidate> = vec![Candidate {
        outputs: true,
        skip: 0,
        previous: Keep::Full,
    }];
    for skip in 0..=turns.len() {
        candidates.push(Candidate {
            outputs: false,
            skip,
            previous: Keep::Full,
        });
    }
    if previous_text.is_some() {
        // The previous summary cut to what is left of the budget (about 3 bytes a
        // token), then dropped.
        let room = plan.target_tokens.saturating_sub(base + 40) as usize * 3;
        if room >= 200 {
            candidates.push(Candidate {
                outputs: false,
                skip: turns.len(),
                previous: Keep::Cut(room),
            });
        }
        candidates.push(Candidate {
            outputs: false,
            skip: turns.len(),
            previous: Keep::None,
        });
    }

    let estimate = |c: &Candidate| {
        let sizes = if c.outputs { &with } else { &without };
        let previous = match c.previous {
            Keep::Full => previous_tokens,
            // Counted exactly once composed; here, an upper bound.
            Keep::Cut(bytes) => (bytes as u64 / 3).min(previous_tokens),
            Keep::None => 0,
        };
        base + sizes[c.skip..].iter().sum::<u64>() + previous + if c.skip > 0 { 20 } else { 0 }
    };
    let compose = |c: &Candidate| {
        let mut text = header.clone();
        if let Some(p) = &previous_text {
            match c.previous {
                Keep::Full => text.push_str(p),
                Keep::Cut(bytes) => text.push_str(&cut_middle(p, bytes)),
                Keep::None => {}
            }
        }
        if !turns.is_empty() {
            text.push_str("\n## Conversation\n");
        }
        if c.skip > 0 {
            text.push_str(&format!(
                "[{} older turn(s), events #{}–#{}, left out for length; see the session log]\n",
                c.skip,
                turns[0].first_seq,
                turns[c.skip - 1].last_seq
            ));
        }
        for turn in &turns[c.skip..] {
            text.push_str(if c.outputs {
                &turn.with_outputs
            } else {
                &turn.without_outputs
            });
        }
        text
    };

    let mut best: Option<CompactionDraft> = None;
    for candidate in &candidates {
        // Piece-wise counts can differ from the count of the joined text by a few
        // tokens; the exact figure is taken below before a candidate is accepted.
        if estimate(candidate) > plan.target_tokens + plan.target_tokens / 50 {
            continue;
        }
        let Ok(d) = draft(
            plan,
            compose(candidate),
            kept,
            &[],
            retention,
            counter,
            SummaryMethod::Extractive,
            None,
        ) else {
            continue;
        };
        if d.reached_target {
            return FallbackOutcome::Reached(with_reason(d, why));
        }
        best = Some(d);
    }
    if best.is_none() {
        let smallest = candidates.last().map(compose).unwrap_or_default();
        best = draft(
            plan,
            smallest,
            kept,
            &[],
            retention,
            counter,
            SummaryMethod::Extractive,
            None,
        )
        .ok();
    }
    let best_tokens = best.as_ref().map_or(plan.tokens_before, |d| d.tokens_after);
    let reason = if plan.kept_tokens + plan.tail_tokens > plan.target_tokens {
        format!(
            "the turn in progress and the knowledge alone take {} tokens, over the target of {}",
            plan.kept_tokens + plan.tail_tokens,
            plan.target_tokens
        )
    } else {
        format!(
            "the smallest extractive summary leaves {best_tokens} tokens, over the target of {}",
            plan.target_tokens
        )
    };
    FallbackOutcome::Unreachable {
        best: best.map(|d| with_reason(d, why)),
        best_tokens,
        target_tokens: plan.target_tokens,
        reason,
    }
}

fn with_reason(mut d: CompactionDraft, why: &str) -> CompactionDraft {
    d.compaction.fallback_reason = Some(why.trim().to_owned());
    d
}

/// The replaced events grouped into turns (a user request and what followed it),
/// each rendered with and without tool outputs.
fn turns(prefix: &[Event]) -> Vec<Turn> {
    let names = tool_names(prefix);
    let mut turns: Vec<Turn> = Vec::new();
    for event in prefix {
        let Some(message) = event.payload.as_message() else {
            continue;
        };
        let starts_turn = is_user_request(message) || turns.is_empty();
        if starts_turn {
            turns.push(Turn {
                first_seq: event.seq,
                last_seq: event.seq,
                with_outputs: String::new(),
                without_outputs: String::new(),
            });
        }
        if let Some(turn) = turns.last_mut() {
            turn.last_seq = event.seq;
            turn.with_outputs
                .push_str(&render_event(event, &WITH_OUTPUTS, &names));
            turn.without_outputs
                .push_str(&render_event(event, &WITHOUT_OUTPUTS, &names));
        }
    }
    turns
}
