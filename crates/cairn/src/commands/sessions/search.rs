//! `cairn sessions search QUERY`: full-text search over messages and checkpoints
//! (`cairn_app::sessions::search`), newest first by the time of each hit.

use std::io::Write;

use cairn_app::sessions::{Hit, Kind};
use cairn_core::{Project, Timestamp};
use serde::Serialize;

use crate::app::App;
use crate::args::sessions::SearchArgs;
use crate::output::{self, Style, Table};

/// One hit of `--json`: a chat message (`seq`, `role`) or a checkpoint round.
#[derive(Serialize)]
struct JsonHit<'a> {
    kind: Kind,
    /// The chat session's name or the checkpoint's session id.
    session: &'a str,
    project: &'a Project,
    seq: Option<u64>,
    ts: Timestamp,
    role: Option<&'a str>,
    snippet: &'a str,
}

impl<'a> From<&'a Hit> for JsonHit<'a> {
    fn from(h: &'a Hit) -> Self {
        JsonHit {
            kind: h.kind,
            session: &h.id,
            project: &h.project,
            seq: h.seq,
            ts: h.at,
            role: h.role.as_deref(),
            snippet: &h.snippet,
        }
    }
}

pub(super) async fn run(app: &App, args: SearchArgs) -> anyhow::Result<()> {
    if args.query.trim().is_empty() {
        return Err(crate::exit::UsageError("the search query is empty".into()).into());
    }
    let project = (!args.all).then(|| app.project.clone());
    let hits = match app.existing_store().await? {
        Some(store) => {
            cairn_app::sessions::search(store.as_ref(), &args.query, project.as_ref(), args.limit)
                .await?
                .hits
        }
        None => Vec::new(),
    };
    if args.json {
        let rows: Vec<JsonHit> = hits.iter().map(JsonHit::from).collect();
        return output::print_json(&rows);
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
    let now = Timestamp::now();
    let mut table = Table::new(&["session", ">seq", "role", "time", "snippet"]);
    for hit in &hits {
        let (seq, role) = match hit.kind {
            Kind::Chat => (
                hit.seq.map_or("-".to_owned(), |s| s.to_string()),
                hit.role.clone().unwrap_or_else(|| "-".into()),
            ),
            Kind::Checkpoint => ("-".to_owned(), "checkpoint".to_owned()),
        };
        table.row(vec![
            output::cell(&hit.id, 64),
            seq,
            role,
            output::ago(now, hit.at),
            style.highlight(&output::cell(&hit.snippet, 160)),
        ]);
    }
    table.write(&mut out, style)?;
    out.flush()?;
    Ok(())
}
