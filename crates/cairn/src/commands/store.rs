//! `cairn store status|copy|compact`: thin faces over the store's status, the
//! copy use case (`cairn_app::store_copy`) and the store's own compaction.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use cairn_app::store_copy::{CopyStep, CopySummary, copy_store};
use cairn_core::store::StoreSpace;
use cairn_core::{SessionFilter, Store};
use cairn_store::StoreUrl;
use serde::Serialize;

use crate::app::App;
use crate::args::store::{CopyArgs, StoreCommand};
use crate::output;

pub(crate) async fn run(app: &App, command: StoreCommand) -> anyhow::Result<()> {
    match command {
        StoreCommand::Status { json } => status(app, json).await,
        StoreCommand::Copy(args) => copy(app, args).await,
        StoreCommand::Compact { json } => compact(app, json).await,
    }
}

#[derive(Serialize)]
struct StatusOut {
    /// The URL or file (a password hidden).
    store: String,
    #[serde(flatten)]
    status: cairn_core::store::StoreStatus,
    /// The size by part.
    space: StoreSpace,
}

async fn status(app: &App, json: bool) -> anyhow::Result<()> {
    let store = app.store().await?;
    let status = store.status().await?;
    let space = store.space().await?;
    let out = StatusOut {
        store: app.store_label(),
        status,
        space,
    };
    if json {
        return output::print_json(&out);
    }
    let s = &out.status;
    let mut w = output::stdout();
    writeln!(w, "store:          {} ({})", out.store, s.backend)?;
    writeln!(w, "schema version: {}", s.schema_version)?;
    writeln!(w, "size:           {}", output::bytes(s.size_bytes))?;
    writeln!(w, "  by part:      {}", space_parts(&out.space))?;
    writeln!(w, "sessions:       {}", s.sessions)?;
    writeln!(w, "events:         {}", s.events)?;
    writeln!(w, "attachments:    {}", s.attachments)?;
    writeln!(w, "checkpoints:    {}", s.checkpoints)?;
    writeln!(w, "pool signals:   {}", s.pool_signals)?;
    w.flush()?;
    Ok(())
}

/// `12.3 MiB on disk: events 10.1 MiB, …` for `doctor`.
pub(crate) fn space_summary(space: &StoreSpace) -> String {
    format!(
        "{} on disk: {}",
        output::bytes(space.total_bytes),
        space_parts(space)
    )
}

/// The parts of the store with their sizes, in a line.
fn space_parts(space: &StoreSpace) -> String {
    [
        ("events", space.events),
        ("event indexes", space.event_indexes),
        ("full-text index", space.search_index),
        ("attachments", space.attachments),
        ("other", space.other),
        ("free", space.free),
    ]
    .iter()
    .map(|(part, bytes)| format!("{part} {}", output::bytes(*bytes)))
    .collect::<Vec<_>>()
    .join(", ")
}

/// Opens another store; the `[store]` options of the config are for the store in
/// use, so a store of another backend opens with its backend's defaults.
fn open(app: &App, raw: &str, flag: &str) -> anyhow::Result<(StoreUrl, Arc<dyn Store>)> {
    let url = StoreUrl::parse(raw).map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
    let same_backend = matches!(
        (&url, app.store_url()),
        (StoreUrl::Sqlite(_), StoreUrl::Sqlite(_)) | (StoreUrl::Postgres(_), StoreUrl::Postgres(_))
    );
    let mut settings = app.settings.clone();
    if !same_backend {
        settings.store_options = Default::default();
    }
    let store = cairn_store::open_store(&url, &settings)
        .with_context(|| format!("{flag}: cannot open {url}"))?;
    Ok((url, store))
}

#[derive(Serialize)]
struct CopyOut<'a> {
    from: String,
    to: String,
    #[serde(flatten)]
    summary: &'a CopySummary,
}

async fn copy(app: &App, args: CopyArgs) -> anyhow::Result<()> {
    let (from_url, from) = match &args.from {
        Some(raw) => open(app, raw, "--from")?,
        None => (app.store_url().clone(), app.store().await?),
    };
    let to_url = StoreUrl::parse(&args.to).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    if to_url == from_url {
        bail!("--to names the store copied from ({to_url}); give another store");
    }
    let (_, to) = open(app, &args.to, "--to")?;
    let (from_label, to_label) = (from_url.to_string(), to_url.to_string());
    let bar = crate::progress::bar(0, args.json);
    let mut on_step = |step: CopyStep| match step {
        CopyStep::Total(n) => bar.set_length(n),
        CopyStep::Done(what) => {
            bar.inc(1);
            bar.set_message(what);
        }
    };
    let summary = copy_store(from.as_ref(), to.as_ref(), &mut on_step).await;
    bar.finish_and_clear();
    let summary = summary?;
    if args.json {
        return output::print_json(&CopyOut {
            from: from_label,
            to: to_label,
            summary: &summary,
        });
    }
    let mut w = output::stdout();
    writeln!(w, "copied {from_label} → {to_label}")?;
    writeln!(
        w,
        "sessions:     {} copied, {} extended, {} already there",
        summary.sessions_copied, summary.sessions_extended, summary.sessions_present
    )?;
    writeln!(w, "events:       {} copied", summary.events_copied)?;
    writeln!(w, "attachments:  {} copied", summary.attachments_copied)?;
    writeln!(
        w,
        "checkpoints:  {} copied, {} already there",
        summary.checkpoints_copied, summary.checkpoints_present
    )?;
    writeln!(
        w,
        "pool signals: {} copied, {} already there",
        summary.pool_signals_copied, summary.pool_signals_present
    )?;
    for conflict in &summary.name_conflicts {
        writeln!(
            w,
            "not copied: session {} — the name is taken there by another session ({}); \
             rename one of them and copy again",
            conflict.name, conflict.target_id
        )?;
    }
    w.flush()?;
    Ok(())
}

#[derive(Serialize)]
struct CompactOut {
    sessions: u64,
    sessions_compacted: u64,
    events_rewritten: u64,
    /// How much smaller the store is than before the command (its pages, not
    /// the WAL the rewrite went through); 0 when interrupted.
    bytes_given_back: u64,
    /// Ctrl-C stopped it before the last session; run it again to continue.
    interrupted: bool,
}

/// Every session in turn, each in its own transaction (the store's); Ctrl-C is
/// noticed between sessions, so the one in progress is finished, never cut.
async fn compact(app: &App, json: bool) -> anyhow::Result<()> {
    let store = app.store().await?;
    let listed = store
        .list_sessions(&SessionFilter {
            project: None,
            limit: 0,
            offset: 0,
        })
        .await?;
    let size_before = store.status().await?.size_bytes;
    let stop = Arc::new(AtomicBool::new(false));
    let on_ctrl_c = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
            }
        })
    };
    let bar = crate::progress::bar(listed.len() as u64, json);
    let mut out = CompactOut {
        sessions: listed.len() as u64,
        sessions_compacted: 0,
        events_rewritten: 0,
        bytes_given_back: 0,
        interrupted: false,
    };
    for listed in &listed {
        if stop.load(Ordering::SeqCst) {
            out.interrupted = true;
            break;
        }
        bar.set_message(format!("session {}", listed.name));
        let session = store.session(&listed.name).await?;
        let rewritten = store
            .compact_session(session.id)
            .await
            .with_context(|| format!("compacting session {}", listed.name))?;
        out.events_rewritten += rewritten;
        out.sessions_compacted += u64::from(rewritten > 0);
        bar.inc(1);
    }
    on_ctrl_c.abort();
    if !out.interrupted {
        // The converted rows leave half-empty pages behind, and a store made
        // before incremental vacuum keeps freed pages: one rewrite settles both.
        bar.set_message("rewriting the store file compactly");
        store
            .repack()
            .await
            .context("rewriting the store file compactly")?;
        // Measured over the whole command: `repack` alone would also count the
        // WAL that compacting the sessions grew.
        let size_after = store.status().await?.size_bytes;
        out.bytes_given_back = size_before.saturating_sub(size_after);
    }
    bar.finish_and_clear();
    if json {
        output::print_json(&out)?;
    } else {
        let mut w = output::stdout();
        writeln!(
            w,
            "compacted {} events in {} of {} sessions; the store file gave back {}",
            out.events_rewritten,
            out.sessions_compacted,
            out.sessions,
            output::bytes(out.bytes_given_back)
        )?;
        w.flush()?;
    }
    if out.interrupted {
        bail!("interrupted; run `cairn store compact` again to continue");
    }
    Ok(())
}
