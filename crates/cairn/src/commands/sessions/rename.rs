//! `cairn sessions rename OLD NEW`.

use std::io::Write;

use serde_json::json;

use crate::app::App;
use crate::args::sessions::RenameArgs;
use crate::output;

pub(super) async fn run(app: &App, args: RenameArgs) -> anyhow::Result<()> {
    let (old, new) = (args.old, args.new);
    let store = app.store().await?;
    let session = store.rename_session(&old, &new).await?;
    if args.json {
        return output::print_json(&json!({ "renamed": { "from": old, "to": session.name } }));
    }
    let mut out = output::stdout();
    writeln!(out, "renamed {old} → {}", session.name)?;
    out.flush()?;
    Ok(())
}
