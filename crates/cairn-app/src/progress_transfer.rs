//! Moving checkpoints and pool history between stores: `cairn progress export
//! [SESSION_ID…]` writes JSONL (a header line, then one checkpoint or pool signal
//! per line); `cairn progress import FILE` reads the whole file first, refusing
//! it with the line number of the first bad line, then writes everything in one
//! transaction (`Store::import_progress`), skipping what is already there — so
//! importing the same file twice adds nothing.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};

use cairn_core::list_param::{self, MAX_ID_BYTES, MAX_SUMMARY_BYTES};
use cairn_core::store::ProgressImport;
use cairn_core::{Checkpoint, Error, PoolSignal, Result, Store, Timestamp};
use serde::{Deserialize, Serialize};

/// The first line's `format`.
pub const FORMAT: &str = "cairn.progress";
pub const VERSION: u64 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u64,
}

/// One line after the header.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Checkpoint(Checkpoint),
    PoolSignal(PoolSignal),
}

/// What an export wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Exported {
    pub checkpoints: u64,
    pub signals: u64,
}

/// Writes the checkpoints of `session_ids` (every session id when empty) and the
/// pool signals (those of the given session ids, or all), oldest first.
pub async fn export<W: Write>(
    store: &dyn Store,
    session_ids: &[String],
    mut out: W,
) -> Result<(W, Exported)> {
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
    };
    write_line(&mut out, &header)?;
    let ids: Vec<String> = if session_ids.is_empty() {
        let mut ids: Vec<String> = store
            .recent_checkpoints(None, 0)
            .await?
            .into_iter()
            .map(|c| c.session_id)
            .collect();
        ids.reverse();
        ids
    } else {
        session_ids.to_vec()
    };
    let mut done = Exported::default();
    for id in &ids {
        let rounds = store.checkpoints(id).await?;
        if rounds.is_empty() && !session_ids.is_empty() {
            return Err(Error::not_found("checkpoint session id", id.clone()));
        }
        for c in rounds {
            write_line(&mut out, &Line::Checkpoint(c))?;
            done.checkpoints += 1;
        }
    }
    let wanted: BTreeSet<&str> = session_ids.iter().map(String::as_str).collect();
    for s in store.pool_signals(None, Timestamp::UNIX_EPOCH).await? {
        let included = wanted.is_empty()
            || s.session_id
                .as_deref()
                .is_some_and(|id| wanted.contains(id));
        if included {
            write_line(&mut out, &Line::PoolSignal(s))?;
            done.signals += 1;
        }
    }
    out.flush().map_err(write_error)?;
    Ok((out, done))
}

/// [`export`] to a file, written next to it and renamed over it (never half an
/// export where a good one was), private to its owner like the store.
pub async fn export_to_file(
    store: &dyn Store,
    session_ids: &[String],
    path: &std::path::Path,
) -> Result<Exported> {
    let shown = path.display().to_string();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let temp = tempfile::NamedTempFile::new_in(&parent)
        .map_err(|e| Error::io(format!("cannot create a file in {}", parent.display()), e))?;
    let (out, done) = export(store, session_ids, std::io::BufWriter::new(temp)).await?;
    let temp = out
        .into_inner()
        .map_err(|e| Error::io(shown.clone(), e.into_error()))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| Error::io(shown.clone(), e))?;
    temp.persist(path).map_err(|e| Error::io(shown, e.error))?;
    Ok(done)
}

fn write_error(e: std::io::Error) -> Error {
    Error::io("writing the export", e)
}

fn write_line<W: Write, T: Serialize>(out: &mut W, value: &T) -> Result<()> {
    let json =
        serde_json::to_string(value).map_err(|e| Error::invalid(format!("cannot encode: {e}")))?;
    out.write_all(json.as_bytes()).map_err(write_error)?;
    out.write_all(b"\n").map_err(write_error)
}

/// Reads a whole export, checking every line; the first bad line refuses the file.
pub fn read(input: impl BufRead, shown: &str) -> Result<(Vec<Checkpoint>, Vec<PoolSignal>)> {
    let mut checkpoints = Vec::new();
    let mut signals = Vec::new();
    let mut saw_header = false;
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| Error::io(format!("{shown}: line {number}"), e))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| Error::invalid(format!("{shown}: line {number}: {why}"));
        if !saw_header {
            let header: Header = serde_json::from_str(&line)
                .map_err(|e| bad(format!("not a cairn progress export header ({e})")))?;
            if header.format != FORMAT || header.version != VERSION {
                return Err(bad(format!(
                    "format {:?} version {}; this cairn reads {FORMAT:?} version {VERSION}",
                    header.format, header.version
                )));
            }
            saw_header = true;
            continue;
        }
        match serde_json::from_str::<Line>(&line).map_err(|e| bad(e.to_string()))? {
            Line::Checkpoint(c) => {
                check_checkpoint(&c).map_err(bad)?;
                checkpoints.push(c);
            }
            Line::PoolSignal(s) => {
                check_signal(&s).map_err(bad)?;
                signals.push(s);
            }
        }
    }
    if !saw_header {
        return Err(Error::invalid(format!(
            "{shown}: empty; a cairn progress export starts with a header line"
        )));
    }
    Ok((checkpoints, signals))
}

fn check_checkpoint(c: &Checkpoint) -> std::result::Result<(), String> {
    for (field, value) in [
        ("checkpoint_id", &c.checkpoint_id),
        ("session_id", &c.session_id),
        ("round_id", &c.round_id),
    ] {
        list_param::id_reason(value).map_err(|why| format!("`{field}` {why}"))?;
    }
    if c.summary.len() > MAX_SUMMARY_BYTES {
        return Err(format!(
            "`summary` is {} bytes; the limit is {MAX_SUMMARY_BYTES}",
            c.summary.len()
        ));
    }
    Ok(())
}

fn check_signal(s: &PoolSignal) -> std::result::Result<(), String> {
    for (field, value) in [("topic", &s.topic), ("instance", &s.instance)] {
        if value.is_empty() || value.len() > MAX_ID_BYTES {
            return Err(format!("`{field}` must be 1 to {MAX_ID_BYTES} bytes"));
        }
    }
    if s.summary.len() > MAX_SUMMARY_BYTES {
        return Err(format!(
            "`summary` is {} bytes; the limit is {MAX_SUMMARY_BYTES}",
            s.summary.len()
        ));
    }
    Ok(())
}

/// Writes what [`read`] returned, all or nothing.
pub async fn import(
    store: &dyn Store,
    checkpoints: Vec<Checkpoint>,
    signals: Vec<PoolSignal>,
) -> Result<ProgressImport> {
    store.import_progress(checkpoints, signals).await
}
