//! Choosing what a compression replaces: a prefix of the live context (with the
//! previous summary) becomes one new summary; a verbatim tail stays.
//!
//! The tail keeps the last user requests and the turn in flight, as much of them as
//! fits the target, and is cut only where no tool call is waiting for its result, so
//! a tool_use is never separated from its tool_result.

use std::collections::HashSet;

use crate::compression::measure::ContextMeasure;
use cairn_core::{ContentBlock, Event, LiveContext, Message, Payload, Role};

/// Smallest and largest token budget given to a summary.
const SUMMARY_BUDGET_MIN: u64 = 1_000;
const SUMMARY_BUDGET_MAX: u64 = 8_000;

#[derive(Clone, Debug, PartialEq)]
pub struct CompressionPlan {
    /// The range the new compaction stands for, `[first, last]` (inclusive): from the
    /// start of the previous compaction's range (its summary is folded in) to the
    /// last replaced event.
    pub replaces: [u64; 2],
    /// How many live events are replaced: `live.events[..tail_start]`; the rest is
    /// the verbatim tail.
    pub tail_start: usize,
    /// The live context's size now (fixed part, preamble, events).
    pub tokens_before: u64,
    pub target_tokens: u64,
    /// The fixed part (system prompt, tool schemas) inside `tokens_before`.
    pub fixed_tokens: u64,
    /// What stays besides the tail and the new summary: the fixed part and the
    /// knowledge block.
    pub kept_tokens: u64,
    pub tail_tokens: u64,
    /// Tokens of what the summary replaces (previous summary and the prefix events).
    pub replaced_tokens: u64,
    /// The most tokens the new summary may take for the target to be met.
    pub summary_budget: u64,
    /// Whether kept + tail + summary budget fit the target. When the turn in flight
    /// alone is larger than the target, the plan keeps it anyway and says so.
    pub tail_fits: bool,
}

impl CompressionPlan {
    /// The events the summary replaces.
    pub fn prefix<'a>(&self, live: &'a LiveContext) -> &'a [Event] {
        &live.events[..self.tail_start.min(live.events.len())]
    }

    /// The events kept verbatim.
    pub fn tail<'a>(&self, live: &'a LiveContext) -> &'a [Event] {
        &live.events[self.tail_start.min(live.events.len())..]
    }
}

/// Why no compression can be planned (nothing is changed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct NoPlan {
    pub reason: String,
}

fn no_plan(reason: impl Into<String>) -> NoPlan {
    NoPlan {
        reason: reason.into(),
    }
}

/// Plan a compression towards `target_tokens` (from [`super::pressure`] or
/// [`super::manual_target`]). `measure` must describe `live` (see
/// [`ContextMeasure::push`]).
pub fn plan_to_target(
    live: &LiveContext,
    measure: &ContextMeasure,
    target_tokens: u64,
) -> Result<CompressionPlan, NoPlan> {
    let shape = Shape::of(live, measure)?;
    let n = live.events.len();
    let kept = measure.fixed_tokens + measure.knowledge_tokens;
    let summary_budget = summary_budget(target_tokens);
    let tail_budget = target_tokens.saturating_sub(kept + summary_budget);
    let fits = |c: &usize| shape.suffix[*c] <= tail_budget;

    // 1. Whole turns: cut before a user request, keeping as many turns as fit.
    let at_request = (1..n)
        .filter(|&c| shape.cut_ok[c] && shape.is_request[c])
        .find(fits);
    // 2. Inside the last turn: keep as much of the turn in flight as fits.
    let in_last_turn = || {
        let from = shape.last_request.map_or(1, |r| r + 1).max(1);
        (from..n).filter(|&c| shape.cut_ok[c]).find(fits)
    };
    // 3. Nothing fits: keep the smallest tail that splits no tool call.
    let smallest = || (1..n).rev().find(|&c| shape.cut_ok[c]);
    let (cut, tail_fits) = match at_request.or_else(in_last_turn) {
        Some(c) => (c, true),
        None => match smallest() {
            Some(c) => (c, false),
            None => {
                return Err(no_plan(
                    "the live context is a single turn whose tool calls are still open; \
                     nothing can be replaced without separating a tool call from its result",
                ));
            }
        },
    };
    build(
        live,
        measure,
        &shape,
        cut,
        target_tokens,
        summary_budget,
        tail_fits,
    )
}

/// Plan replacing the whole live context (no verbatim tail): for `/done`, which closes
/// a piece of work, and for `/run` commands with `output = "replace"`.
pub fn plan_all(
    live: &LiveContext,
    measure: &ContextMeasure,
    target_tokens: u64,
) -> Result<CompressionPlan, NoPlan> {
    let shape = Shape::of(live, measure)?;
    let n = live.events.len();
    let summary_budget = summary_budget(target_tokens);
    build(
        live,
        measure,
        &shape,
        n,
        target_tokens,
        summary_budget,
        true,
    )
}

fn summary_budget(target_tokens: u64) -> u64 {
    (target_tokens / 5).clamp(SUMMARY_BUDGET_MIN, SUMMARY_BUDGET_MAX)
}

fn build(
    live: &LiveContext,
    measure: &ContextMeasure,
    shape: &Shape,
    cut: usize,
    target_tokens: u64,
    summary_budget: u64,
    tail_fits: bool,
) -> Result<CompressionPlan, NoPlan> {
    let previous = previous_range(live);
    let prefix_tokens = shape.suffix[0] - shape.suffix[cut];
    let previous_summary_tokens = measure
        .preamble_tokens
        .saturating_sub(measure.knowledge_tokens);
    let replaced_tokens = prefix_tokens + previous_summary_tokens;
    if cut == 0 || prefix_tokens == 0 {
        return Err(no_plan(
            "nothing to compress: the live context is only the turn in progress",
        ));
    }
    let first = match previous {
        Some([first, _]) => first,
        None => live.events[0].seq,
    };
    let last = live.events[cut - 1].seq;
    let kept_tokens = measure.fixed_tokens + measure.knowledge_tokens;
    let tail_tokens = shape.suffix[cut];
    Ok(CompressionPlan {
        replaces: [first, last],
        tail_start: cut,
        tokens_before: measure.total(),
        target_tokens,
        fixed_tokens: measure.fixed_tokens,
        kept_tokens,
        tail_tokens,
        replaced_tokens,
        summary_budget,
        tail_fits: tail_fits && kept_tokens + tail_tokens + summary_budget <= target_tokens,
    })
}

fn previous_range(live: &LiveContext) -> Option<[u64; 2]> {
    match live.compaction.as_ref().map(|e| &e.payload) {
        Some(Payload::Compaction(c)) => Some(c.replaces),
        _ => None,
    }
}

/// What the planner needs to know about the events, index by index.
struct Shape {
    /// `suffix[c]`: tokens of `events[c..]`; `suffix[n] == 0`.
    suffix: Vec<u64>,
    /// `cut_ok[c]`: no tool call in `events[..c]` waits for a result in `events[c..]`.
    cut_ok: Vec<bool>,
    /// `is_request[c]`: `events[c]` is a request typed by the user.
    is_request: Vec<bool>,
    last_request: Option<usize>,
}

impl Shape {
    fn of(live: &LiveContext, measure: &ContextMeasure) -> Result<Shape, NoPlan> {
        let events = &live.events;
        if !measure.matches(events) {
            return Err(no_plan(
                "internal: the context measure does not match the live context; measure again",
            ));
        }
        let n = events.len();
        let mut suffix = vec![0u64; n + 1];
        for i in (0..n).rev() {
            suffix[i] = suffix[i + 1] + measure.events[i].tokens;
        }
        // Only calls whose result is in the live context can be split from it; a call
        // left without result (an interrupted turn) blocks nothing.
        let answered: HashSet<&str> = events
            .iter()
            .filter_map(|e| e.payload.as_message())
            .flat_map(Message::tool_result_ids)
            .collect();
        let mut open: HashSet<&str> = HashSet::new();
        let mut cut_ok = vec![true; n + 1];
        let mut is_request = vec![false; n];
        let mut last_request = None;
        for (i, event) in events.iter().enumerate() {
            cut_ok[i] = open.is_empty();
            if let Some(m) = event.payload.as_message() {
                if is_user_request(m) {
                    is_request[i] = true;
                    last_request = Some(i);
                }
                for block in &m.content {
                    match block {
                        ContentBlock::ToolUse { id, .. } if answered.contains(id.as_str()) => {
                            open.insert(id.as_str());
                        }
                        ContentBlock::ToolResult { tool_use_id, .. } => {
                            open.remove(tool_use_id.as_str());
                        }
                        _ => {}
                    }
                }
            }
        }
        cut_ok[n] = open.is_empty();
        Ok(Shape {
            suffix,
            cut_ok,
            is_request,
            last_request,
        })
    }
}

/// A message the user typed: role user, some text, no tool results.
pub fn is_user_request(message: &cairn_core::Message) -> bool {
    message.role == Role::User
        && message
            .content
            .iter()
            .any(|b| matches!(b, ContentBlock::Text { .. }))
        && !message
            .content
            .iter()
            .any(|b| matches!(b, ContentBlock::ToolResult { .. }))
}
