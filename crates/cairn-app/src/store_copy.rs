//! `cairn store copy`: everything of one store into another — sessions with their
//! events, attachments and pins, checkpoints and the pool's signals — by id, so a
//! copy can run again: what is already there is left alone (a session that grew
//! since gets its new events), and a name held by a different session is
//! reported, never overwritten.

use std::collections::HashSet;

use cairn_core::store::ImportStream;
use cairn_core::{
    Error, Event, NewEvent, Payload, Result, Session, SessionFilter, SessionName, Store, Timestamp,
};
use serde::Serialize;
use ulid::Ulid;

use crate::media::for_each_media;

/// Events read from the source per round trip.
const PAGE: u32 = 1_000;

/// What one step of the copy was, for a progress bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyStep {
    /// How many items (sessions, checkpoints, pool signals) the copy goes over.
    Total(u64),
    /// One item done; says which.
    Done(String),
}

/// A session the target already has under its name, with another id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NameConflict {
    pub name: SessionName,
    pub source_id: Ulid,
    pub target_id: Ulid,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CopySummary {
    pub sessions_copied: u64,
    /// Sessions the target had already, with every event.
    pub sessions_present: u64,
    /// Sessions the target had already, with fewer events: the rest appended.
    pub sessions_extended: u64,
    pub events_copied: u64,
    pub attachments_copied: u64,
    pub checkpoints_copied: u64,
    pub checkpoints_present: u64,
    pub pool_signals_copied: u64,
    pub pool_signals_present: u64,
    /// Sessions not copied because their name is taken by another session.
    pub name_conflicts: Vec<NameConflict>,
}

/// Copies every session, checkpoint and pool signal of `from` into `to`.
pub async fn copy_store(
    from: &dyn Store,
    to: &dyn Store,
    on_step: &mut (dyn FnMut(CopyStep) + Send),
) -> Result<CopySummary> {
    let mut listed = from
        .list_sessions(&SessionFilter {
            project: None,
            limit: 0,
            offset: 0,
        })
        .await?;
    // Oldest first: parents before their forks and sub-agents.
    listed.sort_by_key(|s| s.created_at);
    let mut checkpoints = Vec::new();
    for latest in from.recent_checkpoints(None, 0).await? {
        checkpoints.extend(from.checkpoints(&latest.session_id).await?);
    }
    checkpoints.sort_by(|a, b| a.checkpoint_id.cmp(&b.checkpoint_id));
    let signals = from.pool_signals(None, Timestamp::MIN).await?;
    on_step(CopyStep::Total(
        (listed.len() + checkpoints.len() + signals.len()) as u64,
    ));

    let mut summary = CopySummary::default();
    let mut attachments_here = HashSet::new();
    for listed in listed {
        let session = from.session(&listed.name).await?;
        copy_session(from, to, &session, &mut attachments_here, &mut summary).await?;
        on_step(CopyStep::Done(format!("session {}", session.name)));
    }
    for checkpoint in &checkpoints {
        if to.copy_checkpoint(checkpoint).await? {
            summary.checkpoints_copied += 1;
        } else {
            summary.checkpoints_present += 1;
        }
        on_step(CopyStep::Done(format!(
            "checkpoint {}",
            checkpoint.checkpoint_id
        )));
    }
    for signal in &signals {
        if to.copy_pool_signal(signal).await? {
            summary.pool_signals_copied += 1;
        } else {
            summary.pool_signals_present += 1;
        }
        on_step(CopyStep::Done(format!("pool signal {}", signal.topic)));
    }
    Ok(summary)
}

async fn copy_session(
    from: &dyn Store,
    to: &dyn Store,
    session: &Session,
    attachments_here: &mut HashSet<String>,
    summary: &mut CopySummary,
) -> Result<()> {
    match to.session_by_id(session.id).await {
        Ok(present) => {
            if present.head_seq >= session.head_seq {
                summary.sessions_present += 1;
            } else {
                let events = events_after(from, session.id, present.head_seq).await?;
                copy_attachments(from, to, &events, attachments_here, summary).await?;
                let new: Vec<NewEvent> = events
                    .into_iter()
                    .map(|e| NewEvent {
                        ts: Some(e.ts),
                        payload: e.payload,
                    })
                    .collect();
                summary.events_copied += new.len() as u64;
                to.append_events(session.id, new).await?;
                summary.sessions_extended += 1;
            }
            copy_pins(from, to, session.id).await?;
            return Ok(());
        }
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    match to.session(&session.name).await {
        Ok(other) => {
            summary.name_conflicts.push(NameConflict {
                name: session.name.clone(),
                source_id: session.id,
                target_id: other.id,
            });
            return Ok(());
        }
        Err(Error::NotFound { .. }) => {}
        Err(e) => return Err(e),
    }
    let events = events_after(from, session.id, 0).await?;
    copy_attachments(from, to, &events, attachments_here, summary).await?;
    summary.events_copied += events.len() as u64;
    let stream: ImportStream = Box::new(events.into_iter().map(Ok));
    to.import_copy(session, stream).await?;
    copy_pins(from, to, session.id).await?;
    summary.sessions_copied += 1;
    Ok(())
}

async fn events_after(store: &dyn Store, session: Ulid, mut after: u64) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    loop {
        let page = store.events_after(session, after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(events);
        };
        after = last.seq;
        events.extend(page);
    }
}

/// The attachments the events name, put into the target first (content-addressed:
/// putting one twice is a no-op). One the source lacks is left out, as export does.
async fn copy_attachments(
    from: &dyn Store,
    to: &dyn Store,
    events: &[Event],
    attachments_here: &mut HashSet<String>,
    summary: &mut CopySummary,
) -> Result<()> {
    for event in events {
        let Payload::Message(message) = &event.payload else {
            continue;
        };
        let mut wanted = Vec::new();
        let mut content = message.content.clone();
        for_each_media(&mut content, &mut |m| wanted.push(m.sha256.clone()));
        for sha in wanted {
            if !attachments_here.insert(sha.clone()) {
                continue;
            }
            match from.attachment(&sha).await {
                Ok(attachment) => {
                    to.put_attachment(&attachment.reference.mime, attachment.bytes)
                        .await?;
                    summary.attachments_copied += 1;
                }
                Err(Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Pins changed after an item was written live in the knowledge table, not the event.
async fn copy_pins(from: &dyn Store, to: &dyn Store, session: Ulid) -> Result<()> {
    let there = to.knowledge(session).await?;
    for event in from.knowledge(session).await? {
        let Payload::Knowledge(item) = &event.payload else {
            continue;
        };
        let differs = there.iter().any(|t| {
            t.seq == event.seq
                && matches!(&t.payload, Payload::Knowledge(k) if k.pinned != item.pinned)
        });
        if differs {
            to.set_knowledge_pinned(session, event.seq, item.pinned)
                .await?;
        }
    }
    Ok(())
}
