//! `cairn sessions rewind NAME --to SEQ [--restore-files [--yes]]`: the use case is
//! `cairn_app::rewind`.

use std::io::Write;

use cairn_agent::lease::LeaseGuard;
use cairn_app::rewind::{self, Restored};
use serde_json::json;

use super::find;
use crate::app::App;
use crate::args::sessions::RewindArgs;
use crate::exit::UsageError;
use crate::output;

pub(super) async fn run(app: &App, args: RewindArgs) -> anyhow::Result<()> {
    let store = app.store().await?;
    let session = find(store.as_ref(), &args.name).await?;
    let plan = rewind::plan(store.as_ref(), &session, args.to).await?;
    // Files are put back in the project they were written in, and only from there.
    if args.restore_files && !plan.files.is_empty() && session.project != app.project {
        return Err(UsageError(format!(
            "--restore-files: session {} belongs to project {}, not this one ({}); run the \
             command from there",
            session.name, session.project, app.project
        ))
        .into());
    }
    // A `cairn run` (or editor) driving the session would go on from the live
    // context it holds: like any second writer, the rewind needs the session's lease
    // (`--force` takes it, and that process stops writing to the session).
    let lease = LeaseGuard::acquire(store.clone(), &session, args.force).await?;
    let rewind_seq = rewind::rewind(store.as_ref(), &session, args.to).await;
    lease.release().await?;
    let rewind_seq = rewind_seq?;
    let root = app.project.path();
    let mut restored = Vec::new();
    if args.restore_files {
        for change in &plan.files {
            let outcome = rewind::restore(store.as_ref(), root, change, args.yes).await;
            restored.push((change.path.clone(), outcome));
        }
    }
    let failed = restored
        .iter()
        .any(|(_, r)| matches!(r, Restored::Failed { .. }));
    if args.json {
        output::print_json(&json!({
            "session": session.name,
            "to_seq": args.to,
            "rewind_seq": rewind_seq,
            "rewound_events": plan.rewound_events,
            "files": plan.files,
            "restored": restored
                .iter()
                .map(|(path, outcome)| json!({"path": path, "result": outcome}))
                .collect::<Vec<_>>(),
            "shell_calls": plan.shell_calls,
        }))?;
    } else {
        let mut out = output::stdout();
        writeln!(
            out,
            "rewound {} to just before seq {}: {} event(s) left the live context (the history \
             keeps them: cairn sessions context {} --all)",
            session.name, args.to, plan.rewound_events, session.name
        )?;
        if !args.restore_files && !plan.files.is_empty() {
            writeln!(out, "the agent changed these files since (not restored):")?;
            for change in &plan.files {
                writeln!(out, "  {}", output::printable(&change.path))?;
            }
            writeln!(
                out,
                "put them back with: cairn sessions rewind … --restore-files"
            )?;
        }
        for (path, outcome) in &restored {
            let path = output::printable(path);
            match outcome {
                Restored::Restored => writeln!(out, "  restored {path}")?,
                Restored::Removed => writeln!(out, "  removed {path} (the agent had created it)")?,
                Restored::Unchanged => writeln!(out, "  {path} was already as before")?,
                Restored::ChangedOutside => writeln!(
                    out,
                    "  left {path} alone: changed outside cairn after the agent wrote it \
                     (--yes overwrites it)"
                )?,
                Restored::Failed { reason } => writeln!(
                    out,
                    "  could not restore {path}: {}",
                    output::printable(reason)
                )?,
            }
        }
        writeln!(
            out,
            "changes made through shell ({} call(s) since) or outside cairn are not tracked",
            plan.shell_calls
        )?;
        out.flush()?;
    }
    if failed {
        anyhow::bail!("some files could not be restored (listed above)");
    }
    Ok(())
}
