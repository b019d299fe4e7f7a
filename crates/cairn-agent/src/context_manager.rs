//! The [`ContextManager`]: how large the live context is (measured event by event, so
//! planning never recounts it) and when it must shrink (the pressure levels of
//! `[compression]`, the hints, the waits after a compression that could not reach
//! its target). It decides; `pressure.rs` acts on its decisions and `compress.rs`
//! does the compressing.
//!
//! Exact counts of a large context take a tokenizer tens of milliseconds: they run
//! off the async workers ([`off_workers`]). Building an OpenAI tokenizer costs about
//! a second of CPU and ~60 MB, so while the provider reports each request's prompt
//! size, that figure plus a byte bound of what came after it decides instead
//! ([`ContextManager::uncounted_figure`]); the tokenizer is built only when a figure
//! nears a pressure level or the window.

use crate::compression::{
    ContextMeasure, Hint, HintState, PressureHit, effective_levels, manual_target, next_hint,
    pressure,
};
use cairn_core::display::grouped;
use cairn_core::settings::{PressureLevel, Settings};
use cairn_core::tokens::{self, TokenCounter};
use cairn_core::{LiveContext, Payload};
use cairn_llm::{ChatRequest, ModelRef};
use ulid::Ulid;

use crate::AgentError;
use crate::conversation::Conversation;

/// Room left for the system prompt and tool schemas when the live context is bounded
/// before they are known.
const FIXED_PART_ALLOWANCE: u64 = 32_000;

/// What the engine keeps between turns to manage one session's context: the token
/// counter and pressure levels of the current model, the hints already shown, and the
/// size of the live context event by event.
#[derive(Debug, Default)]
pub(crate) struct ContextManager {
    /// The session and model the figures below belong to.
    session: Option<Ulid>,
    model: Option<ModelRef>,
    counter: Option<TokenCounter>,
    levels: Vec<PressureLevel>,
    window: Option<u64>,
    hints: HintState,
    /// `hints` was read from the live context's `hint` events (once per session, so a
    /// resumed session does not show a hint it already showed).
    hints_loaded: bool,
    measure: Option<ContextMeasure>,
    /// The knowledge block changed (remember, forget): measure again.
    stale: bool,
    /// Highest seq of the live context when the last turn was accounted for; an answer
    /// with a higher seq is a request this process has not counted yet.
    accounted_seq: u64,
    /// An automatic compression could not bring the context under the lowest level
    /// (knowledge and the turn in flight fill it): do not try again, and pay for
    /// another summary, until the context has grown past this size.
    retry_above: Option<u64>,
    /// The same, for a compression inside a turn: the turn's latest tool calls and
    /// results had to stay, so it may not reach the target. This holds only until the
    /// turn ends; after it those results can be summarized too.
    turn_retry_above: Option<u64>,
    /// The first request of this session in this process went without an exact count
    /// (see [`ContextManager::defer_first_count`]).
    first_count_deferred: bool,
    /// The provider's prompt size for the newest request that reported one.
    report: Option<Report>,
}

/// A prompt size the provider reported, and which live events that request carried.
#[derive(Clone, Copy, Debug)]
struct Report {
    /// The request carried the first `events` events of the live context…
    events: usize,
    /// …the last of them this one (0: none), so a changed context is noticed.
    last_seq: u64,
    prompt_tokens: u64,
}

impl ContextManager {
    /// Bring the figures up to date with the agent's session and model; a new session
    /// starts a new cycle of hints, a new model a new count.
    pub(crate) fn sync(
        &mut self,
        session: Ulid,
        model: &ModelRef,
        settings: &Settings,
    ) -> Result<(), AgentError> {
        if self.session != Some(session) {
            *self = ContextManager {
                session: Some(session),
                ..ContextManager::default()
            };
        }
        if self.counter.is_none() || self.model.as_ref() != Some(model) {
            let counter = model.token_counter();
            self.report = None;
            self.window = model.context_window();
            self.levels = effective_levels(&settings.compression, self.window)?;
            self.counter = Some(counter);
            self.model = Some(model.clone());
            self.measure = None;
        }
        Ok(())
    }

    /// The token counter of the current model.
    pub(crate) fn counter(&self) -> TokenCounter {
        self.counter.unwrap_or_else(TokenCounter::estimate)
    }

    /// How exact the last measure is (`None` before the first).
    pub(crate) fn accuracy(&self) -> Option<tokens::Accuracy> {
        self.measure.as_ref().map(|m| m.accuracy)
    }

    /// The knowledge block or the live context changed behind the measure's back.
    pub(crate) fn invalidate(&mut self) {
        self.stale = true;
        self.report = None;
    }

    /// The provider reported `prompt_tokens` for a request that carried the first
    /// `events_sent` events of `live`.
    pub(crate) fn reported(&mut self, live: &LiveContext, events_sent: usize, prompt_tokens: u64) {
        self.report = (prompt_tokens > 0).then(|| Report {
            events: events_sent,
            last_seq: last_seq_of(&live.events[..events_sent.min(live.events.len())]),
            prompt_tokens,
        });
    }

    /// The last report, if it still describes the start of `live` (no compaction,
    /// reload or knowledge change since).
    fn valid_report(&self, live: &LiveContext) -> Option<Report> {
        self.report.filter(|r| {
            r.events <= live.events.len() && last_seq_of(&live.events[..r.events]) == r.last_seq
        })
    }

    /// At least as many tokens as the next request would carry, found without
    /// building the tokenizer: the provider's figure for the last request plus a byte
    /// bound of every message added since. `None` when the tokenizer is built already
    /// (counting is then cheap and exact) or no fresh figure was reported.
    pub(crate) fn uncounted_figure(&self, live: &LiveContext) -> Option<u64> {
        if self.counter().is_ready() {
            return None;
        }
        let report = self.valid_report(live)?;
        let added: u64 = live.events[report.events..]
            .iter()
            .filter_map(|e| e.payload.as_message())
            .map(TokenCounter::message_bound)
            .sum();
        Some(report.prompt_tokens + added)
    }

    /// Start building the tokenizer in the background when `figure` is past four
    /// fifths of where an exact count will be needed (the lowest level, or nine tenths
    /// of the window), so that count does not wait for the build.
    pub(crate) fn warm_up_near(&self, figure: u64) {
        let lowest = self.levels.first().map(|l| l.threshold);
        let needed_at = [lowest, self.window.map(|w| w / 10 * 9)]
            .into_iter()
            .flatten()
            .min();
        if needed_at.is_some_and(|at| figure >= at / 5 * 4) {
            tokens::warm_up(self.counter());
        }
    }

    /// The levels in force for the current model (sorted by threshold).
    pub(crate) fn levels(&self) -> &[PressureLevel] {
        &self.levels
    }

    /// Bring the measure up to date with `live`, counting off the async worker.
    pub(crate) fn refresh(&mut self, conversation: &Conversation) {
        off_workers(|| {
            self.measure(conversation);
        });
    }

    /// The measure of `live`, counting here whatever [`ContextManager::refresh`] has
    /// not (nothing, when it ran since the last change).
    pub(crate) fn measure(&mut self, conversation: &Conversation) -> &mut ContextMeasure {
        let live = conversation.live();
        let counter = self.counter();
        let usable = !self.stale
            && self.measure.as_ref().is_some_and(|m| {
                m.events.len() <= live.events.len()
                    && m.events
                        .iter()
                        .zip(&live.events)
                        .all(|(m, e)| m.seq == e.seq)
            });
        if !usable {
            let fixed = self.measure.as_ref().map_or(0, |m| m.fixed_tokens);
            let mut fresh = ContextMeasure::measure_with(&counter, conversation.preamble(), live);
            fresh.fixed_tokens = fixed;
            self.measure = Some(fresh);
            self.stale = false;
        }
        let measure = self.measure.get_or_insert_with(|| {
            ContextMeasure::measure_with(&counter, conversation.preamble(), live)
        });
        for event in &live.events[measure.events.len()..] {
            measure.push(&counter, event);
        }
        measure
    }

    /// Learn the fixed part of the prompt (system prompt, tool schemas) from the
    /// provider's figure for the newest request not accounted for yet, if it reported
    /// one. Returns true when it did (the request's figure then describes the context
    /// it carried). `last`: the newest request's index in `live.events` of the first
    /// event added after it was sent, and the prompt size the provider reported.
    pub(crate) fn calibrate(
        &mut self,
        last: Option<(usize, u64)>,
        conversation: &Conversation,
    ) -> bool {
        let live = conversation.live();
        let accounted = self.accounted_seq;
        // The newest request, if its answer is newer than what was last accounted for.
        // (An older `last_request` may point into a context that has been compressed
        // since; its figure no longer describes anything.)
        let fresh = last
            .filter(|&(sent, _)| {
                live.events
                    .get(sent)
                    .is_some_and(|answer| answer.seq > accounted)
            })
            // A report that still describes the context's start: the fixed part was
            // not learnt when the turn ended without counting.
            .or_else(|| self.valid_report(live).map(|r| (r.events, r.prompt_tokens)));
        let measure = self.measure(conversation);
        match fresh {
            Some((sent, reported)) if reported > 0 => {
                let sent_tokens: u64 = measure.events[..sent.min(measure.events.len())]
                    .iter()
                    .map(|e| e.tokens)
                    .sum();
                measure.fixed_tokens =
                    reported.saturating_sub(measure.preamble_tokens + sent_tokens);
                true
            }
            _ => false,
        }
    }

    /// Whether the first request of a resumed session may go before the exact count.
    /// Building an OpenAI tokenizer and counting a large context takes about a second
    /// of CPU, all of it before the first byte reaches the provider. When a bound made
    /// without the tokenizer shows the request is far inside the window, it goes at
    /// once; when the answer is in, the prompt size the provider reports (or, with
    /// none, an exact count) decides: a pressure level reached is then relieved after
    /// this first request instead of before it. Once per session and process.
    pub(crate) fn defer_first_count(&mut self, conversation: &Conversation) -> bool {
        if self.first_count_deferred || self.measure.is_some() {
            return false;
        }
        self.first_count_deferred = true;
        let Some(window) = self.window else {
            return false;
        };
        // Only a BPE count is worth deferring (asking for the counter's accuracy, as
        // this did, built the BPE: a second of CPU before the first byte).
        self.counter().method() != tokens::Method::BytesHeuristic
            && FIXED_PART_ALLOWANCE
                + ContextMeasure::bound(conversation.preamble(), conversation.live())
                < window / 10 * 9
    }

    /// The turn is accounted for up to the newest event of `live`; what its tool calls
    /// kept verbatim may be summarized now.
    pub(crate) fn turn_ended(&mut self, live: &LiveContext) {
        self.accounted_seq = live.events.last().map_or(0, |e| e.seq);
        self.turn_retry_above = None;
    }

    /// A compaction made `live` the new live context: a new cycle of hints, no wait.
    pub(crate) fn compacted(&mut self, conversation: &Conversation) {
        let live = conversation.live();
        self.report = None;
        self.measure(conversation);
        self.hints.reset();
        self.retry_above = None;
        self.turn_retry_above = None;
        self.accounted_seq = live.events.last().map_or(0, |e| e.seq);
    }

    /// The level reached between turns, unless an earlier compression asked to wait.
    pub(crate) fn pressure_after_turn(&self, live_tokens: u64) -> Option<PressureHit> {
        let waiting = self.retry_above.is_some_and(|above| live_tokens < above);
        pressure(live_tokens, &self.levels).filter(|_| !waiting)
    }

    /// The level reached before a request of a turn; past the window, always one.
    pub(crate) fn pressure_before_request(&self, live_tokens: u64) -> Option<PressureHit> {
        let over_window = self.window.is_some_and(|w| live_tokens >= w);
        let waiting = [self.retry_above, self.turn_retry_above]
            .iter()
            .flatten()
            .any(|&above| live_tokens < above);
        pressure(live_tokens, &self.levels)
            .filter(|_| !waiting || over_window)
            .or_else(|| over_window.then(|| self.window_hit(live_tokens)).flatten())
    }

    /// A context past the window but under every level (levels set above the window):
    /// compress to the top level's ratio anyway, the provider would refuse it.
    fn window_hit(&self, live_tokens: u64) -> Option<PressureHit> {
        let levels = &self.levels;
        let level = levels.last()?.clone();
        Some(PressureHit {
            level_index: levels.len() - 1,
            target_tokens: manual_target(live_tokens, levels),
            level,
            live_tokens,
        })
    }

    /// A compression under pressure left `after` tokens; when that is still above the
    /// lowest level (knowledge and the turn in flight fill it), wait for a tenth more
    /// growth before paying for another summary.
    pub(crate) fn relieved(&mut self, after: u64, in_turn: bool) {
        let lowest = self.levels.first().map_or(u64::MAX, |l| l.threshold);
        let retry_above = (after >= lowest).then(|| after + after / 10);
        if in_turn {
            self.turn_retry_above = retry_above;
        } else {
            self.retry_above = retry_above;
        }
    }

    /// The hint to show now, if the context nears the next level and it was not shown
    /// in this cycle; recorded as shown.
    pub(crate) fn next_hint(
        &mut self,
        live: &LiveContext,
        live_tokens: u64,
        enabled: bool,
    ) -> Option<Hint> {
        if !self.hints_loaded {
            self.hints = hints_shown(live);
            self.hints_loaded = true;
        }
        let hint = next_hint(live_tokens, &self.levels, enabled, &self.hints)?;
        self.hints.record(&hint);
        Some(hint)
    }

    /// `Some(message)` when `request` is larger than `model`'s window (when known):
    /// sending it would only be refused. The measure counts tool outputs whole while
    /// the request carries them cut, so the request itself is counted only when the
    /// measure comes near the window.
    pub(crate) fn window_overflow(
        &self,
        model: &ModelRef,
        request: &ChatRequest,
    ) -> Option<String> {
        let window = model.context_window()?;
        let measured = match self.measure.as_ref() {
            Some(measure) => measure.total(),
            // Not counted yet (see `defer_first_count`): bound the request itself.
            None => crate::request_size::token_bound(request),
        };
        if measured < window / 10 * 9 {
            return None;
        }
        let counter = self.counter();
        let sent = crate::request_size::count(&counter, request);
        if sent < window {
            return None;
        }
        let estimated = if counter.accuracy() == tokens::Accuracy::Exact {
            ""
        } else {
            " (estimated)"
        };
        Some(format!(
            "the next request would carry {} tokens{estimated}, more than the {} tokens of \
             {}'s window, even after compressing the context; it was not sent. Nothing was \
             lost: the session keeps every event. Switch to a model with a larger window \
             (/model), or let /run reduce rewrite the context, then send a message to go on",
            grouped(sent),
            grouped(window),
            model
        ))
    }
}

/// Run a token count where it holds no async worker: an exact count of a large text
/// is CPU work that would otherwise stall every task queued on that worker. On the
/// multi-threaded runtime `block_in_place` hands the worker's tasks to another thread
/// first (no copy of the context is made, unlike `spawn_blocking`, which would need
/// an owned one); on a current-thread runtime (tests) it counts in place.
pub(crate) fn off_workers<T>(count: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(count),
        _ => count(),
    }
}

fn last_seq_of(events: &[cairn_core::Event]) -> u64 {
    events.last().map_or(0, |e| e.seq)
}

/// The hints shown since the latest compaction, which starts a new cycle: the `hint`
/// events appended after it. (Its verbatim tail may hold older ones.)
fn hints_shown(live: &LiveContext) -> HintState {
    let cycle_start = live.compaction.as_ref().map_or(0, |c| c.seq);
    let mut state = HintState::default();
    for event in live.events.iter().filter(|e| e.seq > cycle_start) {
        if let Payload::Hint(hint) = &event.payload {
            state.record(&Hint {
                threshold: hint.threshold,
                live_tokens: hint.live_tokens,
                text: String::new(),
            });
        }
    }
    state
}
