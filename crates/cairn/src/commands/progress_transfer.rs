//! `cairn progress export [SESSION_ID…] [-o FILE]` and `cairn progress import
//! FILE`: the use case is `cairn_app::progress_transfer`.

use std::io::{BufReader, Write};

use cairn_app::progress_transfer;
use cairn_core::Error;
use cairn_core::list_param;
use serde_json::json;

use crate::app::App;
use crate::args::progress::{ExportArgs, ImportArgs};
use crate::output;

pub(super) async fn export(app: &App, args: ExportArgs) -> anyhow::Result<()> {
    for id in &args.session_ids {
        list_param::check_id("SESSION_ID", id)?;
    }
    let store = app.store().await?;
    match &args.output {
        None => {
            let (out, _) =
                progress_transfer::export(store.as_ref(), &args.session_ids, output::stdout())
                    .await?;
            drop(out);
        }
        Some(path) => {
            let done =
                progress_transfer::export_to_file(store.as_ref(), &args.session_ids, path).await?;
            eprintln!(
                "wrote {} checkpoint(s) and {} pool signal(s) to {}",
                done.checkpoints,
                done.signals,
                path.display()
            );
        }
    }
    Ok(())
}

pub(super) async fn import(app: &App, args: ImportArgs) -> anyhow::Result<()> {
    let shown = args.file.display().to_string();
    let (checkpoints, signals) = if shown == "-" {
        progress_transfer::read(std::io::stdin().lock(), "stdin")?
    } else {
        let file = std::fs::File::open(&args.file).map_err(|e| Error::io(shown.clone(), e))?;
        progress_transfer::read(BufReader::new(file), &shown)?
    };
    let store = app.store().await?;
    let done = progress_transfer::import(store.as_ref(), checkpoints, signals).await?;
    if args.json {
        return output::print_json(&json!(done));
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "imported {} checkpoint(s) and {} pool signal(s); {} checkpoint(s) and {} signal(s) \
         were already here",
        done.checkpoints_added, done.signals_added, done.checkpoints_present, done.signals_present
    )?;
    out.flush()?;
    Ok(())
}
