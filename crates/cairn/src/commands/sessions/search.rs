//! `cairn sessions search QUERY`: full-text search over message text, newest first.

use std::io::Write;

use cairn_core::SearchScope;

use crate::app::App;
use crate::args::sessions::SearchArgs;
use crate::output::{self, Style, Table};

pub(super) async fn run(app: &App, args: SearchArgs) -> anyhow::Result<()> {
    if args.query.trim().is_empty() {
        return Err(crate::exit::UsageError("the search query is empty".into()).into());
    }
    let scope = SearchScope {
        project: (!args.all).then(|| app.project.clone()),
        limit: args.limit,
    };
    let store = app.store().await?;
    let hits = store.search(&args.query, &scope).await?;
    if args.json {
        return output::print_json(&hits);
    }
    let mut out = output::stdout();
    if hits.is_empty() {
        let place = if args.all {
            "any project".to_owned()
        } else {
            format!(
                "{} (--all searches every project)",
                output::home_relative(app.project.as_str())
            )
        };
        writeln!(out, "No matches for {:?} in {place}.", args.query)?;
        out.flush()?;
        return Ok(());
    }
    let style = Style::detect();
    let now = cairn_core::Timestamp::now();
    let mut table = Table::new(&["session", ">seq", "role", "time", "snippet"]);
    for hit in &hits {
        table.row(vec![
            hit.session.to_string(),
            hit.seq.to_string(),
            hit.role.map_or("-", |r| r.as_str()).to_owned(),
            output::ago(now, hit.ts),
            style.highlight(&output::cell(&hit.snippet, 160)),
        ]);
    }
    table.write(&mut out, style)?;
    out.flush()?;
    Ok(())
}
