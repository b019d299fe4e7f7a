//! The [`Conversation`]: the session being driven, its live context and the
//! attachments queued for the next message. The session row lives in one place (the
//! live context's), so nothing has to be kept in step by hand. The live context's
//! preamble is built here once and kept until the live context is replaced.

use std::sync::OnceLock;

use cairn_core::live_messages::Preamble;
use cairn_core::{Event, LiveContext, Session};

use crate::media::Pending;

pub(crate) struct Conversation {
    /// What the next request is built from; `live.session` is the session's row as of
    /// the last store call.
    live: LiveContext,
    /// The preamble of `live` (summary and knowledge block), built on first use for
    /// the measure, the bound and every request alike; only the compaction and the
    /// knowledge shape it, and those change only through [`Conversation::set_live`].
    preamble: OnceLock<Preamble>,
    /// Attachments queued by `/image` and `/video` for the next message.
    pending: Vec<Pending>,
}

impl Conversation {
    /// `session` with an empty live context, until [`Conversation::set_live`] loads it.
    pub(crate) fn new(session: Session) -> Self {
        Conversation::loaded(LiveContext {
            session,
            compaction: None,
            events: Vec::new(),
            knowledge: Vec::new(),
        })
    }

    pub(crate) fn loaded(live: LiveContext) -> Self {
        Conversation {
            live,
            preamble: OnceLock::new(),
            pending: Vec::new(),
        }
    }

    pub(crate) fn session(&self) -> &Session {
        &self.live.session
    }

    pub(crate) fn live(&self) -> &LiveContext {
        &self.live
    }

    /// The session's row as the store returned it after a change.
    pub(crate) fn set_session(&mut self, session: Session) {
        self.live.session = session;
    }

    /// A live context loaded again from the store (its session row comes with it).
    pub(crate) fn set_live(&mut self, live: LiveContext) {
        self.live = live;
        self.preamble = OnceLock::new();
    }

    /// The preamble of the live context ([`Preamble::of`]), built once per live context.
    pub(crate) fn preamble(&self) -> &Preamble {
        self.preamble.get_or_init(|| Preamble::of(&self.live))
    }

    /// An event just appended to the store joins the live context.
    pub(crate) fn push(&mut self, event: Event) {
        self.live.events.push(event);
    }

    pub(crate) fn pending(&self) -> &[Pending] {
        &self.pending
    }

    pub(crate) fn queue(&mut self, attachment: Pending) {
        self.pending.push(attachment);
    }

    /// The queued attachments, leaving none.
    pub(crate) fn take_pending(&mut self) -> Vec<Pending> {
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::live_messages::{assemble, assemble_after};
    use cairn_core::{KnowledgeItem, KnowledgeKind, Message, Payload, Role};

    fn event(seq: u64, payload: Payload) -> Event {
        Event {
            seq,
            ts: jiff::Timestamp::UNIX_EPOCH,
            payload,
        }
    }

    fn decision(seq: u64, text: &str) -> Event {
        event(
            seq,
            Payload::Knowledge(KnowledgeItem {
                knowledge_kind: KnowledgeKind::Decision,
                text: text.into(),
                pinned: true,
                scope: Default::default(),
                extra: Default::default(),
            }),
        )
    }

    fn live(knowledge: &str) -> LiveContext {
        let mut live = crate::run_commands::tests::live();
        live.knowledge = vec![decision(2, knowledge)];
        live
    }

    fn preamble_says(conversation: &Conversation, text: &str) -> bool {
        conversation
            .preamble()
            .message
            .as_ref()
            .is_some_and(|m| m.plain_text().contains(text))
    }

    #[test]
    fn the_preamble_is_built_once_per_live_context_and_rebuilt_when_it_is_replaced() {
        let mut conversation = Conversation::loaded(live("use PostgreSQL"));
        let first: *const Preamble = conversation.preamble();
        assert!(preamble_says(&conversation, "use PostgreSQL"));
        // The request carries exactly what the uncached assembly gives.
        assert_eq!(
            assemble_after(conversation.preamble().message.clone(), conversation.live()),
            assemble(conversation.live())
        );
        // A new message does not touch the preamble: the same one is handed out.
        conversation.push(event(
            3,
            Payload::Message(Message::text(Role::Assistant, "ok")),
        ));
        assert!(std::ptr::eq(first, conversation.preamble()));
        // A live context loaded again (knowledge changed) gets its own.
        conversation.set_live(live("use SQLite"));
        assert!(preamble_says(&conversation, "use SQLite"));
        assert!(!preamble_says(&conversation, "use PostgreSQL"));
        assert_eq!(conversation.preamble(), &Preamble::of(conversation.live()));
    }
}
