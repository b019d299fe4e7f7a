//! `cairn sessions rm NAME [--yes]`: the explicit delete of invariant 2, with the
//! attachments only the deleted sessions used.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::json;

use super::find;
use crate::app::App;
use crate::args::sessions::RmArgs;
use crate::exit::UsageError;
use crate::output;

pub(super) async fn run(app: &App, args: RmArgs) -> anyhow::Result<()> {
    let name = args.name.clone();
    let store = app.store().await?;
    let session = find(store.as_ref(), &name).await?;
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(UsageError(format!(
                "refusing to delete session {name} without confirmation: \
                 stdin is not a terminal, so pass --yes"
            ))
            .into());
        }
        let forks = if args.with_forks {
            store.forks(session.id).await?.len()
        } else {
            0
        };
        let question = if forks > 0 {
            format!(
                "Delete session {name}, its whole history ({} events, {} messages) and its \
                 {forks} fork(s) with theirs? [y/N] ",
                session.head_seq, session.message_count
            )
        } else {
            format!(
                "Delete session {name} and its whole history ({} events, {} messages)? [y/N] ",
                session.head_seq, session.message_count
            )
        };
        if !confirm(&question)? {
            anyhow::bail!("not deleted: session {name} is unchanged");
        }
    }
    let deleted = if args.with_forks {
        store.delete_session_with_forks(&name).await?
    } else {
        match store.delete_session(&name).await {
            Err(cairn_core::Error::HasForks { forks, .. }) => {
                return Err(UsageError(format!(
                    "not deleted: session {name} has forks ({}) that share its history; \
                     pass --with-forks to delete them too",
                    forks.join(", ")
                ))
                .into());
            }
            other => other?,
        }
        vec![name.clone()]
    };
    // The sessions are gone whatever happens next; their attachments follow
    // unless another session shares them.
    let freed = super::gc::collect(store.as_ref(), true, args.json).await?;
    if args.json {
        let freed = json!({ "count": freed.count, "bytes": freed.bytes });
        if !args.with_forks {
            return output::print_json(&json!({ "deleted": name, "attachments_removed": freed }));
        }
        let forks: Vec<&str> = deleted
            .iter()
            .filter(|n| **n != name)
            .map(|n| n.as_str())
            .collect();
        return output::print_json(
            &json!({ "deleted": name, "forks_deleted": forks, "attachments_removed": freed }),
        );
    }
    let mut out = output::stdout();
    for gone in &deleted {
        writeln!(out, "deleted {gone}")?;
    }
    if freed.count > 0 {
        writeln!(
            out,
            "removed {} attachment(s) no other session uses, {}",
            output::grouped(freed.count),
            output::bytes(freed.bytes)
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Asks on stderr, reads one line from the terminal; only y/yes agrees.
pub(super) fn confirm(question: &str) -> anyhow::Result<bool> {
    let mut err = std::io::stderr().lock();
    err.write_all(question.as_bytes())?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}
