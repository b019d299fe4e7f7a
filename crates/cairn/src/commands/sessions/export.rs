//! `cairn sessions export NAME [-o FILE]`: arguments and output; the use case
//! (session JSONL v1, streamed page by page, media bytes put back) is
//! `cairn_app::export`.

use cairn_app::export::{ExportError, export_to_file, write_session};

use super::find;
use crate::app::App;
use crate::args::sessions::ExportArgs;
use crate::output;

pub(super) async fn run(app: &App, args: ExportArgs) -> anyhow::Result<()> {
    let name = args.name.clone();
    let store = app.store().await?;
    let session = find(store.as_ref(), &name).await?;
    match &args.output {
        None => {
            let out = write_session(store.as_ref(), &app.settings, &session, output::stdout())
                .await
                .map_err(unwrapped)?;
            drop(out);
        }
        Some(path) => export_to_file(store.as_ref(), &app.settings, &session, path)
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
