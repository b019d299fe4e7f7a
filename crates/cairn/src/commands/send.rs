//! `cairn send NAME TEXT`: one message to a session through the running daemon
//! (`POST /api/sessions/NAME/messages`), the answer printed when the turn ends.

use std::io::{Read, Write};

use cairn_server::daemon_files;
use cairn_server::{SendAnswer, SendRequest};

use crate::app::App;
use crate::args::serve::SendArgs;
use crate::exit::UsageError;
use crate::output;

pub(super) async fn run(app: &App, args: SendArgs) -> anyhow::Result<()> {
    let text = if args.text == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        args.text.clone()
    };
    if text.trim().is_empty() {
        return Err(UsageError("the message is empty".into()).into());
    }
    let home = &app.paths.data_dir;
    let Some(addr) = daemon_files::read_addr(home) else {
        return Err(UsageError(format!(
            "no cairn serve is running for {} (no {}): start one with `cairn serve --detach`",
            home.display(),
            daemon_files::addr_file(home).display()
        ))
        .into());
    };
    let url = format!("http://{addr}/api/sessions/{}/messages", args.name);
    let client = reqwest::Client::builder().no_proxy().build()?;
    let mut request = client.post(&url).json(&SendRequest { text });
    if let Some(token) = &args.token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| {
        UsageError(format!(
            "cannot reach cairn serve at http://{addr} ({e}): is it still running? \
             `cairn serve --detach` starts it"
        ))
    })?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(body);
        anyhow::bail!("cairn serve answered {status}: {message}");
    }
    let answer: SendAnswer = serde_json::from_str(&body)?;
    if args.json {
        return output::print_json(&answer);
    }
    let mut out = output::stdout();
    write!(out, "{}", answer.answer)?;
    if !answer.answer.ends_with('\n') {
        writeln!(out)?;
    }
    if answer.stop_reason != "end_turn" {
        writeln!(out, "(stopped: {})", answer.stop_reason)?;
    }
    out.flush()?;
    Ok(())
}
