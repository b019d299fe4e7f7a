//! `cairn sessions export NAME [--format jsonl|md|html] [-o FILE]`: arguments and
//! output; the use cases (session JSONL v1, streamed page by page, media bytes put
//! back; Markdown and HTML for people) are `cairn_app::export` and
//! `cairn_app::export_readable`.

use cairn_app::export::{ExportError, Format, export_to_file_as, write_session_as};

use super::find;
use crate::app::App;
use crate::args::sessions::ExportArgs;
use crate::{output, progress};

pub(super) async fn run(app: &App, args: ExportArgs) -> anyhow::Result<()> {
    let name = args.name.clone();
    let store = app.store().await?;
    let session = find(store.as_ref(), &name).await?;
    // clap checked the value against the same list.
    let format = Format::parse(&args.format).unwrap_or(Format::Jsonl);
    let spinner = progress::spinner(format!("exporting {name}"), false);
    let done = export(app, &args, store.as_ref(), &session, format).await;
    spinner.finish_and_clear();
    done
}

async fn export(
    app: &App,
    args: &ExportArgs,
    store: &dyn cairn_core::Store,
    session: &cairn_core::Session,
    format: Format,
) -> anyhow::Result<()> {
    match &args.output {
        None => {
            let out = write_session_as(store, &app.settings, session, format, output::stdout())
                .await
                .map_err(unwrapped)?;
            drop(out);
        }
        Some(path) => export_to_file_as(store, &app.settings, session, format, path)
            .await
            .map_err(unwrapped)?,
    }
    Ok(())
}

/// The store's and the output's own errors, so exit codes and a closed pipe are
/// recognised as before.
fn unwrapped(error: ExportError) -> anyhow::Error {
    match error {
        ExportError::Store(e) => e.into(),
        ExportError::Write(e) => e.into(),
        other => other.into(),
    }
}
