//! `cairn sessions gc [--dry-run]`: removes the attachments no session refers to
//! any more. Attachments are shared by content, so one that any session still
//! uses (a fork, another session with the same image) stays; bytes stored ahead
//! of their message (`/image` before the prompt) wait out a grace period.

use std::io::Write;

use cairn_core::{AttachmentGarbage, Store};
use serde::Serialize;

use crate::app::App;
use crate::args::sessions::GcArgs;
use crate::{output, progress};

#[derive(Serialize)]
struct GcOut {
    dry_run: bool,
    /// Attachments removed (or, with --dry-run, that would be).
    attachments: u64,
    bytes: u64,
}

pub(super) async fn run(app: &App, args: GcArgs) -> anyhow::Result<()> {
    let garbage = match app.existing_store().await? {
        None => AttachmentGarbage::default(),
        Some(store) => collect(store.as_ref(), !args.dry_run, args.json).await?,
    };
    if args.json {
        return output::print_json(&GcOut {
            dry_run: args.dry_run,
            attachments: garbage.count,
            bytes: garbage.bytes,
        });
    }
    let mut out = output::stdout();
    if garbage.count == 0 {
        writeln!(out, "No orphaned attachments.")?;
    } else {
        let verb = if args.dry_run {
            "would remove"
        } else {
            "removed"
        };
        writeln!(
            out,
            "{verb} {} orphaned attachment(s), {}",
            output::grouped(garbage.count),
            output::bytes(garbage.bytes)
        )?;
    }
    out.flush()?;
    Ok(())
}

/// One collection, with a spinner while the store looks through every event.
/// A removing one (`gc`, and after `rm` and `prune`) then gives the pages the
/// deletions freed back to the file system.
pub(super) async fn collect(
    store: &dyn Store,
    remove: bool,
    json: bool,
) -> anyhow::Result<AttachmentGarbage> {
    let spinner = progress::spinner("looking for orphaned attachments".into(), json);
    let garbage = store.collect_attachments(remove).await;
    spinner.finish_and_clear();
    let garbage = garbage?;
    if remove {
        // What was deleted stays deleted; the space only comes back later then.
        if let Err(e) = store.reclaim_space().await {
            eprintln!("warning: the freed space stays in the store for now: {e}");
        }
    }
    Ok(garbage)
}
