//! Forks and rewinds: which stored events make up a session's history, and which of
//! them its live context holds. Decided here once; a backend only stores rows and
//! reads the seq ranges this module names.
//!
//! - A **fork** records its parent and fork point (`Session::fork_seq`) and stores
//!   only its own events, numbered on from the fork point: its history is the
//!   parent's history up to `fork_seq` (itself perhaps a fork's) followed by its
//!   own events. Forking copies nothing, whatever the parent's size.
//! - A **rewind** is an event (`kind: "rewind"`, field `to_seq`): from it on, the
//!   live context is what it was just before `to_seq`, followed by the events after
//!   the rewind. The rewound events stay in the history (`context --all`, forks).
//! - A backend remembers the [`LiveState`] after every compaction and rewind (and a
//!   fork's at its fork point), so "the live state as of seq N" is an index probe
//!   and resume reads only the live ranges ([`LiveState::spans`]).

use serde_json::{Map, Value};

use crate::{Error, Event, Payload, Result, Session};

/// The kind of a rewind event.
pub const REWIND_KIND: &str = "rewind";

/// Which seqs of a session's history its live context holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveState {
    /// The compaction whose summary opens the live context.
    pub compaction_seq: Option<u64>,
    /// The first seq of the live context.
    pub context_start_seq: u64,
    /// Ranges `[first, last]` after the start that rewinds took out, ascending and
    /// disjoint.
    pub gaps: Vec<[u64; 2]>,
}

impl Default for LiveState {
    fn default() -> Self {
        LiveState {
            compaction_seq: None,
            context_start_seq: 1,
            gaps: Vec::new(),
        }
    }
}

impl LiveState {
    /// The state a session's index row holds.
    pub fn of(session: &Session) -> Self {
        LiveState {
            compaction_seq: session.compaction_seq,
            context_start_seq: session.context_start_seq,
            gaps: session.live_gaps.clone(),
        }
    }

    /// After the compaction at `seq` replaced `[first, last]`: the live context
    /// starts after `last`; gaps before that no longer matter.
    pub fn after_compaction(&self, seq: u64, replaces: [u64; 2]) -> Self {
        let start = replaces[1] + 1;
        let gaps = self
            .gaps
            .iter()
            .filter(|gap| gap[1] >= start)
            .map(|gap| [gap[0].max(start), gap[1]])
            .collect();
        LiveState {
            compaction_seq: Some(seq),
            context_start_seq: start,
            gaps,
        }
    }

    /// After the rewind at `seq` to `to`, given `before`, the state as of `to - 1`:
    /// that live context, then whatever follows the rewind.
    pub fn after_rewind(before: &LiveState, to: u64, seq: u64) -> Self {
        let mut state = before.clone();
        state.gaps.retain(|gap| gap[1] < to);
        if to.max(state.context_start_seq) <= seq {
            state.gaps.push([to.max(state.context_start_seq), seq]);
        }
        state
    }

    /// Whether the event at `seq` is in the live context (compactions and rewinds
    /// aside, which never are).
    pub fn holds(&self, seq: u64) -> bool {
        seq >= self.context_start_seq && !self.gaps.iter().any(|g| g[0] <= seq && seq <= g[1])
    }

    /// The seq ranges of the live context of a history ending at `head`.
    pub fn spans(&self, head: u64) -> Vec<[u64; 2]> {
        let mut spans = Vec::new();
        let mut from = self.context_start_seq;
        for gap in &self.gaps {
            if gap[0] > from {
                spans.push([from, gap[0] - 1]);
            }
            from = from.max(gap[1] + 1);
        }
        if from <= head {
            spans.push([from, head]);
        }
        spans.retain(|s| s[0] <= s[1] && s[0] <= head);
        for span in &mut spans {
            span[1] = span[1].min(head);
        }
        spans
    }
}

/// An event that moves the live context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    Compaction { replaces: [u64; 2] },
    Rewind { to: u64 },
}

/// The boundary the event at `seq` is, checked; `None` for every other event.
pub fn boundary(seq: u64, payload: &Payload) -> Result<Option<Boundary>> {
    match payload {
        Payload::Compaction(c) => Ok(Some(Boundary::Compaction {
            replaces: c.replaces,
        })),
        Payload::Other { kind, fields } if kind == REWIND_KIND => {
            let to = fields.get("to_seq").and_then(Value::as_u64);
            match to {
                Some(to) if to >= 1 && to < seq => Ok(Some(Boundary::Rewind { to })),
                _ => Err(Error::invalid(format!(
                    "event seq {seq}: rewind field \"to_seq\" must be a seq from 1 to {} \
                     (before the rewind itself)",
                    seq.saturating_sub(1)
                ))),
            }
        }
        _ => Ok(None),
    }
}

/// The event that rewinds the live context to just before `to_seq`.
pub fn rewind_event(to_seq: u64) -> Payload {
    let mut fields = Map::new();
    fields.insert("to_seq".into(), Value::from(to_seq));
    Payload::Other {
        kind: REWIND_KIND.into(),
        fields,
    }
}

/// Whether the event ever appears in a live context's events.
pub fn is_boundary_kind(kind: &str) -> bool {
    kind == "compaction" || kind == REWIND_KIND
}

/// Where part of a session's history is stored: the events of `key` with
/// `after < seq <= upto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link<K> {
    pub key: K,
    pub after: u64,
    pub upto: u64,
}

/// Builds the links of a session's history, walking from the session up its
/// fork parents: push each session (its key and fork point) in that order.
#[derive(Debug)]
pub struct Chain<K> {
    links: Vec<Link<K>>,
    upto: u64,
}

/// The most fork generations a history may span (a guard against a cycle in a
/// damaged store, not a limit anyone meets).
pub const MAX_FORK_DEPTH: usize = 10_000;

impl<K: Copy> Default for Chain<K> {
    fn default() -> Self {
        Chain {
            links: Vec::new(),
            upto: u64::MAX,
        }
    }
}

impl<K: Copy> Chain<K> {
    /// Adds the next session up the chain; returns the fork point to follow to its
    /// parent, or `None` when the history starts in this session.
    pub fn push(&mut self, key: K, fork_seq: Option<u64>) -> Result<Option<u64>> {
        if self.links.len() >= MAX_FORK_DEPTH {
            return Err(Error::Storage(format!(
                "a fork chain longer than {MAX_FORK_DEPTH} sessions (a cycle?)"
            )));
        }
        let after = fork_seq.unwrap_or(0).min(self.upto);
        self.links.push(Link {
            key,
            after,
            upto: self.upto,
        });
        self.upto = after;
        Ok(fork_seq.filter(|_| after > 0))
    }

    pub fn links(&self) -> &[Link<K>] {
        &self.links
    }

    /// The link that stores `seq`.
    pub fn owner(&self, seq: u64) -> Option<Link<K>> {
        self.links
            .iter()
            .find(|l| l.after < seq && seq <= l.upto)
            .copied()
    }

    /// The stored pieces of the seq `ranges` (ascending), ascending: which session
    /// holds which part.
    pub fn pieces(&self, ranges: &[[u64; 2]]) -> Vec<(K, [u64; 2])> {
        let mut out = Vec::new();
        for range in ranges {
            // Links run from the newest part of the history to the oldest.
            for link in self.links.iter().rev() {
                let from = range[0].max(link.after + 1);
                let to = range[1].min(link.upto);
                if from <= to {
                    out.push((link.key, [from, to]));
                }
            }
        }
        out
    }
}

/// The live state after each boundary of a complete history, replayed in memory
/// (to check stores, and for `context --all`).
pub fn replay(history: &[Event]) -> Result<LiveState> {
    let mut bounds: Vec<(u64, LiveState)> = Vec::new();
    let mut state = LiveState::default();
    for event in history {
        match boundary(event.seq, &event.payload)? {
            Some(Boundary::Compaction { replaces }) => {
                state = state.after_compaction(event.seq, replaces);
            }
            Some(Boundary::Rewind { to }) => {
                let before = bounds
                    .iter()
                    .rev()
                    .find(|(seq, _)| *seq < to)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_default();
                state = LiveState::after_rewind(&before, to, event.seq);
            }
            None => continue,
        }
        bounds.push((event.seq, state.clone()));
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_skip_the_gaps() {
        let state = LiveState {
            compaction_seq: Some(4),
            context_start_seq: 3,
            gaps: vec![[6, 9], [12, 12]],
        };
        assert_eq!(state.spans(20), vec![[3, 5], [10, 11], [13, 20]]);
        assert_eq!(state.spans(11), vec![[3, 5], [10, 11]]);
        assert!(state.holds(5) && !state.holds(7) && !state.holds(2) && state.holds(13));
    }

    #[test]
    fn a_rewind_restores_the_state_before_its_target_and_a_compaction_clips_gaps() {
        let before = LiveState::default();
        let rewound = LiveState::after_rewind(&before, 4, 9);
        assert_eq!(rewound.gaps, vec![[4, 9]]);
        assert_eq!(rewound.spans(12), vec![[1, 3], [10, 12]]);
        let compacted = rewound.after_compaction(13, [1, 5]);
        assert_eq!(compacted.context_start_seq, 6);
        assert_eq!(compacted.gaps, vec![[6, 9]]);
        assert_eq!(compacted.spans(13), vec![[10, 13]]);
    }

    #[test]
    fn chains_split_ranges_between_forks() {
        // F forked P at 7; P forked G at 3.
        let mut chain = Chain::default();
        assert_eq!(chain.push('F', Some(7)).unwrap(), Some(7));
        assert_eq!(chain.push('P', Some(3)).unwrap(), Some(3));
        assert_eq!(chain.push('G', None).unwrap(), None);
        assert_eq!(
            chain.pieces(&[[2, 9]]),
            vec![('G', [2, 3]), ('P', [4, 7]), ('F', [8, 9])]
        );
        assert_eq!(chain.owner(5).map(|l| l.key), Some('P'));
        // A fork of P at 2 (before P's own fork point) reads G only.
        let mut early = Chain::default();
        early.push('E', Some(2)).unwrap();
        early.push('P', Some(3)).unwrap();
        early.push('G', None).unwrap();
        assert_eq!(early.pieces(&[[1, 4]]), vec![('G', [1, 2]), ('E', [3, 4])]);
    }

    #[test]
    fn a_rewind_must_point_before_itself() {
        assert!(boundary(5, &rewind_event(5)).is_err());
        assert!(boundary(5, &rewind_event(0)).is_err());
        assert_eq!(
            boundary(5, &rewind_event(2)).unwrap(),
            Some(Boundary::Rewind { to: 2 })
        );
    }
}
