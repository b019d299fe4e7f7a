//! `cairn doctor`: is everything in order? The store, the config files, the providers,
//! the MCP clients on this machine that run cairn, and the disk — one line per check,
//! `--json` for scripts. Exit 0 when nothing failed (warnings included), 1 otherwise.

mod checks;
mod mcp_clients;

use std::io::Write;

use serde::Serialize;

use crate::app::App;
use crate::args::DoctorArgs;
use crate::output::{self, Style};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Ok,
    /// Works, but worth a look (no provider configured, little disk left).
    Warn,
    /// Something cairn needs is broken.
    Fail,
}

#[derive(Debug, Serialize)]
pub(crate) struct Check {
    /// `store`, `attachments`, `size`, `config`, `provider`, `mcp-client`, `disk`.
    pub area: &'static str,
    pub status: Status,
    pub detail: String,
    /// The store's size by part, on the `size` check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space: Option<cairn_core::store::StoreSpace>,
}

impl Check {
    pub(crate) fn new(area: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Check {
            area,
            status,
            detail: detail.into(),
            space: None,
        }
    }
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    checks: &'a [Check],
}

pub(crate) async fn run(app: &App, args: DoctorArgs) -> anyhow::Result<()> {
    let mut found = Vec::new();
    found.extend(checks::store(app).await);
    found.extend(checks::config(app));
    found.extend(checks::providers(app, !args.offline).await);
    found.extend(mcp_clients::check(app));
    found.extend(checks::disk(app));
    let ok = found.iter().all(|c| c.status != Status::Fail);
    if args.json {
        output::print_json(&Report { ok, checks: &found })?;
    } else {
        let style = Style::detect();
        let mut out = output::stdout();
        for check in &found {
            let mark = match check.status {
                Status::Ok => style.paint("ok  ", "32"),
                Status::Warn => style.paint("warn", "33"),
                Status::Fail => style.paint("FAIL", "1;31"),
            };
            writeln!(
                out,
                "{mark}  {:<11} {}",
                check.area,
                output::printable(&check.detail)
            )?;
        }
        let (warns, fails) = found.iter().fold((0, 0), |(w, f), c| match c.status {
            Status::Warn => (w + 1, f),
            Status::Fail => (w, f + 1),
            Status::Ok => (w, f),
        });
        writeln!(
            out,
            "\n{}",
            match (fails, warns) {
                (0, 0) => "All is well.".to_owned(),
                (0, w) => format!("All is well, with {w} warning(s)."),
                (f, _) => format!("{f} check(s) failed."),
            }
        )?;
        out.flush()?;
    }
    let failed = found.iter().filter(|c| c.status == Status::Fail).count();
    if failed == 0 {
        Ok(())
    } else {
        Err(anyhow::anyhow!("{failed} doctor check(s) failed"))
    }
}
