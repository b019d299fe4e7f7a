//! The size of a live context, event by event, so that planning a compression never
//! has to recount it. The agent measures once (on resume or before the first plan)
//! and then [`ContextMeasure::push`]es each new event.

use cairn_core::live_messages::Preamble;
use cairn_core::tokens::{Accuracy, MESSAGE_OVERHEAD_TOKENS, TokenCounter};
use cairn_core::{Event, LiveContext};

/// The tokens one live event adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventSize {
    pub seq: u64,
    pub tokens: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ContextMeasure {
    pub accuracy: Accuracy,
    /// Sent with every request but not part of the live context: system prompt, tool
    /// schemas. Compression cannot shrink it. See [`ContextMeasure::calibrate`].
    pub fixed_tokens: u64,
    /// The preamble: the latest summary and the knowledge block.
    pub preamble_tokens: u64,
    /// The knowledge block alone (it survives every compression).
    pub knowledge_tokens: u64,
    /// One entry per event of `LiveContext::events`, in the same order.
    pub events: Vec<EventSize>,
}

impl ContextMeasure {
    pub fn measure(counter: &TokenCounter, live: &LiveContext) -> Self {
        ContextMeasure::measure_with(counter, &Preamble::of(live), live)
    }

    /// [`ContextMeasure::measure`] with the preamble already built ([`Preamble::of`]
    /// of `live`): the agent builds it once per live context.
    pub fn measure_with(counter: &TokenCounter, preamble: &Preamble, live: &LiveContext) -> Self {
        let knowledge_tokens = preamble
            .knowledge_block
            .as_ref()
            .map_or(0, |b| counter.count_text(b) + MESSAGE_OVERHEAD_TOKENS);
        let preamble_tokens = preamble
            .message
            .as_ref()
            .map_or(0, |m| counter.count_message(m));
        let events = counter
            .count_each_event(&live.events)
            .into_iter()
            .zip(&live.events)
            .map(|(tokens, e)| EventSize { seq: e.seq, tokens })
            .collect();
        ContextMeasure {
            accuracy: counter.accuracy(),
            fixed_tokens: 0,
            preamble_tokens,
            knowledge_tokens,
            events,
        }
    }

    /// An upper bound of what [`ContextMeasure::measure`] would count, found without
    /// a tokenizer (see [`TokenCounter::message_bound`]): when even this is far from
    /// the window, an exact count can wait until the tokenizer is loaded.
    /// `preamble`: [`Preamble::of`] of `live`.
    pub fn bound(preamble: &Preamble, live: &LiveContext) -> u64 {
        let preamble = preamble
            .message
            .as_ref()
            .map_or(0, TokenCounter::message_bound);
        let events: u64 = live
            .events
            .iter()
            .filter_map(|e| e.payload.as_message())
            .map(TokenCounter::message_bound)
            .sum();
        preamble + events
    }

    /// Record an event appended to the live context.
    pub fn push(&mut self, counter: &TokenCounter, event: &Event) {
        self.events.push(EventSize {
            seq: event.seq,
            tokens: counter.count_event(event),
        });
    }

    /// The live context's own tokens (preamble and events), without the fixed part.
    pub fn counted_tokens(&self) -> u64 {
        self.preamble_tokens + self.events.iter().map(|e| e.tokens).sum::<u64>()
    }

    /// Everything a request carries: fixed part, preamble and events.
    pub fn total(&self) -> u64 {
        self.fixed_tokens + self.counted_tokens()
    }

    /// Take the provider's reported prompt size of a request that carried exactly
    /// this live context: what it reports beyond our count is the fixed part
    /// (system prompt, tool schemas).
    pub fn calibrate(&mut self, reported_prompt_tokens: u64) {
        self.fixed_tokens = reported_prompt_tokens.saturating_sub(self.counted_tokens());
    }

    /// Whether this measure describes exactly these events.
    pub fn matches(&self, events: &[Event]) -> bool {
        self.events.len() == events.len()
            && self.events.iter().zip(events).all(|(m, e)| m.seq == e.seq)
    }
}
