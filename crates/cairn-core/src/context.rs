//! The live context: what is sent to a model on resume.
//!
//! It is the latest compaction's replacement (summary and knowledge) followed by the
//! events after the range it replaced, minus superseded compaction events.
//! Stores load it in O(live context) using `Session::context_start_seq`.

use crate::{Event, Session};

#[derive(Clone, Debug, PartialEq)]
pub struct LiveContext {
    pub session: Session,
    /// The latest compaction, whose summary and knowledge open the context.
    pub compaction: Option<Event>,
    /// Events after the compacted range, oldest first, compaction events excluded.
    pub events: Vec<Event>,
    /// Knowledge events retained in the live context (newest N and every pinned one),
    /// oldest first. Filled by the store from its knowledge index.
    pub knowledge: Vec<Event>,
}

/// The live view of a complete, ordered history (used to check stores and for
/// `context --all`): the compaction that opens the live context and the events it
/// holds, rewinds and forks' rules included ([`crate::lineage`]). A history whose
/// boundaries do not replay (a hand-edited file) is shown whole.
pub fn live_view(history: &[Event]) -> (Option<&Event>, Vec<&Event>) {
    let state = crate::lineage::replay(history).unwrap_or_default();
    let latest = state
        .compaction_seq
        .and_then(|seq| history.iter().find(|e| e.seq == seq));
    let tail = history
        .iter()
        .filter(|e| state.holds(e.seq) && !crate::lineage::is_boundary_kind(e.payload.kind()))
        .collect();
    (latest, tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Compaction, Message, Payload, Role};

    fn msg(seq: u64, text: &str) -> Event {
        Event {
            seq,
            ts: jiff::Timestamp::UNIX_EPOCH,
            payload: Payload::Message(Message::text(Role::User, text)),
        }
    }

    fn compaction(seq: u64, first: u64, last: u64) -> Event {
        Event {
            seq,
            ts: jiff::Timestamp::UNIX_EPOCH,
            payload: Payload::Compaction(Compaction {
                tokens_before: 0,
                tokens_after: 0,
                ..Compaction::new([first, last], format!("summary of {first}..{last}"))
            }),
        }
    }

    #[test]
    fn latest_compaction_and_its_tail() {
        let history = vec![
            msg(1, "a"),
            msg(2, "b"),
            compaction(3, 1, 2),
            msg(4, "c"),
            msg(5, "d"),
            compaction(6, 1, 4),
            msg(7, "e"),
        ];
        let (latest, tail) = live_view(&history);
        assert_eq!(latest.map(|e| e.seq), Some(6));
        let seqs: Vec<u64> = tail.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![5, 7]);
    }

    #[test]
    fn no_compaction_is_the_whole_history() {
        let history = vec![msg(1, "a"), msg(2, "b")];
        let (latest, tail) = live_view(&history);
        assert!(latest.is_none());
        assert_eq!(tail.len(), 2);
    }
}
