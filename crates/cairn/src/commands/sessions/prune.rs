//! `cairn sessions prune --older-than AGE|DATE [--all] [--dry-run]`: opt-in
//! retention (invariant 2: only an explicit command deletes). It lists every
//! session it deletes, or would, with its size, and keeps, saying why, a session
//! in use (a live writer lease) and one with a fork that is not pruned too (the
//! fork shares its history), as `rm` does. The attachments only the deleted
//! sessions used are collected afterwards.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use cairn_core::{AttachmentGarbage, Session, SessionFilter, Store, Timestamp};
use serde::Serialize;

use crate::app::App;
use crate::args::sessions::PruneArgs;
use crate::exit::UsageError;
use crate::output::{self, Style, Table};
use crate::progress;

#[derive(Serialize)]
struct Pruned {
    name: String,
    project: String,
    last_active: Timestamp,
    messages: u64,
    /// Bytes of the session's own events (a fork's shared history is its parent's).
    bytes: u64,
}

#[derive(Serialize)]
struct Kept {
    name: String,
    reason: String,
}

#[derive(Serialize)]
struct PruneOut {
    dry_run: bool,
    older_than: Timestamp,
    /// Deleted, or with --dry-run the sessions that would be; forks before parents.
    sessions: Vec<Pruned>,
    bytes: u64,
    kept: Vec<Kept>,
    /// What the collection after the deletes removed; null with --dry-run.
    attachments_removed: Option<AttachmentGarbage>,
}

pub(super) async fn run(app: &App, args: PruneArgs) -> anyhow::Result<()> {
    let mut out = PruneOut {
        dry_run: args.dry_run,
        older_than: args.older_than,
        sessions: Vec::new(),
        bytes: 0,
        kept: Vec::new(),
        attachments_removed: None,
    };
    if let Some(store) = app.existing_store().await? {
        let project = (!args.all).then(|| app.project.clone());
        let (order, kept) = plan(store.as_ref(), project, args.older_than).await?;
        out.kept = kept;
        for session in &order {
            let bytes = store.history_bytes(session.id).await?;
            out.bytes += bytes;
            out.sessions.push(Pruned {
                name: session.name.to_string(),
                project: session.project.as_str().to_owned(),
                last_active: session.updated_at,
                messages: session.message_count,
                bytes,
            });
        }
        if !args.dry_run && !order.is_empty() {
            confirm(&args, order.len(), out.bytes)?;
            let bar = progress::bar(order.len() as u64, args.json);
            for session in &order {
                bar.set_message(session.name.to_string());
                store.delete_session(&session.name).await?;
                bar.inc(1);
            }
            bar.finish_and_clear();
            out.attachments_removed =
                Some(super::gc::collect(store.as_ref(), true, args.json).await?);
        }
    }
    if args.json {
        return output::print_json(&out);
    }
    write(&out)
}

/// The sessions to delete, forks before their parents, and those kept with why.
async fn plan(
    store: &dyn Store,
    project: Option<cairn_core::Project>,
    older_than: Timestamp,
) -> anyhow::Result<(Vec<Session>, Vec<Kept>)> {
    let listed = store
        .list_sessions(&SessionFilter {
            project,
            limit: 0,
            offset: 0,
        })
        .await?;
    let now = Timestamp::now();
    let stale_after = cairn_agent::lease::STALE_AFTER;
    let mut old: BTreeMap<ulid::Ulid, Session> = BTreeMap::new();
    let mut kept = Vec::new();
    for summary in listed.iter().filter(|s| s.updated_at < older_than) {
        let session = store.session(&summary.name).await?;
        if let Some(lease) = store.lease(session.id).await? {
            let quiet = now.duration_since(lease.heartbeat_at).unsigned_abs();
            if quiet < stale_after {
                kept.push(Kept {
                    name: session.name.to_string(),
                    reason: format!("in use by {}", lease.holder.describe()),
                });
                continue;
            }
        }
        old.insert(session.id, session);
    }
    // A session goes only with all of its forks; dropping one may keep its
    // parent, so repeat until nothing changes.
    let mut forks: BTreeMap<ulid::Ulid, Vec<Session>> = BTreeMap::new();
    for id in old.keys() {
        forks.insert(*id, store.forks(*id).await?);
    }
    loop {
        let blocked: Vec<(ulid::Ulid, String)> = old
            .keys()
            .filter_map(|id| {
                let staying: Vec<&str> = forks[id]
                    .iter()
                    .filter(|f| !old.contains_key(&f.id))
                    .map(|f| f.name.as_str())
                    .collect();
                (!staying.is_empty()).then(|| (*id, staying.join(", ")))
            })
            .collect();
        if blocked.is_empty() {
            break;
        }
        for (id, staying) in blocked {
            if let Some(session) = old.remove(&id) {
                kept.push(Kept {
                    name: session.name.to_string(),
                    reason: format!("its fork(s) {staying} share its history and stay"),
                });
            }
        }
    }
    // Forks first: a session is deleted once none of its forks is left.
    let mut order = Vec::with_capacity(old.len());
    let mut gone: BTreeSet<ulid::Ulid> = BTreeSet::new();
    while !old.is_empty() {
        let ready: Vec<ulid::Ulid> = old
            .keys()
            .filter(|id| forks[*id].iter().all(|f| gone.contains(&f.id)))
            .copied()
            .collect();
        if ready.is_empty() {
            anyhow::bail!("the forks of the sessions to prune form a cycle; nothing was deleted");
        }
        for id in ready {
            if let Some(session) = old.remove(&id) {
                gone.insert(id);
                order.push(session);
            }
        }
    }
    Ok((order, kept))
}

/// Asks on the terminal; without one, --yes is required.
fn confirm(args: &PruneArgs, count: usize, bytes: u64) -> anyhow::Result<()> {
    if args.yes {
        return Ok(());
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(UsageError(format!(
            "refusing to delete {count} session(s) without confirmation: stdin is not a \
             terminal, so pass --yes (or --dry-run to list them)"
        ))
        .into());
    }
    let question = format!(
        "Delete these {count} session(s) and their whole history ({})? [y/N] ",
        output::bytes(bytes)
    );
    if !super::rm::confirm(&question)? {
        anyhow::bail!("not deleted: nothing was pruned");
    }
    Ok(())
}

fn write(out: &PruneOut) -> anyhow::Result<()> {
    let mut w = output::stdout();
    let since = output::exact_time(out.older_than);
    if out.sessions.is_empty() {
        writeln!(w, "No session to prune: none inactive since {since}.")?;
    } else {
        let now = Timestamp::now();
        let mut table = Table::new(&["name", "project", ">messages", ">size", "last active"]);
        for s in &out.sessions {
            table.row(vec![
                s.name.clone(),
                output::truncate_left(&output::cell(&output::home_relative(&s.project), 200), 32),
                output::grouped(s.messages),
                output::bytes(s.bytes),
                output::ago(now, s.last_active),
            ]);
        }
        table.write(&mut w, Style::detect())?;
        let verb = if out.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        writeln!(
            w,
            "{verb} {} session(s) inactive since {since}, {}",
            out.sessions.len(),
            output::bytes(out.bytes)
        )?;
    }
    if let Some(g) = out.attachments_removed.filter(|g| g.count > 0) {
        writeln!(
            w,
            "removed {} attachment(s) no other session uses, {}",
            output::grouped(g.count),
            output::bytes(g.bytes)
        )?;
    }
    for k in &out.kept {
        writeln!(w, "kept {}: {}", k.name, k.reason)?;
    }
    if out.dry_run && !out.sessions.is_empty() {
        writeln!(w, "Nothing was deleted (--dry-run).")?;
    }
    w.flush()?;
    Ok(())
}
