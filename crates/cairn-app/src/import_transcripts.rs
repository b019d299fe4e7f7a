//! Importing another tool's transcripts (Claude Code, Codex): find them, read each
//! tolerantly, and bring the store up to date with it. Re-running is incremental
//! and idempotent: the store remembers each transcript (source, original id, how
//! much was read), so an unchanged one is skipped and a grown one gets only its
//! new events appended.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use cairn_core::store::{ImportEnd, ImportFinish, SessionUpdate};
use cairn_core::{Error, NewSession, Project, Session, SessionName, Store};
use cairn_llm::PriceTable;
use serde::Serialize;
use serde_json::Value;

use crate::import_forks::{
    check_branches, fork_with_events, import_branches, own_events, replayed_prefix,
};
use crate::live_tokens::live_tokens;
use crate::read_ahead::read_ahead;
use crate::transcript::{Lines, Skipped, Transcript};
use crate::{import_claude_code, import_codex};

/// Which tool's transcripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    ClaudeCode,
    Codex,
}

impl Tool {
    pub fn source(&self) -> &'static str {
        match self {
            Tool::ClaudeCode => import_claude_code::SOURCE,
            Tool::Codex => import_codex::SOURCE,
        }
    }

    fn read(&self, path: &Path, prices: &PriceTable) -> Result<Transcript, String> {
        match self {
            Tool::ClaudeCode => import_claude_code::read(path, prices),
            Tool::Codex => import_codex::read(path, prices),
        }
    }

    /// Whether a file found while walking a folder is one of this tool's transcripts.
    fn wants(&self, path: &Path) -> bool {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        match self {
            Tool::ClaudeCode => name.ends_with(".jsonl"),
            Tool::Codex => {
                name.starts_with("rollout-")
                    && (name.ends_with(".jsonl") || name.ends_with(".jsonl.zst"))
            }
        }
    }
}

/// A transcript file to import and its size on disk.
#[derive(Clone, Debug)]
pub struct Found {
    pub path: PathBuf,
    pub bytes: u64,
}

/// The transcripts under `paths` (files as given, folders walked), parents before
/// sub-agents, each once. A path that does not exist is an error naming it.
pub fn discover(tool: Tool, paths: &[PathBuf]) -> cairn_core::Result<Vec<Found>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = fs::metadata(path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if meta.is_dir() {
            walk(tool, path, &mut files);
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files.dedup();
    // Sub-agents after every session, so that their parent is imported first.
    files.sort_by_key(|p| is_agent_file(p));
    Ok(files
        .into_iter()
        .map(|path| {
            let bytes = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            Found { path, bytes }
        })
        .collect())
}

/// Every wanted file below `dir`; symbolic links to folders are not followed, and
/// an unreadable folder is passed over.
fn walk(tool: Tool, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            walk(tool, &path, out);
        } else if kind.is_file() && tool.wants(&path) {
            out.push(path);
        }
    }
}

fn is_agent_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("agent-"))
}

pub struct TranscriptImport {
    pub tool: Tool,
    pub dry_run: bool,
    pub prices: PriceTable,
    /// The project of a transcript that names no working directory.
    pub fallback_project: Project,
    /// For the live-context size kept in the index.
    pub knowledge_retention: usize,
}

/// What happened to one transcript.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcome {
    pub path: String,
    /// `imported`, `updated`, `unchanged`, `changed` (rewritten, not only grown:
    /// left alone) or `failed`.
    pub action: &'static str,
    pub session: Option<String>,
    pub original_id: Option<String>,
    /// Events written (or, in a dry run, that would be).
    pub events: u64,
    /// The session it is a sub-agent of, or (with `fork`) a fork of.
    pub parent: Option<String>,
    /// A fork (a Claude Code branch, a forked Codex rollout), not a sub-agent.
    pub fork: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub imported: u64,
    pub updated: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Lines skipped, by reason.
    pub lines_skipped: std::collections::BTreeMap<String, u64>,
    /// `file:line: reason: detail`, for each line that could not be used.
    pub problems: Vec<String>,
    /// What the person should know about how a transcript was imported (a
    /// forked rollout whose parent is not imported, …).
    pub notes: Vec<String>,
    pub sessions: Vec<Outcome>,
}

impl Summary {
    fn record(&mut self, outcome: Outcome) {
        match outcome.action {
            "imported" => self.imported += 1,
            "updated" => self.updated += 1,
            "failed" => self.failed += 1,
            _ => self.skipped += 1,
        }
        self.sessions.push(outcome);
    }

    fn lines(&mut self, skipped: &Skipped, problems: Vec<String>) {
        let mut all = Skipped(std::mem::take(&mut self.lines_skipped));
        all.merge(skipped);
        self.lines_skipped = all.0;
        self.problems.extend(problems);
    }
}

/// Imports every file of `files`; `progress` is told after each one with its size.
/// A file that cannot be read is reported and the others still import.
pub async fn import_transcripts(
    store: &dyn Store,
    files: &[Found],
    request: &TranscriptImport,
    progress: &mut (dyn FnMut(&Found) + Send),
) -> cairn_core::Result<Summary> {
    let mut summary = Summary::default();
    for found in files {
        let outcomes = match import_one(store, &found.path, request, &mut summary).await {
            Ok(outcomes) => outcomes,
            Err(FileError::Store(e)) => return Err(e),
            Err(FileError::File(reason)) => {
                summary.problems.push(reason);
                vec![Outcome {
                    path: found.path.display().to_string(),
                    action: "failed",
                    session: None,
                    original_id: None,
                    events: 0,
                    parent: None,
                    fork: false,
                }]
            }
        };
        for outcome in outcomes {
            summary.record(outcome);
        }
        progress(found);
    }
    Ok(summary)
}

enum FileError {
    /// This file cannot be imported; the others still can.
    File(String),
    /// The store failed: stop.
    Store(Error),
}

impl From<Error> for FileError {
    fn from(e: Error) -> Self {
        FileError::Store(e)
    }
}

async fn import_one(
    store: &dyn Store,
    path: &Path,
    request: &TranscriptImport,
    summary: &mut Summary,
) -> Result<Vec<Outcome>, FileError> {
    let shown = path.display().to_string();
    let source = request.tool.source();
    let original_id = identify(request.tool, path).map_err(FileError::File)?;
    if let Some(known) = store.import_origin(source, &original_id).await? {
        let session = store.session_by_id(known.session).await?;
        let outcome = |action, events| Outcome {
            path: shown.clone(),
            action,
            session: Some(session.name.to_string()),
            original_id: Some(original_id.clone()),
            events,
            parent: None,
            fork: false,
        };
        let mut lines = Lines::open(path).map_err(FileError::File)?;
        let same = lines
            .skip_consumed(
                known.origin.consumed_bytes,
                known.origin.consumed_lines,
                &known.origin.fingerprint,
            )
            .map_err(FileError::File)?;
        if !same {
            summary.problems.push(format!(
                "{shown}: changed since it was imported into {} (not only grown); left \
                 alone: `cairn sessions rm {}` and import again to take it as it is now",
                session.name, session.name
            ));
            return Ok(vec![outcome("changed", 0)]);
        }
        if lines.next_line().is_none() {
            return Ok(vec![outcome("unchanged", 0)]);
        }
        drop(lines);
        let transcript = request
            .tool
            .read(path, &request.prices)
            .map_err(FileError::File)?;
        let already = known.origin.imported_events as usize;
        let new = own_events(&transcript.events, already as u64);
        let written = new.len() as u64;
        let origin = transcript.origin(already.max(transcript.events.len()) as u64);
        let problems = transcript
            .problems
            .iter()
            .filter(|p| line_of(p, &shown).is_none_or(|l| l > known.origin.consumed_lines))
            .cloned()
            .collect();
        // Only problems of the new lines are news; the skip counts of a grown file
        // are not repeated.
        summary.lines(&Skipped::default(), problems);
        let mut outcomes = vec![outcome("updated", written)];
        if !request.dry_run {
            // Also with no new event: the origin then records the lines read.
            store.append_imported(session.id, new, origin).await?;
            refresh_live_tokens(store, session.id, request.knowledge_retention).await?;
        }
        let branches = import_branches(
            store,
            &transcript,
            Some(session.id),
            session.name.as_str(),
            request.dry_run,
            &mut summary.problems,
        )
        .await?;
        refresh_branches(store, &branches, request).await?;
        outcomes.extend(branches);
        return Ok(outcomes);
    }

    // A Claude Code transcript's live branch is converted on the import's reading
    // thread, ahead of the store, rather than whole before the store starts.
    let (mut transcript, streamed) = match request.tool {
        Tool::ClaudeCode if !request.dry_run => {
            let (transcript, live, rest) =
                import_claude_code::open(path, &request.prices).map_err(FileError::File)?;
            (transcript, Some((live, rest)))
        }
        _ => (
            request
                .tool
                .read(path, &request.prices)
                .map_err(FileError::File)?,
            None,
        ),
    };
    if streamed.is_none() {
        summary.lines(&transcript.skipped, transcript.problems.clone());
    }
    let parent = match &transcript.parent_original_id {
        Some(parent_id) => store.import_origin(source, parent_id).await?,
        None => None,
    };
    let parent_name = match &parent {
        Some(known) => Some(store.session_by_id(known.session).await?.name.to_string()),
        None => None,
    };
    let name = free_name(store, &transcript).await?;
    let events = transcript.events.len() as u64;
    // A forked rollout goes under the import of the conversation it replays.
    let fork_of = match &transcript.forked_from {
        Some(from) => forked_parent(store, &transcript, from, &mut summary.notes).await?,
        None => None,
    };
    let mut outcome = Outcome {
        path: shown,
        action: "imported",
        session: Some(name.to_string()),
        original_id: Some(transcript.original_id.clone()),
        events,
        parent: parent_name,
        fork: false,
    };
    if let Some((fork_parent, shared)) = &fork_of {
        outcome.parent = Some(fork_parent.name.to_string());
        outcome.fork = true;
        outcome.events = events - shared;
    }
    if request.dry_run {
        let branches = import_branches(
            store,
            &transcript,
            None,
            name.as_str(),
            true,
            &mut summary.problems,
        )
        .await?;
        return Ok(std::iter::once(outcome).chain(branches).collect());
    }
    let origin = transcript.origin(events);
    if let Some((fork_parent, shared)) = fork_of {
        let own = own_events(&transcript.events, shared);
        let fork = fork_with_events(
            store,
            &fork_parent,
            shared,
            name.as_str(),
            &transcript,
            own,
            origin,
        )
        .await?;
        refresh_live_tokens(store, fork.id, request.knowledge_retention).await?;
        outcome.session = Some(fork.name.to_string());
        return Ok(vec![outcome]);
    }
    let project = if transcript.header.project.as_str().is_empty() {
        request.fallback_project.clone()
    } else {
        transcript.header.project.clone()
    };
    let new = NewSession {
        name,
        title: transcript.header.title.clone(),
        project,
        model: transcript.header.model.clone(),
        parent_id: parent.map(|p| p.session),
        fork_seq: None,
        created_at: Some(transcript.header.created_at),
    };
    let session = match streamed {
        None => {
            let events = std::mem::take(&mut transcript.events);
            let stream = Box::new(events.into_iter().map(Ok));
            store
                .import_stream_from(new, stream, ImportEnd::known(origin))
                .await?
        }
        Some((live, rest)) => {
            let (back, returned) = mpsc::sync_channel(1);
            let finish = finish_live(transcript, rest, back);
            let stream = read_ahead(live.map(Ok));
            let imported = store.import_stream_from(new, stream, finish).await;
            // The transcript comes back from the store's transaction, with its
            // branches converted, or the reason the file cannot be imported.
            match (imported, returned.try_recv()) {
                (Ok(session), Ok(Ok(finished))) => {
                    transcript = finished;
                    summary.lines(&transcript.skipped, transcript.problems.clone());
                    outcome.events = session.head_seq;
                    session
                }
                (Err(_), Ok(Err(reason))) => return Err(FileError::File(reason)),
                (Err(e), _) => return Err(FileError::Store(e)),
                (Ok(_), _) => {
                    return Err(FileError::Store(Error::Storage(
                        "the import finished without its transcript's end".into(),
                    )));
                }
            }
        }
    };
    refresh_live_tokens(store, session.id, request.knowledge_retention).await?;
    let branches = import_branches(
        store,
        &transcript,
        Some(session.id),
        session.name.as_str(),
        false,
        &mut summary.problems,
    )
    .await?;
    refresh_branches(store, &branches, request).await?;
    Ok(std::iter::once(outcome).chain(branches).collect())
}

/// What a streamed Claude Code import records at its end, inside the store's
/// transaction: the live branch's model and event count in the origin, once the
/// branches are converted and checked, so that a problem in one fails the file
/// with nothing written. The transcript (or the reason) goes back through `back`.
fn finish_live(
    mut transcript: Transcript,
    rest: import_claude_code::Rest,
    back: mpsc::SyncSender<Result<Transcript, String>>,
) -> ImportFinish {
    Box::new(move |written| {
        let finished = rest
            .finish(&mut transcript)
            .and_then(|_| check_branches(&transcript));
        match finished {
            Ok(()) => {
                let end = ImportEnd {
                    origin: transcript.origin(written),
                    update: SessionUpdate {
                        model: transcript.header.model.clone().map(Some),
                        ..SessionUpdate::default()
                    },
                };
                // The receiver waits for the store's answer; it is never gone first.
                let _ = back.send(Ok(transcript));
                Ok(end)
            }
            Err(reason) => {
                let _ = back.send(Err(reason.clone()));
                Err(Error::invalid(reason))
            }
        }
    })
}

/// The imported session a forked rollout forks and how many of its events the
/// rollout replays; `None` (and a note) when it is to be imported standalone.
async fn forked_parent(
    store: &dyn Store,
    transcript: &Transcript,
    from: &str,
    notes: &mut Vec<String>,
) -> cairn_core::Result<Option<(Session, u64)>> {
    let shown = transcript.path.display();
    let Some(known) = store.import_origin(transcript.source, from).await? else {
        notes.push(format!(
            "{shown}: forked from conversation {from}, which is not imported: imported \
             standalone, with the history it replays; to have it as a fork, import its \
             parent, `cairn sessions rm` this one and import it again"
        ));
        return Ok(None);
    };
    let parent = store.session_by_id(known.session).await?;
    let shared = replayed_prefix(store, &parent, &transcript.events).await?;
    if shared == 0 {
        notes.push(format!(
            "{shown}: forked from conversation {from} (imported as {}) but replays none \
             of its events: imported standalone",
            parent.name
        ));
        return Ok(None);
    }
    Ok(Some((parent, shared)))
}

/// Keeps the index's live-context size of the forks an import made or grew.
async fn refresh_branches(
    store: &dyn Store,
    branches: &[Outcome],
    request: &TranscriptImport,
) -> cairn_core::Result<()> {
    if request.dry_run {
        return Ok(());
    }
    for outcome in branches {
        if let Some(name) = &outcome.session {
            let session = store.session(&SessionName::parse(name)?).await?;
            refresh_live_tokens(store, session.id, request.knowledge_retention).await?;
        }
    }
    Ok(())
}

/// The line number of a `file:line: …` problem of `shown`.
fn line_of(problem: &str, shown: &str) -> Option<u64> {
    let rest = problem.strip_prefix(shown)?.strip_prefix(':')?;
    rest.split(':').next()?.parse().ok()
}

async fn refresh_live_tokens(
    store: &dyn Store,
    id: ulid::Ulid,
    knowledge_retention: usize,
) -> cairn_core::Result<()> {
    let session = store.session_by_id(id).await?;
    let live = live_tokens(store, &session, knowledge_retention).await?;
    let update = SessionUpdate {
        live_tokens: Some(live),
        ..SessionUpdate::default()
    };
    store.update_session(id, update).await?;
    Ok(())
}

/// The transcript's title made into a name when that is free, else
/// `cc-<date>-<short id>` (with `-2`, `-3`, … when that is taken).
async fn free_name(store: &dyn Store, transcript: &Transcript) -> cairn_core::Result<SessionName> {
    let base = transcript.header.session_name()?;
    let mut candidates: Vec<String> = Vec::new();
    if let Some(title) = transcript.header.title.as_deref() {
        let slug = slug(title);
        if !slug.is_empty() {
            candidates.push(slug);
        }
    }
    candidates.push(base.as_str().to_owned());
    for n in 2..100 {
        candidates.push(format!("{}-{n}", base.as_str()));
    }
    for candidate in candidates {
        let Ok(name) = SessionName::parse(&candidate) else {
            continue;
        };
        match store.session(&name).await {
            Err(Error::NotFound { .. }) => return Ok(name),
            Ok(_) => continue,
            Err(e) => return Err(e),
        }
    }
    SessionName::parse(&format!("{}-{}", base.as_str(), ulid::Ulid::new()))
}

/// `Fix the login bug!` → `fix-the-login-bug`, at most 60 characters.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// The transcript's id in its tool, read without parsing the whole file: Claude
/// Code names a session's file after it (a sub-agent's id is qualified by its
/// parent's); a Codex rollout says it in its first line.
fn identify(tool: Tool, path: &Path) -> Result<String, String> {
    let stem = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("transcript")
        .trim_end_matches(".zst")
        .trim_end_matches(".jsonl")
        .to_owned();
    match tool {
        Tool::ClaudeCode if is_agent_file(path) => {
            let parent = agent_parent(path)?.unwrap_or_else(|| "unknown".to_owned());
            Ok(format!("{parent}/{stem}"))
        }
        Tool::ClaudeCode => Ok(stem),
        Tool::Codex => Ok(first_field(path, |line| {
            let payload = line.get("payload").unwrap_or(line);
            let is_meta = line.get("type").and_then(Value::as_str) == Some("session_meta")
                || line.get("type").is_none();
            is_meta
                .then(|| payload.get("id").and_then(Value::as_str).map(str::to_owned))
                .flatten()
        })?
        .unwrap_or(stem)),
    }
}

/// A sub-agent transcript's parent session id: the folder of `<id>/subagents/`,
/// or the `sessionId` its lines carry.
pub(crate) fn agent_parent(path: &Path) -> Result<Option<String>, String> {
    let folder = path.parent();
    if folder
        .and_then(Path::file_name)
        .is_some_and(|n| n == "subagents")
        && let Some(id) = folder
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
    {
        return Ok(Some(id.to_owned()));
    }
    first_field(path, |line| {
        line.get("sessionId")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// The first of the file's first lines for which `pick` finds something.
fn first_field(
    path: &Path,
    pick: impl Fn(&Value) -> Option<String>,
) -> Result<Option<String>, String> {
    const LOOK_AT: usize = 50;
    let lines = Lines::open(path)?;
    let mut reader = LinesIter(lines);
    for _ in 0..LOOK_AT {
        let Some(bytes) = reader.next() else { break };
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes)
            && let Some(found) = pick(&value)
        {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

struct LinesIter(Lines);

impl Iterator for LinesIter {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        self.0.next_line().map(|l| l.bytes)
    }
}
