//! The [`Conversation`]: the session being driven, its live context and the
//! attachments queued for the next message. The session row lives in one place (the
//! live context's), so nothing has to be kept in step by hand.

use cairn_core::{Event, LiveContext, Session};

use crate::media::Pending;

pub(crate) struct Conversation {
    /// What the next request is built from; `live.session` is the session's row as of
    /// the last store call.
    live: LiveContext,
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
