//! `cairn sessions import FILE [--name NEW]`: arguments and output; the use case is
//! `cairn_app::import_session`. Every line is checked before anything is written, so
//! a bad file names its first bad line and imports nothing.
//!
//! The file's `project` is data written by whoever made the file, so it never becomes
//! a tool root: the session is imported into the current project (the working
//! directory's, or the global `--project DIR`), and the file's project is only shown.

use std::io::Write;

use cairn_app::{ImportRequest, Importer, JsonlV1};
use serde_json::json;

use crate::app::App;
use crate::args::sessions::ImportArgs;
use crate::{output, progress};

pub(super) async fn run(app: &App, args: ImportArgs) -> anyhow::Result<()> {
    let name = args.name;
    let importer: Box<dyn Importer> = if args.file.as_os_str() == "-" {
        Box::new(JsonlV1::from_stdin()?)
    } else {
        Box::new(JsonlV1::open(&args.file)?)
    };
    let store = app.store().await?;
    let request = ImportRequest {
        name,
        project: app.project.clone(),
        knowledge_retention: app.settings.compression.knowledge_retention,
    };
    let spinner = progress::spinner(
        format!(
            "importing {}",
            output::printable(&args.file.to_string_lossy())
        ),
        args.json,
    );
    let imported = cairn_app::import_session(store.as_ref(), importer, request).await;
    spinner.finish_and_clear();
    let imported = imported?;
    let session = imported.session;
    let event_count = imported.events;
    if session.project.is_broad_root() {
        eprintln!(
            "warning: imported into project {}, which is / or your home directory: tools of \
             a resumed session work there. Import from a project directory, or pass \
             --project DIR",
            output::printable(session.project.as_str())
        );
    }
    if args.json {
        return output::print_json(&json!({
            "imported": session.name,
            "project": session.project,
            "file_project": imported.source_project,
            "events": event_count,
            "attachments": imported.attachments,
        }));
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "imported {} ({} events, {} attachments) into project {}",
        session.name,
        output::grouped(event_count),
        imported.attachments,
        output::printable(session.project.as_str())
    )?;
    if imported.source_project != session.project {
        writeln!(
            out,
            "(the file was exported from project {})",
            output::printable(imported.source_project.as_str())
        )?;
    }
    out.flush()?;
    Ok(())
}
