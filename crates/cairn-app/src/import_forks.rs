//! The forks a transcript import makes: Claude Code's branches off the live one,
//! and Codex rollouts forked from another conversation. A fork stores only its
//! own events and shares its parent's history up to the fork point
//! (`Store::fork_session`), so nothing is stored or counted twice.
//!
//! Each branch is remembered in the import origins under
//! `<transcript id>#<uuid of the branch's first own line>`: importing again
//! appends only what a branch gained and creates only the branches that are new.

use cairn_core::{
    ContentBlock, Error, Event, ImportOrigin, NewEvent, NewSession, Payload, Session, SessionName,
    Store, accounting,
};
use ulid::Ulid;

use crate::import_transcripts::Outcome;
use crate::transcript::{Branch, Transcript};

/// The import-origin id of a Claude Code branch.
pub(crate) fn branch_id(transcript: &Transcript, branch: &Branch) -> String {
    format!("{}#{}", transcript.original_id, branch.id)
}

/// Imports the transcript's branches as forks of `main` (already imported under
/// `main_name`), or appends what known ones gained; one outcome per branch
/// imported or updated. A branch that cannot be placed is a problem, not an error.
pub(crate) async fn import_branches(
    store: &dyn Store,
    transcript: &Transcript,
    main: Option<Ulid>,
    main_name: &str,
    dry_run: bool,
    problems: &mut Vec<String>,
) -> cairn_core::Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    // The session of each branch so far, for the branches that leave it.
    let mut sessions: Vec<Option<(Ulid, String)>> = Vec::with_capacity(transcript.branches.len());
    for (n, branch) in transcript.branches.iter().enumerate() {
        let original_id = branch_id(transcript, branch);
        let origin = ImportOrigin {
            imported_events: branch.events.len() as u64,
            original_id: original_id.clone(),
            ..transcript.origin(0)
        };
        let parent = match branch.parent {
            None => main.map(|id| (id, main_name.to_owned())),
            Some(p) => sessions.get(p).cloned().flatten(),
        };
        let outcome = |action, session: String, events, parent: Option<String>| Outcome {
            path: transcript.path.display().to_string(),
            action,
            session: Some(session),
            original_id: Some(original_id.clone()),
            events,
            parent,
            fork: true,
        };
        if let Some(known) = store.import_origin(transcript.source, &original_id).await? {
            let session = store.session_by_id(known.session).await?;
            let new: Vec<NewEvent> = own_events(&branch.events, known.origin.imported_events);
            if !new.is_empty() {
                outcomes.push(outcome(
                    "updated",
                    session.name.to_string(),
                    new.len() as u64,
                    parent.as_ref().map(|p| p.1.clone()),
                ));
                if !dry_run {
                    store.append_imported(session.id, new, origin).await?;
                }
            }
            sessions.push(Some((session.id, session.name.to_string())));
            continue;
        }
        let base = format!("{main_name}-branch-{}", n + 1);
        let Some((parent_id, parent_name)) = parent.clone().filter(|_| !dry_run) else {
            // A dry run: reported, nothing stored to fork from.
            let label = parent.map_or_else(|| main_name.to_owned(), |p| p.1);
            let events = branch.events.len() as u64;
            outcomes.push(outcome("imported", base, events, Some(label)));
            sessions.push(None);
            continue;
        };
        let parent_session = store.session_by_id(parent_id).await?;
        if branch.fork_seq > parent_session.head_seq {
            problems.push(format!(
                "{}: branch {}: its fork point {} is past the last event of {} ({}); \
                 not imported",
                transcript.path.display(),
                branch.id,
                branch.fork_seq,
                parent_name,
                parent_session.head_seq
            ));
            sessions.push(None);
            continue;
        }
        let fork = fork_with_events(
            store,
            &parent_session,
            branch.fork_seq,
            &base,
            transcript,
            own_events(&branch.events, 0),
            origin,
        )
        .await?;
        outcomes.push(outcome(
            "imported",
            fork.name.to_string(),
            branch.events.len() as u64,
            Some(parent_name),
        ));
        sessions.push(Some((fork.id, fork.name.to_string())));
    }
    Ok(outcomes)
}

/// Checks every branch event as the store will when it is appended (costs, token
/// counts, compaction ranges), so that a branch the store would refuse fails the
/// transcript's import before its live session is written, not after.
pub(crate) fn check_branches(transcript: &Transcript) -> Result<(), String> {
    for branch in &transcript.branches {
        for event in &branch.events {
            accounting::effect(event.seq, &event.payload, |_| Ok::<_, Error>(false)).map_err(
                |e| {
                    format!(
                        "{}: branch {} (off the live conversation): {e}; nothing of this \
                         file was imported",
                        transcript.path.display(),
                        branch.id
                    )
                },
            )?;
        }
    }
    Ok(())
}

/// The events after the first `skip`, for `append_imported`.
pub(crate) fn own_events(events: &[Event], skip: u64) -> Vec<NewEvent> {
    events
        .iter()
        .skip(skip as usize)
        .map(|e| NewEvent {
            ts: Some(e.ts),
            payload: e.payload.clone(),
        })
        .collect()
}

/// Forks `parent` at `fork_seq` under a free name made from `base`, and appends
/// `events` recording `origin` with them. A fork left empty by an import that
/// stopped between the two steps is taken up again instead of made twice.
pub(crate) async fn fork_with_events(
    store: &dyn Store,
    parent: &Session,
    fork_seq: u64,
    base: &str,
    transcript: &Transcript,
    events: Vec<NewEvent>,
    origin: ImportOrigin,
) -> cairn_core::Result<Session> {
    let left_empty = store.forks(parent.id).await?.into_iter().find(|f| {
        f.fork_seq == Some(fork_seq) && f.head_seq == fork_seq && f.name.as_str().starts_with(base)
    });
    let fork = match left_empty {
        Some(fork) => fork,
        None => {
            let mut new = NewSession::new(free_name(store, base).await?, parent.project.clone());
            new.title = transcript.header.title.clone();
            new.model = transcript.header.model.clone().or(parent.model.clone());
            new.created_at = events.first().and_then(|e| e.ts);
            store.fork_session(parent.id, Some(fork_seq), new).await?
        }
    };
    store.append_imported(fork.id, events, origin).await?;
    store.session_by_id(fork.id).await
}

/// `base`, or `base-2`, `base-3`, … when taken.
async fn free_name(store: &dyn Store, base: &str) -> cairn_core::Result<SessionName> {
    for n in 1..100 {
        let candidate = if n == 1 {
            base.to_owned()
        } else {
            format!("{base}-{n}")
        };
        let name = SessionName::parse(&candidate)?;
        match store.session(&name).await {
            Err(Error::NotFound { .. }) => return Ok(name),
            Ok(_) => continue,
            Err(e) => return Err(e),
        }
    }
    SessionName::parse(&format!("{base}-{}", Ulid::new()))
}

/// How many of a forked rollout's first events replay `parent`'s history: the
/// length of the prefix they share (compared without usage, which a replay may
/// attribute differently, and without media bytes, which the store keeps apart).
pub(crate) async fn replayed_prefix(
    store: &dyn Store,
    parent: &Session,
    events: &[Event],
) -> cairn_core::Result<u64> {
    const PAGE: u32 = 500;
    let mut shared = 0u64;
    loop {
        let page = store.events_after(parent.id, shared, PAGE).await?;
        if page.is_empty() {
            return Ok(shared);
        }
        for stored in &page {
            match events.get(shared as usize) {
                Some(replayed) if same_event(&stored.payload, &replayed.payload) => shared += 1,
                _ => return Ok(shared),
            }
        }
    }
}

fn same_event(a: &Payload, b: &Payload) -> bool {
    match (a, b) {
        (Payload::Message(a), Payload::Message(b)) => {
            a.role == b.role
                && a.content.len() == b.content.len()
                && a.content
                    .iter()
                    .zip(&b.content)
                    .all(|(x, y)| same_block(x, y))
        }
        (Payload::Compaction(a), Payload::Compaction(b)) => {
            a.replaces == b.replaces && a.summary == b.summary
        }
        _ => a == b,
    }
}

fn same_block(a: &ContentBlock, b: &ContentBlock) -> bool {
    match (a, b) {
        (ContentBlock::Image(a), ContentBlock::Image(b))
        | (ContentBlock::Video(a), ContentBlock::Video(b)) => a.sha256 == b.sha256,
        _ => a == b,
    }
}
